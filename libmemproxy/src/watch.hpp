// The branches a monitored call pays for sampling and the trace ring
// (sampling.hpp, trace.hpp), each computed without a branch and tested
// once, predicted false: a free tests "maybe sampled or ring on" together;
// an allocation's counting slot tests the ring's switch with its slot,
// before the backend's call, and counts down to its thread's next
// allocation event (a sample due or a batch to add), in one subtraction:
// by block sizes after the call, by the usable bytes; by backend counters
// before it, by the bytes asked for.
// Everything else (taking a sample, forgetting one, writing a trace
// record) is on the path those branches lead to.
//
// Invariants:
// - A quiet allocation has stored its slot's new countdown (and, batched,
//   its balance) and needs nothing more; otherwise they are untouched and
//   the caller does both halves in full (sampling::allocated,
//   trace::note), which test again what they need.
// - A quiet free touches neither the sample section nor the ring; otherwise
//   the caller runs sampling::freed and trace::note.
// - The trace switch is read on every call, so a ring switched on is
//   filled from the next call of every thread.
#ifndef MEMPROXY_WATCH_HPP
#define MEMPROXY_WATCH_HPP

#include <stdint.h>

#include "heap_account.hpp"
#include "sampling.hpp"

namespace memproxy::watch {

MP_CALL_STEP uint32_t trace_switch() { return __atomic_load_n(account::trace_switch_word(), __ATOMIC_RELAXED); }

// An allocation of `bytes` counted in `s`: true when it is neither due for
// a sample nor traced, after counting its bytes down.
MP_CALL_STEP bool quiet_allocation(heap::Slot* s, uint64_t bytes) {
  int64_t left = __atomic_load_n(&s->until_sample, __ATOMIC_RELAXED) - static_cast<int64_t>(bytes);
  uint32_t loud = static_cast<uint32_t>(left <= 0) | trace_switch();
  if (__builtin_expect(loud != 0, 0)) return false;
  __atomic_store_n(&s->until_sample, left, __ATOMIC_RELAXED);
  return true;
}

// Subtracts `bytes` from a word only this thread writes; true while it
// stays above 0. On x86-64 one subtraction from memory whose flags are the
// test, which a signal handler cannot split.
MP_CALL_STEP bool count_down(int64_t* word, uint64_t bytes) {
#if defined(__x86_64__)
  bool positive;
  __asm__ volatile("subq %2, %0" : "+m"(*word), "=@ccg"(positive) : "er"(bytes));
  return positive;
#else
  int64_t left = __atomic_load_n(word, __ATOMIC_RELAXED) - static_cast<int64_t>(bytes);
  __atomic_store_n(word, left, __ATOMIC_RELAXED);
  return left > 0;
#endif
}

// For an allocation that began with the ring off (its counting slot tested
// the switch before the backend's call, so that it need not keep the size
// asked across it for a trace record): counts its bytes down to the
// thread's next allocation event (Slot::until_event: its sample due, or
// kBatchBytes allocated since the last event). true while no event is due;
// otherwise the caller runs it (counting::allocation_event, or
// allocation_event_by_counters). A ring switched on during the call is
// filled from the next call.
MP_CALL_STEP bool before_event(heap::Slot* s, uint64_t bytes) { return count_down(&s->until_event, bytes); }

// A free of `bytes` on a counting slot's common path: counts them down to
// the thread's next free event; true while none is due. Otherwise the
// caller adds what the thread freed since the last one (kBatchBytes -
// until_free_event) to the batch (counting::free_event).
MP_CALL_STEP bool before_free_event(heap::Slot* s, uint64_t bytes) { return count_down(&s->until_free_event, bytes); }

// A free of `block`: true when the block is surely not sampled (its filter
// byte is 0) and the ring is off.
// (The switch is loaded first: GCC 12 then widens the filter byte once.)
MP_CALL_STEP bool quiet_free(const void* block) {
  const uint32_t on = trace_switch();
  const uint8_t maybe_sampled = __atomic_load_n(
      &account::g_account.samples->filter[sampling::filter_index(reinterpret_cast<uintptr_t>(block))],
      __ATOMIC_RELAXED);
  return __builtin_expect((on | maybe_sampled) == 0, 1);
}

}  // namespace memproxy::watch

#endif
