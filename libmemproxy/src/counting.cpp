#include "counting.hpp"

#include "block_size.hpp"
#include "cxx_semantics.hpp"
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
// counted in, read in place where the decision found that exact
// (block_size.hpp), else asked of the backend. Measured per backend
// (memproxy-usable-size under callgrind, docs/benchmarks/monitoring.md):
// glibc's chunk word read in place costs about 10 instructions less than
// its malloc_usable_size, mimalloc's page read in place about 12 less than
// its mi_usable_size (which is its malloc_usable_size; its size class of
// the request, mi_good_size, costs as much, and is a block's size only for
// a plain request: small ones are sized from a table of it, classed_*);
// jemalloc's answer (malloc_usable_size, sallocx) costs about 37-40, where
// following its thread counters (account::sync) costs about 12, so it is
// never sized but before a thread attaches.
template <Sizing sizing>
MP_CALL_STEP size_t usable(void* p) {
  if constexpr (sizing == kByGlibcChunk) {
    return block_size::glibc_chunk(p);
  } else if constexpr (sizing == kByMimallocPage) {
    size_t bytes;
    if (__builtin_expect(block_size::mimalloc_page(p, &bytes), 1)) return bytes;
    return g_chosen.malloc_usable_size(p);
  } else {
    return g_chosen.malloc_usable_size(p);
  }
}

// usable(), on a counting slot's common path: false when the size is to be
// asked, which the slot leaves to an out-of-line path.
template <Sizing sizing>
MP_CALL_STEP bool usable_inline(void* p, size_t* bytes) {
  if constexpr (sizing == kByMimallocPage) {
    return block_size::mimalloc_page(p, bytes);
  } else {
    *bytes = usable<sizing>(p);
    return true;
  }
}

inline bool zero_size(size_t n) { return n == 0; }
inline bool zero_size(size_t n, size_t size) { return n == 0 || size == 0; }
// Whether a resize of a block frees it (glibc's realloc(p, 0)).
template <typename... Sizes>
MP_CALL_STEP bool frees_block(void* p, Sizes... sizes) {
  return p != nullptr && zero_size(sizes...);
}

// The common path of a counted allocation keeps only the slot across the
// backend's call, and that of a free by block sizes nothing (it counts
// first and ends in a jump to the backend); by backend counters every
// common path ends in that jump. Everything rarer (a thread's first calls,
// calls counted in the overflow slot, a batch to add, a sample due, the
// ring on, a deepbound library's blocks) is in the out-of-line functions,
// reached by a jump. The ring on is an event due (account::force_events,
// force_sized_events), which the events trace, for every call but an
// allocation by block sizes sized after its call (count_*): that one tests
// the ring's switch before the call, so the size asked, which only a trace
// record needs, is not kept across it. Measured with callgrind,
// docs/benchmarks/monitoring.md.
#define MP_RARE __attribute__((noinline, cold))
// A counting slot's entry starts a cache line, so that its common path
// lies in the same lines whatever code comes before it: unrelated changes
// moved glibc's free by 32 bytes in its line, and its churn by 3% in CPU
// with the same instructions (docs/benchmarks/monitoring.md).
#define MP_SLOT_ENTRY __attribute__((aligned(64)))

// Sets the thread's next allocation event (Slot::until_event, event_span)
// at its sample due or kBatchBytes away, whichever is nearer.
inline void set_next_event(heap::Slot* s) {
  int64_t span = __atomic_load_n(&s->until_sample, __ATOMIC_RELAXED);
  span = span < 1 ? 1 : span > heap::kBatchBytes ? heap::kBatchBytes : span;
  __atomic_store_n(&s->event_span, span, __ATOMIC_RELAXED);
  __atomic_store_n(&s->until_event, span, __ATOMIC_RELAXED);
}

// By backend counters (an attached slot, account::allocations_batched_at):
// an allocation event, reached when the thread's countdown of bytes asked
// (until_event) came to 0 at the call that handed out `block` (null: it
// failed), asked `asked` bytes, now made. What the allocated counter gained
// since the last event goes to the batch, and the bytes asked since then
// are counted down to the thread's next sample, taken now if due: the
// block is sized only then, and weighed by usable / asked
// (sampling::take). The next event is set as by block sizes. An event a
// reader forced lost the bytes asked since the last one; the sample's
// countdown is drawn afresh instead (sampling::redraw).
MP_RARE void allocation_event_by_counters(heap::Slot* s, void* block, uint64_t asked) {
  const uint64_t now = account::see(s, 0);
  account::add_to_batch(static_cast<int64_t>(account::unbatched_gain(s, 0, now)));
  account::batched_up_to(s, 0, now);
  uint64_t since = asked;
  if (account::forced_from_outside(s, asked)) {
    sampling::redraw(s);
  } else {
    since = static_cast<uint64_t>(account::asked_since_event(s));
  }
  if (sampling::due(s, block, asked, since)) {
    sampling::take(s, block, g_chosen.malloc_usable_size(block), asked);
  }
  set_next_event(s);
}

// A free event by backend counters, the deallocated counter now `now`:
// what it gained since the last one goes to the batch.
MP_RARE void free_event_by_counters(heap::Slot* s, uint64_t now) {
  account::add_to_batch(-static_cast<int64_t>(account::unbatched_gain(s, 1, now)));
  account::batched_up_to(s, 1, now);
}

// A call in an attached slot, after the backend's call (the full path, or
// a common path that found its allocation event due, `counted_down`: its
// bytes asked are already counted down): stores what the allocated
// counter says now, if the call can move it (what a reader that cannot
// read the counters in the process counts; the deallocated one is stored
// at free events), and runs the events due; with the ring on, makes the
// thread's next call an event too (the caller traces this one).
template <account::Moves moves>
MP_CALL_STEP void by_counters(heap::Slot* s, Counter c, void* block, uint64_t asked, bool counted_down) {
  account::bump(&s->calls[c], 1);
  if constexpr ((moves & account::kMovesOut) != 0) {
    // Stored (backend_seen) only at its events, where the batch takes it.
    const uint64_t now = account::backend_now(s, 1);
    if (account::free_event_due(s, now)) free_event_by_counters(s, now);
  }
  if constexpr ((moves & account::kMovesIn) != 0) {
    if (counted_down || !watch::before_asked_event(s, asked)) {
      allocation_event_by_counters(s, block, asked);
    } else {
      account::see(s, 0);
    }
  }
  if (__builtin_expect(watch::trace_switch() != 0, 0)) account::force_events(s);
}

// Two ways to count a call, one per backend kind:
// - by block sizes: the usable size of each block handed out or taken back,
//   asked of the backend (a free is sized before it happens);
// - by the backend's own thread counters (account::Account::backend_offset): the
//   thread's slot follows them and no block is ever sized but a sampled
//   one. A thread's calls before it attaches, and those of a thread in the
//   overflow slot, are counted by sizes.
// `by_sizes` makes the call, counts it by sizes and returns the slot and
// the bytes handed out, for the caller to offer the block (if any) to
// sampling; `plain` makes it and returns the block handed out (null: none),
// which by_counters counts and samples: then nothing is left to offer.
// The lambdas a counting slot passes are steps of it too (MP_CALL_STEP).
#define MP_STEP_LAMBDA __attribute__((always_inline))

struct Counted {
  heap::Slot* slot;  // null: nothing to offer to sampling
  uint64_t bytes;    // usable bytes handed out
};

// Which way is fixed per process when the counting slots are made
// (over_targets), so a call does not ask. `asked`: the bytes the call asks
// for (0 for a free).
template <Sizing sizing, account::Moves moves, typename Plain, typename BySizes>
MP_CALL_STEP Counted counted(Counter c, [[maybe_unused]] uint64_t asked, Plain plain, BySizes by_sizes) {
  if constexpr (sizing != kByBackendCounters) {
    return by_sizes();
  } else {
    heap::Slot* s = account::slot_of_this_thread();
    if (__builtin_expect(account::follows_backend(s), 1)) {
      by_counters<moves>(s, c, plain(), asked, false);
      return {nullptr, 0};
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
  if (frees_block(p, sizes...)) account::count(c, 0, old);
  return {nullptr, 0};
}

// What a traced call's record says: the pointer it took, the size it asked
// for (by backend counters, what is counted down to the next allocation
// event too). A product past 64 bits is UINT64_MAX, which asks too much as
// truly as the product would (and is an event: watch::before_asked_event).
inline uint64_t product(size_t n, size_t size) {
  uint64_t bytes;
  return __builtin_mul_overflow(static_cast<uint64_t>(n), static_cast<uint64_t>(size), &bytes) ? UINT64_MAX : bytes;
}
inline uint64_t traced_size(family::Member m, size_t a) { return m == family::k_free ? 0 : a; }
inline uint64_t traced_size(family::Member m, size_t a, size_t b) {
  if (m == family::k_calloc || m == family::k___libc_calloc) return product(a, b);
  return b;  // memalign/aligned_alloc(alignment, size)
}
inline uint64_t traced_size(family::Member, size_t n, std::align_val_t) { return n; }
inline uint64_t traced_size(family::Member, size_t n, const std::nothrow_t&) { return n; }
inline uint64_t traced_size(family::Member, size_t n, std::align_val_t, const std::nothrow_t&) { return n; }
inline uint64_t traced_size(family::Member, void** , size_t, size_t n) { return n; }
inline uint64_t traced_size(family::Member, void*) { return 0; }
inline uint64_t traced_size(family::Member, void*, size_t n) { return n; }
inline uint64_t traced_size(family::Member, void*, size_t n, size_t size) { return product(n, size); }
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

// By block sizes, an allocation of `bytes` counted in `s` that began with
// the ring off and reached its thread's allocation event
// (watch::before_event): what the thread allocated since the last event
// (this block included) goes to the batch and is counted down to its next
// sample, taken now if due; the next event is set at that sample or
// kBatchBytes away, whichever is nearer.
// (Calls on the full path batch and count down to a sample as they always
// did, without events.)
MP_RARE void* allocation_event(heap::Slot* s, void* r, uint64_t bytes) {
  const int64_t since = account::allocated_since_event(s);
  account::add_to_batch(since);
  sampling::allocated(s, r, bytes, static_cast<uint64_t>(since));
  set_next_event(s);
  return r;
}

// By block sizes, an allocation of `bytes` at `r` (made, with the ring off
// when it began) whose common path found the gate (account::t_common): a
// thread's first call, or one of a thread in the overflow slot or leaving.
// What it wrote in the gate is nobody's; it is counted as the full path
// counts, which claims the thread's slot.
MP_RARE void* gate_allocation(heap::Counter c, void* r, uint64_t bytes) {
  account::reset_gate();
  const Counted k{account::count(c, bytes, 0), bytes};
  if (!quiet(k)) offer(k, r);
  return r;
}

// By block sizes, on an event or a full path of this thread's, counted in
// `s` (null: none): while the ring is on, the thread keeps its own next
// events forced (account::force_sized_events), so that each of its calls
// is traced even where a reader's forcing raced one of its own stores.
MP_RARE void keep_events_forced(heap::Slot* s) {
  if (s != nullptr && watch::ring_on()) account::force_sized_events(s);
}

// An allocation by block sizes whose block's size is to be asked
// (usable_inline), with the ring off when it began.
MP_RARE void* asked_allocation(heap::Slot* s, heap::Counter c, void* r) {
  if (account::is_gate(s)) return gate_allocation(c, r, g_chosen.malloc_usable_size(r));
  const uint64_t bytes = g_chosen.malloc_usable_size(r);
  account::bump(&s->calls[c], 1);
  account::bump(&s->bytes_allocated, bytes);
  if (watch::before_event(s, bytes)) return r;
  return allocation_event(s, r, bytes);
}

// A free on the common path that reached its thread's free event
// (watch::before_free_event): what the thread freed there since the last
// one goes to the batch.
MP_RARE void free_event(heap::Slot* s) {
  account::add_to_batch(-account::freed_since_event(s));
  __atomic_store_n(&s->until_free_event, heap::kBatchBytes, __ATOMIC_RELAXED);
}

// A resize's block on the common path: surely not sampled, and by block
// sizes with the ring off (by backend counters the ring on is an event due).
template <Sizing sizing>
MP_CALL_STEP bool quiet_free(const void* p) {
  if constexpr (sizing == kByBackendCounters) {
    return watch::unsampled(p);
  } else {
    return watch::quiet_free(p);
  }
}

// A resize on the common path (MP_COUNT_resize): of no block (by block
// sizes, with the ring off), or of a block a free could take on its common
// path (quiet_free), while no deepbound library's blocks are about
// (foreign_block).
template <Sizing sizing>
MP_CALL_STEP bool quiet_resize(const void* p) {
  if (p == nullptr) return sizing == kByBackendCounters || watch::trace_switch() == 0;
  return __atomic_load_n(&g_semantics.foreign, __ATOMIC_RELAXED) == nullptr && quiet_free<sizing>(p);
}

// A resize on the common path that reached its events: the free event
// first (what the thread freed goes to the batch), then the allocation's
// (which may sample the new block).
MP_RARE void* resize_events(heap::Slot* s, void* q, uint64_t now, bool quiet_in, bool quiet_out) {
  if (!quiet_out) free_event(s);
  if (!quiet_in) allocation_event(s, q, now);
  return q;
}

// The size of a block the inline reader leaves to the backend.
MP_RARE size_t asked_size(void* p) { return g_chosen.malloc_usable_size(p); }

#define MP_COUNT_alloc(member, counter, slot, ret, params, args)                          \
  template <Sizing sizing, typename... Args>                                                 \
  MP_RARE ret full_##slot(void* ra, Args... a) {                                             \
    void* r = nullptr;                                                                       \
    Counted c = counted<sizing, account::kMovesIn>(                                          \
        counter, traced_size(member, a...), [&]() MP_STEP_LAMBDA { return r = g_targets.slot(a...); }, \
        [&]() MP_STEP_LAMBDA {                                                               \
          r = g_targets.slot(a...);                                                          \
          return allocated<sizing>(counter, r);                                              \
        });                                                                                  \
    if (__builtin_expect(quiet(c), 1)) return r;                                             \
    offer(c, r);                                                                             \
    if constexpr (sizing != kByBackendCounters) keep_events_forced(account::t_inline);      \
    trace::note(member, 0, traced_size(member, a...), as_word(r), ra);                       \
    return r;                                                                                \
  }                                                                                          \
  template <typename... Args>                                                                \
  MP_RARE ret event_##slot(void* ra, heap::Slot* s, Args... a) {                             \
    void* r = g_targets.slot(a...);                                                          \
    by_counters<account::kMovesIn>(s, counter, r, traced_size(member, a...), true);          \
    trace::note(member, 0, traced_size(member, a...), as_word(r), ra);                       \
    return r;                                                                                \
  }                                                                                          \
  /* By backend counters in the slot t_inline, or the full path while there \
     is none; by block sizes in the slot t_common (or the gate), the ring's  \
     switch tested before the call. */                                         \
  template <Sizing sizing>                                                                   \
  MP_SLOT_ENTRY ret count_##slot params {                                                    \
    if constexpr (sizing == kByBackendCounters) {                                            \
      heap::Slot* s = account::t_inline;                                                     \
      if (__builtin_expect(s == nullptr, 0)) return full_##slot<sizing>(MP_RA, MP_EXPAND args); \
      if (__builtin_expect(!watch::before_asked_event(s, traced_size(member, MP_EXPAND args)), 0)) { \
        return event_##slot(MP_RA, s, MP_EXPAND args);                                       \
      }                                                                                      \
      account::bump(&s->calls[counter], 1);                                                  \
      return g_targets.slot args;                                                            \
    } else {                                                                                 \
      heap::Slot* s = account::t_common;                                                     \
      if (__builtin_expect(watch::ring_on(), 0)) return full_##slot<sizing>(MP_RA, MP_EXPAND args); \
      void* r = g_targets.slot args;                                                         \
      size_t bytes;                                                                          \
      if (__builtin_expect(r == nullptr, 0)) return r;                                       \
      if (__builtin_expect(!usable_inline<sizing>(r, &bytes), 0)) return asked_allocation(s, counter, r); \
      account::bump(&s->bytes_allocated, bytes);                                             \
      account::bump(&s->calls[counter], 1);                                                  \
      if (__builtin_expect(watch::before_event(s, bytes), 1)) return r;                      \
      return account::is_gate(s) ? gate_allocation(counter, r, bytes) : allocation_event(s, r, bytes); \
    }                                                                                        \
  }
#define MP_COUNT_alloc_out(member, counter, slot, ret, params, args)          \
  template <Sizing sizing>                                                  \
  MP_SLOT_ENTRY ret count_##slot params {                                   \
    int r = 0;                                                              \
    Counted c = counted<sizing, account::kMovesIn>(                                 \
        counter, traced_size(member, MP_EXPAND args),                              \
        [&]() MP_STEP_LAMBDA {                                                     \
          r = g_targets.slot args;                                                 \
          return r == 0 ? static_cast<void*>(*out) : nullptr;                      \
        },                                                                         \
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
    if (p == nullptr) return g_targets.slot(p, a...);                                        \
    if (foreign_block(p)) return g_libc.free(p);                                             \
    auto made = [&]() MP_STEP_LAMBDA {                                                       \
      counted<sizing, account::kMovesOut>(                                                   \
          counter, 0,                                                                        \
          [&]() MP_STEP_LAMBDA {                                                             \
            g_targets.slot(p, a...);                                                         \
            return static_cast<void*>(nullptr);                                              \
          },                                                                                 \
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
    if constexpr (sizing != kByBackendCounters) keep_events_forced(account::t_inline);      \
    trace::note(member, as_word(p), traced_size(member, p, a...), 0, ra);                    \
  }                                                                                          \
  /* By block sizes, the free counted in `s` (the gate: counted on the full  \
     path instead) reached its thread's free event; with the ring on it is   \
     traced, and the thread's next events are forced. */                     \
  template <Sizing sizing, typename... Args>                                                 \
  MP_RARE ret free_event_then_##slot(void* ra, heap::Slot* s, void* p, Args... a) {         \
    if (account::is_gate(s)) {                                                               \
      account::reset_gate();                                                                 \
      return full_##slot<sizing>(ra, p, a...);                                               \
    }                                                                                        \
    free_event(s);                                                                           \
    keep_events_forced(s);                                                                   \
    trace::note(member, as_word(p), traced_size(member, p, a...), 0, ra);                    \
    return g_targets.slot(p, a...);                                                          \
  }                                                                                          \
  /* In the slot t_common, never null (the thread's, or the gate). A null    \
     pointer is not a call of the account: its filter byte sends it to the   \
     full path (sampling::filter_index), which makes it uncounted. */         \
  template <Sizing sizing>                                                                   \
  MP_SLOT_ENTRY ret count_##slot params {                                                    \
    heap::Slot* s = account::t_common;                                                       \
    size_t bytes = 0;                                                                        \
    if (__builtin_expect(!watch::unsampled(p) ||                                             \
                             (sizing != kByBackendCounters && !usable_inline<sizing>(p, &bytes)), \
                         0)) {                                                               \
      return full_##slot<sizing>(MP_RA, MP_EXPAND args);                                     \
    }                                                                                        \
    if constexpr (sizing == kByBackendCounters) {                                            \
      const uint64_t now = account::backend_now(s, 1);                                       \
      if (__builtin_expect(account::free_event_due(s, now), 0)) {                            \
        return full_##slot<sizing>(MP_RA, MP_EXPAND args);                                   \
      }                                                                                      \
      account::bump(&s->calls[counter], 1);                                                  \
      return g_targets.slot args;                                                            \
    } else {                                                                                 \
      account::bump(&s->calls[counter], 1);                                                  \
      account::bump(&s->bytes_freed, bytes);                                                 \
      if (__builtin_expect(!watch::before_free_event(s, bytes), 0)) {                        \
        return free_event_then_##slot<sizing>(MP_RA, s, MP_EXPAND args);                     \
      }                                                                                      \
      return g_targets.slot args;                                                            \
    }                                                                                        \
  }
/* A resize of a block that is surely not sampled (or of none), the ring
   off and no deepbound library met, is counted on the common path;
   anything else on the full path, out of line. By block sizes, a resize
   that frees its block (glibc's realloc(p, 0)) takes the full path too, so
   that one that gives no block has failed, and counts nothing (as on the
   full path). */
#define MP_COUNT_resize(member, counter, slot, ret, params, args)                          \
  template <Sizing sizing, typename... Args>                                               \
  MP_RARE ret full_##slot(void* ra, void* p, Args... a) {                                  \
    if (p != nullptr && foreign_block(p)) return g_targets.slot(p, a...);                  \
    if (p != nullptr) sampling::freed(p);                                                  \
    void* q = nullptr;                                                                     \
    Counted c = counted<sizing, account::kMovesBoth>(                                      \
        counter, traced_size(member, p, a...), [&]() MP_STEP_LAMBDA { return q = g_targets.slot(p, a...); }, \
        [&]() MP_STEP_LAMBDA {                                                             \
          size_t old = p != nullptr ? usable<sizing>(p) : 0;                               \
          q = g_targets.slot(p, a...);                                                     \
          return resized<sizing>(counter, old, q, p, a...);                                \
        });                                                                                \
    if (__builtin_expect(q != nullptr && quiet(c), 1)) return q;                           \
    offer(c, q);                                                                           \
    trace::note(member, as_word(p), traced_size(member, p, a...), as_word(q), ra);         \
    return q;                                                                              \
  }                                                                                        \
  template <typename... Args>                                                              \
  MP_RARE ret event_##slot(void* ra, heap::Slot* s, void* p, Args... a) {                  \
    void* q = g_targets.slot(p, a...);                                                     \
    by_counters<account::kMovesBoth>(s, counter, q, traced_size(member, p, a...), true);   \
    trace::note(member, as_word(p), traced_size(member, p, a...), as_word(q), ra);         \
    return q;                                                                              \
  }                                                                                        \
  template <Sizing sizing>                                                                 \
  MP_SLOT_ENTRY ret count_##slot params {                                                  \
    heap::Slot* s = account::t_inline;                                                     \
    if (__builtin_expect(s == nullptr || !quiet_resize<sizing>(p), 0)) {                   \
      return full_##slot<sizing>(MP_RA, MP_EXPAND args);                                   \
    }                                                                                      \
    if constexpr (sizing == kByBackendCounters) {                                          \
      const uint64_t out = account::backend_now(s, 1);                                     \
      if (__builtin_expect(account::free_event_due(s, out), 0)) {                          \
        return full_##slot<sizing>(MP_RA, MP_EXPAND args);                                 \
      }                                                                                    \
      if (__builtin_expect(!watch::before_asked_event(s, traced_size(member, MP_EXPAND args)), 0)) { \
        return event_##slot(MP_RA, s, MP_EXPAND args);                                     \
      }                                                                                    \
      account::bump(&s->calls[counter], 1);                                                \
      return g_targets.slot args;                                                          \
    } else {                                                                               \
      size_t old = 0;                                                                      \
      if (p != nullptr &&                                                                  \
          __builtin_expect(frees_block(MP_EXPAND args) || !usable_inline<sizing>(p, &old), 0)) { \
        return full_##slot<sizing>(MP_RA, MP_EXPAND args);                                 \
      }                                                                                    \
      void* q = g_targets.slot args;                                                       \
      if (__builtin_expect(q == nullptr, 0)) return q;                                     \
      size_t now;                                                                          \
      if (__builtin_expect(!usable_inline<sizing>(q, &now), 0)) now = asked_size(q);       \
      account::bump(&s->bytes_allocated, now);                                             \
      account::bump(&s->bytes_freed, old);                                                 \
      account::bump(&s->calls[counter], 1);                                                \
      const bool quiet_in = watch::before_event(s, now);                                   \
      const bool quiet_out = watch::before_free_event(s, old);                             \
      if (__builtin_expect(quiet_in && quiet_out, 1)) return q;                            \
      return resize_events(s, q, now, quiet_in, quiet_out);                                \
    }                                                                                      \
  }
#define MP_COUNT_query(member, counter, slot, ret, params, args) \
  template <Sizing sizing>                                                  \
  MP_SLOT_ENTRY ret count_##slot params { return g_targets.slot args; }
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

// By mimalloc's small classes (block_size::mimalloc_small_class): an
// allocation of up to kSmallMax bytes is sized from the size asked and
// counted before its call, so that nothing but the result's test is left
// after it. A larger one, the thread's calls before it attaches and those
// that begin with the ring on take the slot's other paths (count_*). The
// operators take this way only over the backend's malloc (their targets
// new_over_c and new_nothrow, which call it first), so that a refusal is
// seen before their new_handler loop runs, which may throw: then their
// full path retries.

// A small allocation the backend refused, counted as made before its call:
// its bytes are counted freed too, so that live bytes stay exact and every
// counter only rises (the call stays counted: it was made). The thread's
// slot is the one it was counted in: t_inline changes only as the thread
// attaches or leaves, never within one of its calls.
MP_RARE void handed_back(size_t bytes) {
  heap::Slot* s = account::t_inline;
  if (s == nullptr) return;
  account::bump(&s->bytes_freed, bytes);
  if (watch::before_free_event(s, bytes)) return;
  free_event(s);
  keep_events_forced(s);
}

#define MP_CLASSED(counter, slot, spec, params, args, asked, plain, refused)                        \
  template <typename... Args>                                                                       \
  MP_RARE void* classed_refused_##slot([[maybe_unused]] void* ra, size_t bytes,                    \
                                       [[maybe_unused]] Args... a) {                               \
    handed_back(bytes);                                                                             \
    refused;                                                                                        \
  }                                                                                                 \
  /* Counted in the gate: made and counted on the full path instead. With    \
     the ring on, traced, and the thread's next events forced. */             \
  MP_RARE void* classed_event_##slot(void* ra, heap::Slot* s, size_t bytes, MP_EXPAND params) {     \
    if (account::is_gate(s)) {                                                                      \
      account::reset_gate();                                                                        \
      return full_##slot<kByMimallocPage>(ra, MP_EXPAND args);                                      \
    }                                                                                               \
    void* r = plain;                                                                                \
    if (r == nullptr) {                                                                             \
      /* The operators' full path retries, and traces. */                                           \
      if constexpr (heap::counter != heap::kNew) trace::note(family::k_##slot, 0, asked, 0, ra);    \
      return classed_refused_##slot(ra, bytes, MP_EXPAND args);                                     \
    }                                                                                               \
    allocation_event(s, r, bytes);                                                                  \
    keep_events_forced(s);                                                                          \
    trace::note(family::k_##slot, 0, asked, as_word(r), ra);                                        \
    return r;                                                                                       \
  }                                                                                                 \
  MP_SLOT_ENTRY void* classed_##slot params spec {                                                  \
    const uint64_t asked_bytes = asked;                                                             \
    heap::Slot* s = account::t_common;                                                              \
    if (__builtin_expect(asked_bytes > block_size::mimalloc::kSmallMax, 0)) {                       \
      return count_##slot<kByMimallocPage> args;                                                    \
    }                                                                                               \
    const size_t bytes = block_size::mimalloc_small_class(asked_bytes);                             \
    account::bump(&s->bytes_allocated, bytes);                                                      \
    account::bump(&s->calls[heap::counter], 1);                                                     \
    if (__builtin_expect(!watch::before_event(s, bytes), 0)) {                                      \
      return classed_event_##slot(MP_RA, s, bytes, MP_EXPAND args);                                 \
    }                                                                                               \
    void* r = plain;                                                                                \
    if (__builtin_expect(r == nullptr, 0)) {                                                        \
      return classed_refused_##slot(MP_RA, bytes, MP_EXPAND args);                                  \
    }                                                                                               \
    return r;                                                                                       \
  }

MP_CLASSED(kMalloc, malloc, , (size_t n), (n), n, g_targets.malloc(n), return nullptr)
MP_CLASSED(kCalloc, calloc, , (size_t n, size_t size), (n, size), product(n, size), g_targets.calloc(n, size),
           return nullptr)
#if MP_PLATFORM_LIBC_ALIASES
MP_CLASSED(kMalloc, __libc_malloc, , (size_t n), (n), n, g_targets.__libc_malloc(n), return nullptr)
MP_CLASSED(kCalloc, __libc_calloc, , (size_t n, size_t size), (n, size), product(n, size),
           g_targets.__libc_calloc(n, size), return nullptr)
#endif
MP_CLASSED(kNew, op_new, , (size_t n), (n), n, g_chosen.malloc(n), return full_op_new<kByMimallocPage>(ra, a...))
MP_CLASSED(kNew, op_new_array, , (size_t n), (n), n, g_chosen.malloc(n),
           return full_op_new_array<kByMimallocPage>(ra, a...))
MP_CLASSED(kNew, op_new_nothrow, noexcept, (size_t n, const std::nothrow_t& tag), (n, tag), n, g_chosen.malloc(n),
           return full_op_new_nothrow<kByMimallocPage>(ra, a...))
MP_CLASSED(kNew, op_new_array_nothrow, noexcept, (size_t n, const std::nothrow_t& tag), (n, tag), n,
           g_chosen.malloc(n), return full_op_new_array_nothrow<kByMimallocPage>(ra, a...))

void classed_slots(bool count_operators, Dispatch* d) {
  d->malloc = classed_malloc;
  d->calloc = classed_calloc;
#if MP_PLATFORM_LIBC_ALIASES
  d->__libc_malloc = classed___libc_malloc;
  d->__libc_calloc = classed___libc_calloc;
#endif
  if (!count_operators) return;
  if (g_targets.op_new == cxx_semantics::new_over_c) d->op_new = classed_op_new;
  if (g_targets.op_new_array == cxx_semantics::new_over_c) d->op_new_array = classed_op_new_array;
  if (g_targets.op_new_nothrow == cxx_semantics::new_nothrow) d->op_new_nothrow = classed_op_new_nothrow;
  if (g_targets.op_new_array_nothrow == cxx_semantics::new_nothrow) {
    d->op_new_array_nothrow = classed_op_new_array_nothrow;
  }
}

// A free slot of a process that has met a deepbound library: libc's
// blocks go to libc, uncounted (they never were counted); the others to the
// counting slot `counted`, whose common path then need not ask.
template <void (*counted)(void*)>
void sorting(void* p) {
  if (p != nullptr && foreign_block(p)) return g_libc.free(p);
  return counted(p);
}

}  // namespace

FreeSlots g_sorting_free MP_STATE;

template <Sizing sizing>
Dispatch counting_slots(bool count_operators) {
  g_sorting_free.free = sorting<count_free<sizing>>;
#if MP_PLATFORM_LIBC_ALIASES
  g_sorting_free.libc_free = sorting<count___libc_free<sizing>>;
#endif
  Dispatch d = g_targets;
#define MP_C(kind, counter, name, ret, params, args) d.name = count_##name<sizing>;
#define MP_LIBC(kind, counter, name, of, ret, params, args) d.name = count_##name<sizing>;
#include "memproxy/allocator_family.def"
  if (count_operators) {
#define MP_CXX(kind, slot, mangled, declarator, ret, params, args) d.slot = count_##slot<sizing>;
#include "memproxy/allocator_family.def"
  }
  if constexpr (sizing == kByMimallocPage) classed_slots(count_operators, &d);
  return d;
}

Dispatch over_targets(bool count_operators, Sizing sizing) {
  switch (sizing) {
    case kByBackendCounters: return counting_slots<kByBackendCounters>(count_operators);
    case kByGlibcChunk: return counting_slots<kByGlibcChunk>(count_operators);
    case kByMimallocPage: return counting_slots<kByMimallocPage>(count_operators);
    case kBySizeQuery: break;
  }
  return counting_slots<kBySizeQuery>(count_operators);
}

}  // namespace memproxy::counting
