#include "glibc_semantics.hpp"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "dispatch.hpp"

namespace memproxy {

SemanticsState g_semantics MP_HOT_STATE = {false, nullptr, 4096, false};

namespace glibc_semantics {
namespace {

bool is_foreign(const void* p) {
  bool (*foreign)(const void*) = __atomic_load_n(&g_semantics.foreign, __ATOMIC_ACQUIRE);
  return foreign != nullptr && p != nullptr && foreign(p);
}

bool is_power_of_two(size_t v) { return v != 0 && (v & (v - 1)) == 0; }

bool aligned(const void* p, size_t alignment) { return (reinterpret_cast<uintptr_t>(p) & (alignment - 1)) == 0; }

}  // namespace

void* malloc_enomem(size_t size) {
  void* p = g_chosen.malloc(size);
  if (p == nullptr) errno = ENOMEM;
  return p;
}

void* calloc_enomem(size_t n, size_t size) {
  void* p = g_chosen.calloc(n, size);
  if (p == nullptr) errno = ENOMEM;
  return p;
}

void free_deepbind(void* p) {
  if (is_foreign(p)) {
    g_libc.free(p);
    return;
  }
  g_chosen.free(p);
}

void* realloc(void* p, size_t size) {
  if (is_foreign(p)) return g_libc.realloc(p, size);
  // glibc frees and returns NULL; jemalloc and mimalloc would return a block.
  if (g_semantics.custom && p != nullptr && size == 0) {
    g_chosen.free(p);
    return nullptr;
  }
  void* q = g_chosen.realloc(p, size);
  if (q == nullptr && size != 0) errno = ENOMEM;
  return q;
}

size_t malloc_usable_size(void* p) {
  if (p == nullptr) return 0;
  if (is_foreign(p)) return g_libc.malloc_usable_size(p);
  return g_chosen.malloc_usable_size(p);
}

void* checked_memalign(size_t alignment, size_t size) {
  void* p = g_chosen.memalign(alignment, size);
  if (p == nullptr || aligned(p, alignment)) return p;
  g_chosen.free(p);
  if (size != SIZE_MAX) {
    p = g_chosen.memalign(alignment, size + 1);
    if (p == nullptr || aligned(p, alignment)) return p;
    g_chosen.free(p);
  }
  errno = ENOMEM;
  return nullptr;
}

// The functions below serve custom backends only (the system backend uses
// libc's own): glibc's argument rules, then the backend's checked memalign.

void* memalign(size_t alignment, size_t size) {
  if (alignment > SIZE_MAX / 2 + 1) {
    errno = EINVAL;
    return nullptr;
  }
  size_t a = sizeof(void*);
  while (a < alignment) a <<= 1;
  void* p = checked_memalign(a, size);
  if (p == nullptr) errno = ENOMEM;
  return p;
}

int posix_memalign(void** out, size_t alignment, size_t size) {
  if (alignment % sizeof(void*) != 0 || !is_power_of_two(alignment / sizeof(void*))) return EINVAL;
  void* p = checked_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

void* aligned_alloc(size_t alignment, size_t size) {
  if (g_semantics.c17_aligned_alloc && !is_power_of_two(alignment)) {
    errno = EINVAL;
    return nullptr;
  }
  return memalign(alignment, size);
}

void* valloc(size_t size) { return memalign(g_semantics.page_size, size); }

void* pvalloc(size_t size) {
  size_t page = g_semantics.page_size;
  size_t rounded;
  if (__builtin_add_overflow(size, page - 1, &rounded)) {
    errno = ENOMEM;
    return nullptr;
  }
  return memalign(page, rounded & ~(page - 1));
}

void* reallocarray(void* p, size_t n, size_t size) {
  size_t bytes;
  if (__builtin_mul_overflow(n, size, &bytes)) {
    errno = ENOMEM;
    return nullptr;
  }
  return ::realloc(p, bytes);
}

}  // namespace glibc_semantics
}  // namespace memproxy
