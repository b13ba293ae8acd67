#include "counting.hpp"

#include "glibc_semantics.hpp"
#include "heap_account.hpp"

namespace memproxy::counting {

Dispatch g_targets MP_STATE;

namespace {

using heap::Counter;

// A block's usable bytes, or nothing for a block that is not the backend's
// (a deepbound library's libc block, deepbind.hpp): it was never counted.
inline bool usable_bytes(void* p, size_t* bytes) {
  bool (*foreign)(const void*) = __atomic_load_n(&g_semantics.foreign, __ATOMIC_RELAXED);
  if (__builtin_expect(foreign != nullptr, 0) && foreign(p)) return false;
  *bytes = g_chosen.malloc_usable_size(p);
  return true;
}

inline void allocated(Counter c, void* p) {
  size_t bytes = 0;
  if (p != nullptr && usable_bytes(p, &bytes)) account::count(c, bytes, 0);
}

inline void freeing(Counter c, void* p) {
  size_t bytes = 0;
  if (p != nullptr && usable_bytes(p, &bytes)) account::count(c, 0, bytes);
}

inline bool zero_size(size_t n) { return n == 0; }
inline bool zero_size(size_t n, size_t size) { return n == 0 || size == 0; }

// After realloc-like calls: glibc's realloc(p, 0) frees p and returns NULL;
// any other NULL leaves p as it was.
template <typename... Sizes>
inline void resized(Counter c, bool had, size_t old, void* q, void* p, Sizes... sizes) {
  size_t now = 0;
  if (q != nullptr) {
    if (usable_bytes(q, &now)) account::count(c, now, had ? old : 0);
  } else if (p != nullptr && had && zero_size(sizes...)) {
    account::count(c, 0, old);
  }
}

#define MP_EXPAND(...) __VA_ARGS__
#define MP_COUNT_alloc(counter, slot, ret, params, args) \
  ret count_##slot params {                            \
    void* r = g_targets.slot args;                     \
    allocated(counter, r);                             \
    return r;                                          \
  }
#define MP_COUNT_alloc_out(counter, slot, ret, params, args) \
  ret count_##slot params {                                \
    int r = g_targets.slot args;                           \
    if (r == 0) allocated(counter, *out);                  \
    return r;                                              \
  }
#define MP_COUNT_release(counter, slot, ret, params, args) \
  ret count_##slot params {                              \
    freeing(counter, p);                                 \
    g_targets.slot args;                                 \
  }
#define MP_COUNT_resize(counter, slot, ret, params, args)          \
  ret count_##slot params {                                      \
    size_t old = 0;                                              \
    bool had = p != nullptr && usable_bytes(p, &old);            \
    void* q = g_targets.slot args;                               \
    resized(counter, had, old, q, MP_EXPAND args);               \
    return q;                                                    \
  }
#define MP_COUNT_query(counter, slot, ret, params, args) \
  ret count_##slot params { return g_targets.slot args; }
#define MP_COUNT_new(counter, slot, ret, params, args) MP_COUNT_alloc(counter, slot, ret, params, args)
#define MP_COUNT_new_nt(counter, slot, ret, params, args) MP_COUNT_alloc(counter, slot, ret, params, args)
#define MP_COUNT_delete(counter, slot, ret, params, args) MP_COUNT_release(counter, slot, ret, params, args)
#define MP_CXX_COUNTER_new heap::kNew
#define MP_CXX_COUNTER_new_nt heap::kNew
#define MP_CXX_COUNTER_delete heap::kDelete

#define MP_C(kind, counter, name, ret, params, args) MP_COUNT_##kind(heap::counter, name, ret, params, args)
#define MP_LIBC(kind, counter, name, of, ret, params, args) MP_COUNT_##kind(heap::counter, name, ret, params, args)
#define MP_CXX(kind, slot, mangled, declarator, ret, params, args) \
  MP_COUNT_##kind(MP_CXX_COUNTER_##kind, slot, ret, params, args)
#include "family.def"

}  // namespace

Dispatch over_targets(bool count_operators) {
  Dispatch d = g_targets;
#define MP_C(kind, counter, name, ret, params, args) d.name = count_##name;
#define MP_LIBC(kind, counter, name, of, ret, params, args) d.name = count_##name;
#include "family.def"
  if (count_operators) {
#define MP_CXX(kind, slot, mangled, declarator, ret, params, args) d.slot = count_##slot;
#include "family.def"
  }
  return d;
}

}  // namespace memproxy::counting
