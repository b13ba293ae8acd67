#include "routes.hpp"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "bootstrap_arena.hpp"
#include "entry_filter.hpp"

namespace memproxy {

Routes g_routes MP_HOT_STATE = {false, nullptr, 4096, false};

namespace routes {
namespace {

bool is_foreign(const void* p) {
  bool (*foreign)(const void*) = __atomic_load_n(&g_routes.foreign, __ATOMIC_ACQUIRE);
  return foreign != nullptr && p != nullptr && foreign(p);
}

bool is_power_of_two(size_t v) { return v != 0 && (v & (v - 1)) == 0; }

}  // namespace

void* realloc_arena_block(void* p, size_t size) {
  if (size == 0) return nullptr;
  void* q = g_dispatch.malloc(size);
  if (q != nullptr) {
    size_t old = arena::block_size(p);
    memcpy(q, p, old < size ? old : size);
  }
  return q;
}

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
  if (g_routes.custom && p != nullptr && size == 0) {
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

// The functions below serve custom backends only (the system backend uses
// libc's own): glibc's argument rules, then the backend's memalign.

void* memalign(size_t alignment, size_t size) {
  if (alignment > SIZE_MAX / 2 + 1) {
    errno = EINVAL;
    return nullptr;
  }
  size_t a = sizeof(void*);
  while (a < alignment) a <<= 1;
  void* p = g_chosen.memalign(a, size);
  if (p == nullptr) errno = ENOMEM;
  return p;
}

int posix_memalign(void** out, size_t alignment, size_t size) {
  if (alignment % sizeof(void*) != 0 || !is_power_of_two(alignment / sizeof(void*))) return EINVAL;
  void* p = g_chosen.memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

void* aligned_alloc(size_t alignment, size_t size) {
  if (g_routes.c17_aligned_alloc && !is_power_of_two(alignment)) {
    errno = EINVAL;
    return nullptr;
  }
  return memalign(alignment, size);
}

void* valloc(size_t size) { return memalign(g_routes.page_size, size); }

void* pvalloc(size_t size) {
  size_t page = g_routes.page_size;
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
  return realloc_filtered(p, bytes);
}

}  // namespace routes
}  // namespace memproxy
