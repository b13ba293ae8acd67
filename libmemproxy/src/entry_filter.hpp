// What the entry points that take a pointer do before their one indirect
// jump: bootstrap-arena blocks never reach g_dispatch.
//
// Invariant: no g_dispatch slot, boot_* or final, is ever handed an arena
// block; every caller of g_dispatch.free/realloc/malloc_usable_size/
// reallocarray with a pointer goes through these. The check is inline in the
// exported function, against rip-relative bounds (no GOT, no second jump).
#ifndef MEMPROXY_ENTRY_FILTER_HPP
#define MEMPROXY_ENTRY_FILTER_HPP

#include <stddef.h>

#include "bootstrap_arena.hpp"
#include "dispatch.hpp"
#include "routes.hpp"

namespace memproxy {

inline void free_filtered(void* p) {
  if (arena::handed_out(p)) return;
  g_dispatch.free(p);
}

inline void* realloc_filtered(void* p, size_t size) {
  if (arena::handed_out(p)) return routes::realloc_arena_block(p, size);
  return g_dispatch.realloc(p, size);
}

inline void* reallocarray_filtered(void* p, size_t n, size_t size) {
  if (arena::handed_out(p)) return routes::reallocarray(p, n, size);
  return g_dispatch.reallocarray(p, n, size);
}

inline size_t malloc_usable_size_filtered(void* p) {
  if (arena::handed_out(p)) return arena::block_size(p);
  return g_dispatch.malloc_usable_size(p);
}

}  // namespace memproxy

#endif
