// Symbols the library exports: everything else is hidden (-fvisibility=hidden).
#ifndef MEMPROXY_EXPORT_HPP
#define MEMPROXY_EXPORT_HPP

#define MP_EXPORT __attribute__((visibility("default")))

#endif
