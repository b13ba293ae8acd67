#include "counting.hpp"

#include "glibc_semantics.hpp"
#include "heap_account.hpp"

namespace memproxy::counting {

Dispatch g_targets MP_STATE;

namespace {

using heap::Counter;

// A block that is not the backend's (a deepbound library's libc block,
// deepbind.hpp) was never counted, and is not.
inline bool foreign_block(void* p) {
  bool (*foreign)(const void*) = __atomic_load_n(&g_semantics.foreign, __ATOMIC_RELAXED);
  return __builtin_expect(foreign != nullptr, 0) && foreign(p);
}

inline size_t usable(void* p) { return g_chosen.malloc_usable_size(p); }

inline bool zero_size(size_t n) { return n == 0; }
inline bool zero_size(size_t n, size_t size) { return n == 0 || size == 0; }

// Two ways to count a call, one per backend kind:
// - by block sizes: the usable size of each block handed out or taken back,
//   asked of the backend (a free is sized before it happens);
// - by the backend's own thread counters (account::Account::mallctl): the
//   thread's slot follows them and no block is ever sized. A thread's calls
//   before it attaches, and those of a thread in the overflow slot, are
//   counted by sizes.
// `by_sizes` makes the call and counts it by sizes; `plain` just makes it.
template <typename Plain, typename BySizes>
inline auto counted(Counter c, Plain plain, BySizes by_sizes) {
  if (account::g_account.mallctl == nullptr) return by_sizes();
  if (heap::Slot* s = account::backend_slot()) {
    auto r = plain();
    account::sync(s, c);
    return r;
  }
  auto r = by_sizes();
  account::attach();
  return r;
}

inline void allocated(Counter c, void* p) {
  if (p != nullptr && !foreign_block(p)) account::count(c, usable(p), 0);
}

// After realloc-like calls: glibc's realloc(p, 0) frees p and returns NULL;
// any other NULL leaves p as it was.
template <typename... Sizes>
inline void resized(Counter c, size_t old, void* q, void* p, Sizes... sizes) {
  if (q != nullptr) {
    account::count(c, usable(q), old);
  } else if (p != nullptr && zero_size(sizes...)) {
    account::count(c, 0, old);
  }
}

#define MP_EXPAND(...) __VA_ARGS__
#define MP_COUNT_alloc(counter, slot, ret, params, args)                    \
  ret count_##slot params {                                               \
    return counted(                                                       \
        counter, [&] { return g_targets.slot args; },                     \
        [&] {                                                             \
          void* r = g_targets.slot args;                                  \
          allocated(counter, r);                                          \
          return r;                                                       \
        });                                                               \
  }
#define MP_COUNT_alloc_out(counter, slot, ret, params, args)                \
  ret count_##slot params {                                               \
    return counted(                                                       \
        counter, [&] { return g_targets.slot args; },                     \
        [&] {                                                             \
          int r = g_targets.slot args;                                    \
          if (r == 0) allocated(counter, *out);                           \
          return r;                                                       \
        });                                                               \
  }
#define MP_COUNT_release(counter, slot, ret, params, args)                  \
  ret count_##slot params {                                               \
    if (p == nullptr || foreign_block(p)) return g_targets.slot args;     \
    counted(                                                              \
        counter,                                                          \
        [&] {                                                             \
          g_targets.slot args;                                            \
          return 0;                                                       \
        },                                                                \
        [&] {                                                             \
          account::count(counter, 0, usable(p));                          \
          g_targets.slot args;                                            \
          return 0;                                                       \
        });                                                               \
  }
#define MP_COUNT_resize(counter, slot, ret, params, args)                   \
  ret count_##slot params {                                               \
    if (p != nullptr && foreign_block(p)) return g_targets.slot args;     \
    return counted(                                                       \
        counter, [&] { return g_targets.slot args; },                     \
        [&] {                                                             \
          size_t old = p != nullptr ? usable(p) : 0;                      \
          void* q = g_targets.slot args;                                  \
          resized(counter, old, q, MP_EXPAND args);                       \
          return q;                                                       \
        });                                                               \
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
#include "memproxy/allocator_family.def"

}  // namespace

Dispatch over_targets(bool count_operators) {
  Dispatch d = g_targets;
#define MP_C(kind, counter, name, ret, params, args) d.name = count_##name;
#define MP_LIBC(kind, counter, name, of, ret, params, args) d.name = count_##name;
#include "memproxy/allocator_family.def"
  if (count_operators) {
#define MP_CXX(kind, slot, mangled, declarator, ret, params, args) d.slot = count_##slot;
#include "memproxy/allocator_family.def"
  }
  return d;
}

}  // namespace memproxy::counting
