// The static bootstrap arena: serves every allocation made while the process
// decides (dlsym, dlopen, an allocator's constructor, other threads that call
// malloc meanwhile), because no backend exists yet.
//
// Invariants:
// - It lives in .bss: only the pages actually handed out become resident.
// - Bump allocation, never reused: free of an arena block is a no-op, so a
//   block stays valid for as long as anybody holds it.
// - Once sealed (end of the decision) it never hands out another byte, so
//   "was anything ever allocated here" is final after seal().
// - contains() stays true forever for every block it handed out: free,
//   realloc and malloc_usable_size recognise them for the life of the process.
#ifndef MEMPROXY_BOOTSTRAP_ARENA_HPP
#define MEMPROXY_BOOTSTRAP_ARENA_HPP

#include <stddef.h>
#include <stdint.h>

namespace memproxy::arena {

inline constexpr size_t kCapacity = 256 * 1024;
extern unsigned char g_storage[kCapacity];

// A block of `size` bytes aligned to `alignment` (a power of two), or nullptr
// when the arena is sealed or full.
void* allocate(size_t size, size_t alignment);

inline bool contains(const void* p) {
  return reinterpret_cast<uintptr_t>(p) - reinterpret_cast<uintptr_t>(g_storage) < kCapacity;
}

// The size requested for a block that contains() accepts.
size_t block_size(const void* p);

// Stops allocation for good; returns whether any block was ever handed out.
bool seal();

}  // namespace memproxy::arena

#endif
