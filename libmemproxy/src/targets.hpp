// What every slot leads to, once the backend is chosen: one Dispatch value
// per kind of process. decision.cpp installs it; nothing here writes
// g_dispatch.
//
// - system: libc's raw functions; the C++ operators over them.
// - custom: the custom allocator, wrapped to glibc's semantics where
//   allocators differ (glibc_semantics.hpp); the C++ operators over it
//   (cxx_semantics.hpp).
// - a program that replaces malloc or free: every C slot leads where the
//   program's own call would lead without libmemproxy (libc), except
//   reallocarray, which is derived as the standard says (the global realloc).
// - a program that replaces malloc, free or a primary C++ operator: every
//   operator slot leads to the C++ runtime's own definition, which calls the
//   program's primaries as the standard requires (sized delete calls the
//   global unsized delete, and so on).
#ifndef MEMPROXY_TARGETS_HPP
#define MEMPROXY_TARGETS_HPP

#include "backends.hpp"
#include "dispatch.hpp"
#include "errno_conformance.hpp"

namespace memproxy::targets {

// g_chosen is the backend's raw functions: libc's unless `custom`. A program
// that replaces malloc or free is never custom-routed.
struct Mode {
  bool custom;                      // routed to a custom allocator
  ErrnoConformance conformance;     // custom: whether its malloc/calloc set errno
  backends::Interposition interposed;
};

Dispatch for_mode(const Mode& mode);

}  // namespace memproxy::targets

#endif
