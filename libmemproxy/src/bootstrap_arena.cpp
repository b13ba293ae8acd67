#include "bootstrap_arena.hpp"

namespace memproxy::arena {
namespace {

// Not page-aligned on purpose: it follows the state page (see the header).
alignas(64) unsigned char g_storage[kCapacity];

// Bytes in use, with kSealed set once the decision is published. Sealing and
// bumping are CAS on the same word, so no allocation can slip in after seal().
constexpr uint32_t kSealed = 0x80000000u;
uint32_t g_top MP_STATE = 0;

// Every block is preceded by its size, so realloc and malloc_usable_size know it.
constexpr size_t kHeader = 2 * sizeof(size_t) > 16 ? 2 * sizeof(size_t) : 16;

}  // namespace

Bounds g_bounds MP_HOT_STATE = {reinterpret_cast<uintptr_t>(g_storage),
                                reinterpret_cast<uintptr_t>(g_storage) + kCapacity};

void* allocate(size_t size, size_t alignment) {
  if (alignment < kHeader) alignment = kHeader;
  if (size > kCapacity || alignment > kCapacity / 4) return nullptr;
  uint32_t top = __atomic_load_n(&g_top, __ATOMIC_RELAXED);
  for (;;) {
    if (top & kSealed) return nullptr;
    // Alignment is of the address, not of the offset.
    uintptr_t base = reinterpret_cast<uintptr_t>(g_storage);
    size_t data = ((base + top + kHeader + alignment - 1) & ~(alignment - 1)) - base;
    size_t end = (data + size + kHeader - 1) & ~(kHeader - 1);
    if (end > kCapacity) return nullptr;
    if (__atomic_compare_exchange_n(&g_top, &top, static_cast<uint32_t>(end), false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED)) {
      reinterpret_cast<size_t*>(g_storage + data)[-1] = size;
      return g_storage + data;
    }
  }
}

size_t block_size(const void* p) { return static_cast<const size_t*>(p)[-1]; }

bool seal() {
  uint32_t used = __atomic_fetch_or(&g_top, kSealed, __ATOMIC_ACQ_REL) & ~kSealed;
  if (used == 0) {
    __atomic_store_n(&g_bounds.lo, UINTPTR_MAX, __ATOMIC_RELAXED);
    __atomic_store_n(&g_bounds.hi, 0, __ATOMIC_RELAXED);
  } else {
    __atomic_store_n(&g_bounds.hi, reinterpret_cast<uintptr_t>(g_storage) + used, __ATOMIC_RELAXED);
  }
  return used != 0;
}

}  // namespace memproxy::arena
