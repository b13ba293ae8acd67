// The boot slots: g_dispatch's initial value. Each decides first
// (decision::ensure); once decided it calls the final slot. While the
// process is deciding (this thread, further up its stack, or another
// thread), what allocates is served by the bootstrap arena; when the arena
// cannot serve, another thread waits for the decision and the decider gets
// ENOMEM (it never waits on itself).
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "bootstrap_arena.hpp"
#include "cxx_semantics.hpp"
#include "decision.hpp"
#include "dispatch.hpp"
#include "platform.hpp"

namespace memproxy {
namespace {

size_t arena_alignment(size_t alignment) {
  size_t a = 16;
  while (a < alignment && a != 0) a <<= 1;
  return a;
}

// An arena block while deciding, else nullptr with the caller told whether
// to retry through the final slot (the decision completed meanwhile).
void* early(size_t size, size_t alignment, bool* retry) {
  *retry = false;
  void* p = arena::allocate(size, arena_alignment(alignment));
  if (p != nullptr) return p;
  if (decision::wait()) {
    *retry = true;
  } else {
    errno = ENOMEM;
  }
  return nullptr;
}

void* boot_malloc(size_t n) {
  bool retry = false;
  if (!decision::ensure()) {
    void* p = early(n, 16, &retry);
    if (!retry) return p;
  }
  return g_dispatch.malloc(n);
}

void* boot_calloc(size_t n, size_t size) {
  size_t bytes;
  if (__builtin_mul_overflow(n, size, &bytes)) {
    errno = ENOMEM;
    return nullptr;
  }
  bool retry = false;
  if (!decision::ensure()) {
    void* p = early(bytes, 16, &retry);  // arena memory is .bss: zero and never reused
    if (!retry) return p;
  }
  return g_dispatch.calloc(n, size);
}

void* boot_memalign(size_t a, size_t n) {
  bool retry = false;
  if (!decision::ensure()) {
    void* p = early(n, a, &retry);
    if (!retry) return p;
  }
  return g_dispatch.memalign(a, n);
}

void* boot_aligned_alloc(size_t a, size_t n) {
  bool retry = false;
  if (!decision::ensure()) {
    void* p = early(n, a, &retry);
    if (!retry) return p;
  }
  return g_dispatch.aligned_alloc(a, n);
}

int boot_posix_memalign(void** out, size_t a, size_t n) {
  bool retry = false;
  if (!decision::ensure()) {
    void* p = early(n, a, &retry);
    if (!retry) {
      if (p == nullptr) return ENOMEM;
      *out = p;
      return 0;
    }
  }
  return g_dispatch.posix_memalign(out, a, n);
}

void* boot_valloc(size_t n) {
  bool retry = false;
  if (!decision::ensure()) {
    void* p = early(n, platform::page_size(), &retry);
    if (!retry) return p;
  }
  return g_dispatch.valloc(n);
}

void* boot_pvalloc(size_t n) {
  bool retry = false;
  if (!decision::ensure()) {
    size_t page = platform::page_size();
    if (n > SIZE_MAX - (page - 1)) {
      errno = ENOMEM;
      return nullptr;
    }
    void* p = early((n + page - 1) & ~(page - 1), page, &retry);
    if (!retry) return p;
  }
  return g_dispatch.pvalloc(n);
}

// Arena blocks never reach a slot (interpose.cpp filters them), so a
// pointer here was made after the decision: decide (a no-op) and free.
void boot_free(void* p) {
  if (decision::ensure()) g_dispatch.free(p);
}

void* boot_realloc(void* p, size_t n) {
  if (decision::ensure()) return g_dispatch.realloc(p, n);
  if (p != nullptr) return nullptr;  // arena blocks are moved by interpose.cpp
  return boot_malloc(n);
}

void* boot_reallocarray(void* p, size_t n, size_t size) {
  if (decision::ensure()) return g_dispatch.reallocarray(p, n, size);
  size_t bytes;
  if (__builtin_mul_overflow(n, size, &bytes)) {
    errno = ENOMEM;
    return nullptr;
  }
  return boot_realloc(p, bytes);
}

size_t boot_malloc_usable_size(void* p) {
  if (decision::ensure()) return g_dispatch.malloc_usable_size(p);
  return 0;  // arena blocks are answered by interpose.cpp
}

// operator new while deciding: arena blocks, like malloc. The deciding
// thread's throwing forms throw when the arena is exhausted: no new_handler
// can make the arena larger.
void* early_new(size_t n, bool* retry) { return early(n, 16, retry); }
void* early_new(size_t n, std::align_val_t a, bool* retry) { return early(n, static_cast<size_t>(a), retry); }
void* early_new(size_t n, const std::nothrow_t&, bool* retry) { return early(n, 16, retry); }
void* early_new(size_t n, std::align_val_t a, const std::nothrow_t&, bool* retry) {
  return early(n, static_cast<size_t>(a), retry);
}

#define MP_BOOT_any_new(slot, ret, params, args, on_failure)     \
  ret boot_##slot params {                                       \
    bool retry = false;                                          \
    if (!decision::ensure()) {                                   \
      void* p = early_new(MP_EXPAND args, &retry);               \
      if (!retry) {                                              \
        if (p == nullptr) on_failure;                            \
        return p;                                                \
      }                                                          \
    }                                                            \
    return g_dispatch.slot args;                                 \
  }
#define MP_BOOT_new(slot, ret, params, args) \
  MP_BOOT_any_new(slot, ret, params, args, cxx_semantics::throw_bad_alloc())
#define MP_BOOT_new_nt(slot, ret, params, args) MP_BOOT_any_new(slot, ret, params, args, (void)0)
#define MP_BOOT_delete(slot, ret, params, args) \
  ret boot_##slot params {                      \
    if (decision::ensure()) g_dispatch.slot args; \
  }
#define MP_EXPAND(...) __VA_ARGS__
#define MP_CXX(kind, slot, mangled, declarator, ret, params, args) MP_BOOT_##kind(slot, ret, params, args)
#include "memproxy/allocator_family.def"

}  // namespace

Dispatch g_dispatch MP_HOT_STATE = {
#define MP_C(kind, counter, name, ret, params, args) boot_##name,
#define MP_LIBC(kind, counter, name, of, ret, params, args) boot_##of,
#define MP_CXX(kind, slot, mangled, declarator, ret, params, args) boot_##slot,
#include "memproxy/allocator_family.def"
};

}  // namespace memproxy
