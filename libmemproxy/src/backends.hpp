// Finding the allocators' functions.
//
// - System: libc's own functions, looked up in libc's handle. Never
//   RTLD_NEXT/RTLD_DEFAULT: in front of libc there may be the custom allocator.
// - Custom, preloaded: the first object after libmemproxy in the link-map
//   chain that is not libc and defines malloc itself. This covers `libmemproxy.so:liballoc.so`
//   and the original `libmemproxy.so:libc.so.6:liballoc.so` (where RTLD_NEXT
//   would find libc first).
// - Custom, named by the table: dlopen'ed. Allocators with initial-exec TLS
//   (jemalloc) refuse that ("cannot allocate memory in static TLS block") and
//   must be preloaded; the caller reports the dlerror text.
// Every function must be defined in the allocator's own object (checked with
// dladdr): a handle's dlsym also searches its dependencies, i.e. libc.
#ifndef MEMPROXY_BACKENDS_HPP
#define MEMPROXY_BACKENDS_HPP

#include "dispatch.hpp"

namespace memproxy::backends {

struct Found {
  void* handle;          // for optional lookups (deepbind.cpp)
  const void* base;      // the object's load base (dladdr's dli_fbase)
  const char* library;   // name as loaded; static storage
};

using DlopenFn = void* (*)(const char*, int);

// Fills g_libc; false if libc or one of its functions cannot be found.
bool resolve_libc(DlopenFn real_dlopen);

bool find_preloaded(DlopenFn real_dlopen, Allocator* out, Found* found);

// false with `error` set (static or dlerror text) when it cannot be used.
bool load_named(DlopenFn real_dlopen, const char* library, Allocator* out, Found* found, const char** error);

// Whether `symbol` is defined in the object loaded at `base`.
bool defined_in(const void* symbol, const void* base);

}  // namespace memproxy::backends

#endif
