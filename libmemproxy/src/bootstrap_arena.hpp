// The static bootstrap arena: serves every allocation made while the process
// decides (dlsym, dlopen, an allocator's constructor, other threads that call
// malloc meanwhile), because no backend exists yet.
//
// Invariants:
// - It lives in .bss, right after the library's mutable state (state.hpp):
//   its first bytes share that already-dirty page, and only the pages
//   actually handed out become resident.
// - Bump allocation, never reused: free of an arena block is a no-op, so a
//   block stays valid for as long as anybody holds it.
// - Once sealed (end of the decision) it never hands out another byte.
// - handed_out() is true for every block ever handed out, forever: free,
//   realloc and malloc_usable_size recognise them for the life of the process.
//   g_bounds starts as the whole arena and seal() narrows it to the bytes
//   used (to nothing when none were), so every value a reader may see covers
//   every block.
#ifndef MEMPROXY_BOOTSTRAP_ARENA_HPP
#define MEMPROXY_BOOTSTRAP_ARENA_HPP

#include <stddef.h>
#include <stdint.h>

#include "state.hpp"

namespace memproxy::arena {

inline constexpr size_t kCapacity = 256 * 1024;

struct Bounds {
  uintptr_t lo, hi;  // blocks lie in [lo, hi)
};
extern Bounds g_bounds MP_HOT_STATE;

// A block of `size` bytes aligned to `alignment` (a power of two), or nullptr
// when the arena is sealed or full.
void* allocate(size_t size, size_t alignment);

// Two compares against rip-relative words; heap pointers usually lie below
// the arena (mapped after the library), so the first compare decides. Plain
// reads, like the jumps through g_dispatch: the words are aligned and only
// written with atomic stores, so a reader sees an old or a new value.
inline bool handed_out(const void* p) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  return __builtin_expect(a >= g_bounds.lo, 0) && a < g_bounds.hi;
}

// The size requested for a block that handed_out() accepts.
size_t block_size(const void* p);

// Stops allocation for good; returns whether any block was ever handed out.
bool seal();

}  // namespace memproxy::arena

#endif
