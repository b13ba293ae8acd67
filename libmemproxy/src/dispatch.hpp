// The function-pointer table every entry point jumps through, and the raw
// functions of the allocators it can point to.
//
// Invariants:
// - Before the decision every g_dispatch slot points at a boot_* function
//   (decide.cpp) that decides first; the decider fills the slots and then
//   publishes the decision with a release store, so a thread sees either a
//   boot_* function (which synchronises with the decision) or a final one.
// - After the decision g_dispatch changes at most once more: when a custom
//   backend meets its first RTLD_DEEPBIND dlopen (deepbind.cpp) the free slot
//   switches to a function that also recognises libc's pointers. Slots are
//   pointer-sized, aligned and written with atomic stores: never torn.
// - No lock, no TLS: an entry point is one indirect jump.
#ifndef MEMPROXY_DISPATCH_HPP
#define MEMPROXY_DISPATCH_HPP

#include <stddef.h>

#include "state.hpp"

namespace memproxy {

struct Dispatch {
  void* (*malloc)(size_t);
  void (*free)(void*);
  void* (*calloc)(size_t, size_t);
  void* (*realloc)(void*, size_t);
  void* (*memalign)(size_t, size_t);
  int (*posix_memalign)(void**, size_t, size_t);
  void* (*aligned_alloc)(size_t, size_t);
  void* (*valloc)(size_t);
  void* (*pvalloc)(size_t);
  void* (*reallocarray)(void*, size_t, size_t);
  size_t (*malloc_usable_size)(void*);
};

extern Dispatch g_dispatch MP_HOT_STATE;

// The raw functions of one allocator, looked up in that allocator's object.
// Only libc's set has the optional ones (nullptr elsewhere).
struct Allocator {
  void* (*malloc)(size_t);
  void (*free)(void*);
  void* (*calloc)(size_t, size_t);
  void* (*realloc)(void*, size_t);
  void* (*memalign)(size_t, size_t);
  int (*posix_memalign)(void**, size_t, size_t);
  size_t (*malloc_usable_size)(void*);
  void* (*aligned_alloc)(size_t, size_t);
  void* (*valloc)(size_t);
  void* (*pvalloc)(size_t);
  void* (*reallocarray)(void*, size_t, size_t);
  int (*mallopt)(int, int);
};

// libc's allocator (always resolved by the decision) and the chosen backend
// (a copy of g_libc, or the custom allocator's functions).
extern Allocator g_libc MP_HOT_STATE;
extern Allocator g_chosen MP_HOT_STATE;

template <typename T>
inline void store_slot(T* slot, T value) {
  __atomic_store_n(slot, value, __ATOMIC_RELAXED);
}

}  // namespace memproxy

#endif
