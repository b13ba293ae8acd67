// What g_dispatch points at besides an allocator's raw functions: the few
// checks correctness needs and nothing else.
// - Arena blocks (bootstrap_arena.hpp) are filtered out by the entry points
//   (entry_filter.hpp) and never reach these routes, except the ones named
//   for them here.
// - A custom backend is wrapped to glibc's C semantics where allocators
//   differ (alignment rules, pvalloc rounding, realloc(p, 0), overflow), so a
//   program sees the same results whichever backend it was routed to.
// - After an RTLD_DEEPBIND dlopen, pointers made by libc's malloc may reach
//   us; g_routes.foreign tells them apart (deepbind.cpp).
#ifndef MEMPROXY_ROUTES_HPP
#define MEMPROXY_ROUTES_HPP

#include <stddef.h>

#include "dispatch.hpp"

namespace memproxy {

struct Routes {
  bool custom;                  // g_chosen is not libc
  bool (*foreign)(const void*); // non-null once a deepbind dlopen was seen
  size_t page_size;
  bool c17_aligned_alloc;       // libc's aligned_alloc rejects non-powers of two
};
extern Routes g_routes MP_HOT_STATE;

namespace routes {

// For custom allocators that return NULL without setting errno (probed once
// at the decision; conforming ones are called directly).
void* malloc_enomem(size_t size);
void* calloc_enomem(size_t n, size_t size);

// An arena block moved to the backend (arena blocks are never freed).
void* realloc_arena_block(void* p, size_t size);

void free_deepbind(void* p);
void* realloc(void* p, size_t size);
size_t malloc_usable_size(void* p);

void* memalign(size_t alignment, size_t size);
int posix_memalign(void** out, size_t alignment, size_t size);
void* aligned_alloc(size_t alignment, size_t size);
void* valloc(size_t size);
void* pvalloc(size_t size);
// Overflow check, then realloc through the entry filter (p may be an arena block).
void* reallocarray(void* p, size_t n, size_t size);

}  // namespace routes
}  // namespace memproxy

#endif
