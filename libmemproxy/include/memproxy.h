/* Public introspection of libmemproxy, the allocator-routing preload library. */
#ifndef MEMPROXY_H
#define MEMPROXY_H

#ifdef __cplusplus
extern "C" {
#endif

/* The backend this process was routed to: "system" or "custom:<library>".
   Decides first if the process has not decided yet. The string is static.
   Programs that may run without the preload look it up with
   dlsym(RTLD_DEFAULT, "memproxy_backend") instead of linking to it. */
const char *memproxy_backend(void);

#ifdef __cplusplus
}
#endif

#endif
