#include "counting.hpp"

#include "glibc_semantics.hpp"
#include "heap_account.hpp"
#include "memproxy/allocator_family.hpp"
#include "sampling.hpp"
#include "trace.hpp"
#include "watch.hpp"

namespace memproxy::counting {

Dispatch g_targets MP_STATE;

namespace {

using heap::Counter;

// A block that is not the backend's (a deepbound library's libc block,
// deepbind.hpp) was never counted, and is not.
MP_CALL_STEP bool foreign_block(void* p) {
  bool (*foreign)(const void*) = __atomic_load_n(&g_semantics.foreign, __ATOMIC_RELAXED);
  return __builtin_expect(foreign != nullptr, 0) && foreign(p);
}

// The usable size of a block the backend handed out: what live bytes are
// counted in. Measured per backend (memproxy-usable-size under callgrind,
// docs/benchmarks/monitoring.md): glibc's malloc_usable_size costs about 10
// instructions more than reading the chunk's size word in place, which
// is the same arithmetic (glibc_chunk_usable); mimalloc's answer, under
// either name (mi_usable_size is malloc_usable_size), costs about 25, and
// its size class of the request (mi_good_size) as much, and is not a
// block's size; jemalloc's (malloc_usable_size, sallocx) about 37-40, where
// following its thread counters (account::sync) costs about 12, so it is
// never sized but before a thread attaches.
MP_CALL_STEP size_t glibc_chunk_usable(const void* p) {
  // The size word before the block: the chunk's bytes, flags in the low
  // three bits (2: mmapped, which also spends a word before the size).
  size_t word = static_cast<const size_t*>(p)[-1];
  return (word & ~size_t{7}) - sizeof(size_t) - ((word & 2) >> 1) * sizeof(size_t);
}

template <Sizing sizing>
MP_CALL_STEP size_t usable(void* p) {
  if constexpr (sizing == kByGlibcChunk) {
    return glibc_chunk_usable(p);
  } else {
    return g_chosen.malloc_usable_size(p);
  }
}

inline bool zero_size(size_t n) { return n == 0; }
inline bool zero_size(size_t n, size_t size) { return n == 0 || size == 0; }

// Two ways to count a call, one per backend kind:
// - by block sizes: the usable size of each block handed out or taken back,
//   asked of the backend (a free is sized before it happens);
// - by the backend's own thread counters (account::Account::backend_offset): the
//   thread's slot follows them and no block is ever sized. A thread's calls
//   before it attaches, and those of a thread in the overflow slot, are
//   counted by sizes.
// `by_sizes` makes the call, counts it by sizes and returns the slot and
// the bytes handed out; `plain` just makes it. The block handed out (if any)
// is then offered to sampling.
// The lambdas a counting slot passes are steps of it too (MP_CALL_STEP).
#define MP_STEP_LAMBDA __attribute__((always_inline))

struct Counted {
  heap::Slot* slot;
  uint64_t bytes;  // usable bytes handed out
};

// Which way is fixed per process when the counting slots are made
// (over_targets), so a call does not ask.
template <Sizing sizing, account::Moves moves, typename Plain, typename BySizes>
MP_CALL_STEP Counted counted(Counter c, Plain plain, BySizes by_sizes) {
  if constexpr (sizing != kByBackendCounters) {
    return by_sizes();
  } else {
    heap::Slot* s = account::slot_of_this_thread();
    if (__builtin_expect(account::follows_backend(s), 1)) {
      plain();
      return {s, account::sync<moves>(s, c)};
    }
    Counted r = by_sizes();
    account::attach();
    return r;
  }
}

// A block the backend just handed out is its own, never libc's: only
// blocks coming back are asked whether they are foreign.
template <Sizing sizing>
MP_CALL_STEP Counted allocated(Counter c, void* p) {
  if (p == nullptr) return {nullptr, 0};
  size_t bytes = usable<sizing>(p);
  return {account::count(c, bytes, 0), bytes};
}

// The common case of a counted allocation, in one branch: no sample due, no
// trace (watch.hpp). A failed allocation is never quiet (nothing to count
// down; it may be traced).
MP_CALL_STEP bool quiet(const Counted& c) { return c.slot != nullptr && watch::quiet_allocation(c.slot, c.bytes); }

inline void offer(const Counted& r, void* block) {
  if (r.slot != nullptr && block != nullptr && r.bytes != 0) sampling::allocated(r.slot, block, r.bytes);
}

// After realloc-like calls: glibc's realloc(p, 0) frees p and returns NULL;
// any other NULL leaves p as it was.
template <Sizing sizing, typename... Sizes>
inline Counted resized(Counter c, size_t old, void* q, void* p, Sizes... sizes) {
  if (q != nullptr) {
    size_t now = usable<sizing>(q);
    return {account::count(c, now, old), now};
  }
  if (p != nullptr && zero_size(sizes...)) account::count(c, 0, old);
  return {nullptr, 0};
}

// What a traced call's record says: the pointer it took, the size it asked for.
inline uint64_t traced_size(family::Member m, size_t a) { return m == family::k_free ? 0 : a; }
inline uint64_t traced_size(family::Member m, size_t a, size_t b) {
  if (m == family::k_calloc || m == family::k___libc_calloc) return static_cast<uint64_t>(a) * b;
  return b;  // memalign/aligned_alloc(alignment, size)
}
inline uint64_t traced_size(family::Member, size_t n, std::align_val_t) { return n; }
inline uint64_t traced_size(family::Member, size_t n, const std::nothrow_t&) { return n; }
inline uint64_t traced_size(family::Member, size_t n, std::align_val_t, const std::nothrow_t&) { return n; }
inline uint64_t traced_size(family::Member, void** , size_t, size_t n) { return n; }
inline uint64_t traced_size(family::Member, void*) { return 0; }
inline uint64_t traced_size(family::Member, void*, size_t n) { return n; }
inline uint64_t traced_size(family::Member, void*, size_t n, size_t size) { return static_cast<uint64_t>(n) * size; }
inline uint64_t traced_size(family::Member, void*, const std::nothrow_t&) { return 0; }
inline uint64_t traced_size(family::Member, void*, std::align_val_t) { return 0; }
inline uint64_t traced_size(family::Member, void*, size_t n, std::align_val_t) { return n; }
inline uint64_t traced_size(family::Member, void*, std::align_val_t, const std::nothrow_t&) { return 0; }

inline uint64_t as_word(void* p) { return reinterpret_cast<uintptr_t>(p); }

#define MP_EXPAND(...) __VA_ARGS__
// The program's return address, in a counting slot (an out-of-line path is
// handed it by the slot that jumped to it).
#define MP_RA __builtin_return_address(0)
#define MP_TRACE(member, pointer, result, args) \
  trace::note(member, pointer, traced_size(member, MP_EXPAND args), as_word(result), MP_RA)

// The common path of a counted allocation or free keeps only the slot (and,
// for an allocation, the size asked, which a trace record needs) across the
// backend's call and ends in a return or a jump to it: everything rarer (a
// thread's first calls, calls counted in the overflow slot, a batch to add,
// a sample due, the ring on, a failed allocation) is in the out-of-line
// functions below, reached by a jump, so the common path saves no other
// register. Measured with callgrind, docs/benchmarks/monitoring.md.
#define MP_RARE __attribute__((noinline, cold))

// Whether this thread's calls take the common path: it has a slot of its
// own, and with backend counters it follows them.
template <Sizing sizing>
MP_CALL_STEP bool counts_inline(const heap::Slot* s) {
  if constexpr (sizing == kByBackendCounters) {
    return s != nullptr && account::follows_backend(s);
  } else {
    return s != nullptr && s != account::g_account.overflow;
  }
}

// The usable bytes the backend just handed out as block `r`, in this
// thread's own slot; with backend counters, storing what they say now is
// also the count of those bytes (heap_account.h).
template <Sizing sizing>
MP_CALL_STEP uint64_t handed_out(heap::Slot* s, void* r) {
  if constexpr (sizing == kByBackendCounters) {
    return account::gained(&s->backend_seen[0], s->backend_counter[0]);
  } else {
    return usable<sizing>(r);
  }
}

// The rest of an allocation of `bytes` counted in `s` that was not quiet
// (watch::quiet_batched_allocation): its batch, then sampling and the trace.
MP_RARE void* finish_allocation(family::Member m, heap::Slot* s, void* r, uint64_t bytes, uint64_t asked, void* ra) {
  account::batch(s, static_cast<int64_t>(bytes));
  if (watch::quiet_allocation(s, bytes)) return r;
  if (r != nullptr && bytes != 0) sampling::allocated(s, r, bytes);
  trace::note(m, 0, asked, as_word(r), ra);
  return r;
}

// A failed allocation counted by block sizes: nothing to count, maybe traced.
MP_RARE void* failed_allocation(family::Member m, uint64_t asked, void* ra) {
  trace::note(m, 0, asked, 0, ra);
  return nullptr;
}

#define MP_COUNT_alloc(member, counter, slot, ret, params, args)                          \
  template <Sizing sizing, typename... Args>                                                 \
  MP_RARE ret full_##slot(void* ra, Args... a) {                                             \
    void* r = nullptr;                                                                       \
    Counted c = counted<sizing, account::kMovesIn>(                                          \
        counter, [&]() MP_STEP_LAMBDA { r = g_targets.slot(a...); },                         \
        [&]() MP_STEP_LAMBDA {                                                               \
          r = g_targets.slot(a...);                                                          \
          return allocated<sizing>(counter, r);                                              \
        });                                                                                  \
    if (__builtin_expect(quiet(c), 1)) return r;                                             \
    offer(c, r);                                                                             \
    trace::note(member, 0, traced_size(member, a...), as_word(r), ra);                       \
    return r;                                                                                \
  }                                                                                          \
  template <Sizing sizing>                                                                   \
  ret count_##slot params {                                                                  \
    heap::Slot* s = account::t_slot;                                                         \
    if (__builtin_expect(!counts_inline<sizing>(s), 0)) return full_##slot<sizing>(MP_RA, MP_EXPAND args); \
    void* r = g_targets.slot args;                                                           \
    if constexpr (sizing != kByBackendCounters) {                                            \
      if (__builtin_expect(r == nullptr, 0)) return failed_allocation(member, traced_size(member, MP_EXPAND args), MP_RA); \
    }                                                                                        \
    const uint64_t bytes = handed_out<sizing>(s, r);                                         \
    account::bump(&s->calls[counter], 1);                                                    \
    if constexpr (sizing != kByBackendCounters) account::bump(&s->bytes_allocated, bytes);   \
    if (__builtin_expect(watch::quiet_batched_allocation(s, bytes), 1)) return r;            \
    return finish_allocation(member, s, r, bytes, traced_size(member, MP_EXPAND args), MP_RA); \
  }
#define MP_COUNT_alloc_out(member, counter, slot, ret, params, args)          \
  template <Sizing sizing>                                                  \
  ret count_##slot params {                                                 \
    int r = 0;                                                              \
    Counted c = counted<sizing, account::kMovesIn>(                                 \
        counter, [&]() MP_STEP_LAMBDA { r = g_targets.slot args; },                          \
        [&]() MP_STEP_LAMBDA {                                                               \
          r = g_targets.slot args;                                          \
          return r == 0 ? allocated<sizing>(counter, *out) : Counted{nullptr, 0};   \
        });                                                                 \
    if (__builtin_expect(r == 0 && quiet(c), 1)) return r;                  \
    if (r == 0) offer(c, *out);                                             \
    MP_TRACE(member, 0, r == 0 ? *out : nullptr, args);                     \
    return r;                                                               \
  }
/* A quiet free (watch.hpp) is counted and made; any other also forgets its
   sample, if it was one, and is traced (the full path, out of line). */
#define MP_COUNT_release(member, counter, slot, ret, params, args)                           \
  template <Sizing sizing, typename... Args>                                                 \
  MP_RARE ret full_##slot(void* ra, void* p, Args... a) {                                    \
    auto made = [&]() MP_STEP_LAMBDA {                                                       \
      counted<sizing, account::kMovesOut>(                                                   \
          counter, [&]() MP_STEP_LAMBDA { g_targets.slot(p, a...); },                        \
          [&]() MP_STEP_LAMBDA {                                                             \
            heap::Slot* s = account::count(counter, 0, usable<sizing>(p));                   \
            g_targets.slot(p, a...);                                                         \
            return Counted{s, 0};                                                            \
          });                                                                                \
    };                                                                                       \
    if (__builtin_expect(watch::quiet_free(p), 1)) {                                         \
      made();                                                                                \
      return;                                                                                \
    }                                                                                        \
    sampling::freed(p);                                                                      \
    made();                                                                                  \
    trace::note(member, as_word(p), traced_size(member, p, a...), 0, ra);                    \
  }                                                                                          \
  template <Sizing sizing>                                                                   \
  ret count_##slot params {                                                                  \
    if (p == nullptr || foreign_block(p)) return g_targets.slot args;                        \
    heap::Slot* s = account::t_slot;                                                         \
    if (__builtin_expect(!counts_inline<sizing>(s) || !watch::quiet_free(p), 0)) {           \
      return full_##slot<sizing>(MP_RA, MP_EXPAND args);                                     \
    }                                                                                        \
    if constexpr (sizing == kByBackendCounters) {                                            \
      g_targets.slot args;                                                                   \
      const uint64_t bytes = account::gained(&s->backend_seen[1], s->backend_counter[1]);    \
      account::bump(&s->calls[counter], 1);                                                  \
      account::batch(s, -static_cast<int64_t>(bytes));                                       \
    } else {                                                                                 \
      const uint64_t bytes = usable<sizing>(p);                                              \
      account::bump(&s->calls[counter], 1);                                                  \
      account::bump(&s->bytes_freed, bytes);                                                 \
      account::batch(s, -static_cast<int64_t>(bytes));                                       \
      g_targets.slot args;                                                                   \
    }                                                                                        \
  }
#define MP_COUNT_resize(member, counter, slot, ret, params, args)             \
  template <Sizing sizing>                                                  \
  ret count_##slot params {                                                 \
    if (p != nullptr && foreign_block(p)) return g_targets.slot args;       \
    if (p != nullptr) sampling::freed(p);                                   \
    void* q = nullptr;                                                      \
    Counted c = counted<sizing, account::kMovesBoth>(                               \
        counter, [&]() MP_STEP_LAMBDA { q = g_targets.slot args; },                          \
        [&]() MP_STEP_LAMBDA {                                                               \
          size_t old = p != nullptr ? usable<sizing>(p) : 0;                        \
          q = g_targets.slot args;                                          \
          return resized<sizing>(counter, old, q, MP_EXPAND args);                  \
        });                                                                 \
    if (__builtin_expect(q != nullptr && quiet(c), 1)) return q;            \
    offer(c, q);                                                            \
    MP_TRACE(member, as_word(p), q, args);                                  \
    return q;                                                               \
  }
#define MP_COUNT_query(member, counter, slot, ret, params, args) \
  template <Sizing sizing>                                                  \
  ret count_##slot params { return g_targets.slot args; }
#define MP_COUNT_new MP_COUNT_alloc
#define MP_COUNT_new_nt MP_COUNT_alloc
#define MP_COUNT_delete MP_COUNT_release
#define MP_CXX_COUNTER_new heap::kNew
#define MP_CXX_COUNTER_new_nt heap::kNew
#define MP_CXX_COUNTER_delete heap::kDelete

#define MP_C(kind, counter, name, ret, params, args) \
  MP_COUNT_##kind(family::k_##name, heap::counter, name, ret, params, args)
#define MP_LIBC(kind, counter, name, of, ret, params, args) \
  MP_COUNT_##kind(family::k_##name, heap::counter, name, ret, params, args)
#define MP_CXX(kind, slot, mangled, declarator, ret, params, args) \
  MP_COUNT_##kind(family::k_##slot, MP_CXX_COUNTER_##kind, slot, ret, params, args)
#include "memproxy/allocator_family.def"

}  // namespace

template <Sizing sizing>
Dispatch counting_slots(bool count_operators) {
  Dispatch d = g_targets;
#define MP_C(kind, counter, name, ret, params, args) d.name = count_##name<sizing>;
#define MP_LIBC(kind, counter, name, of, ret, params, args) d.name = count_##name<sizing>;
#include "memproxy/allocator_family.def"
  if (count_operators) {
#define MP_CXX(kind, slot, mangled, declarator, ret, params, args) d.slot = count_##slot<sizing>;
#include "memproxy/allocator_family.def"
  }
  return d;
}

Dispatch over_targets(bool count_operators, Sizing sizing) {
  switch (sizing) {
    case kByBackendCounters: return counting_slots<kByBackendCounters>(count_operators);
    case kByGlibcChunk: return counting_slots<kByGlibcChunk>(count_operators);
    case kBySizeQuery: break;
  }
  return counting_slots<kBySizeQuery>(count_operators);
}

bool glibc_chunks_read_in_place() {
#if defined(__GLIBC__) && (defined(__x86_64__) || defined(__i386__))
  // Small, medium and (above the mmap threshold) mmapped chunks. x86 only:
  // elsewhere glibc may tag memory (aarch64 MTE), and the word before a
  // block is then not the program's to read.
  static const size_t kBytes[] = {1, 24, 1000, 100000, 300000};
  for (size_t bytes : kBytes) {
    void* p = g_libc.malloc(bytes);
    if (p == nullptr) return false;
    bool same = glibc_chunk_usable(p) == g_libc.malloc_usable_size(p);
    g_libc.free(p);
    if (!same) return false;
  }
  return true;
#else
  return false;
#endif
}

}  // namespace memproxy::counting
