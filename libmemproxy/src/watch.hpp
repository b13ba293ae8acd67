// The branches a monitored call pays for sampling and the trace ring
// (sampling.hpp, trace.hpp), each computed without a branch and tested
// once, predicted false: a free tests "maybe sampled or ring on" together;
// an allocation's counting slot tests the ring's switch with its slot,
// before the backend's call, and "sample due or batch to add" after it.
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

MP_CALL_STEP uint32_t trace_switch() { return __atomic_load_n(&account::g_account.trace->on, __ATOMIC_RELAXED); }

// An allocation of `bytes` counted in `s`: true when it is neither due for
// a sample nor traced, after counting its bytes down.
MP_CALL_STEP bool quiet_allocation(heap::Slot* s, uint64_t bytes) {
  int64_t left = __atomic_load_n(&s->until_sample, __ATOMIC_RELAXED) - static_cast<int64_t>(bytes);
  uint32_t loud = static_cast<uint32_t>(left <= 0) | trace_switch();
  if (__builtin_expect(loud != 0, 0)) return false;
  __atomic_store_n(&s->until_sample, left, __ATOMIC_RELAXED);
  return true;
}

// For an allocation that began with the ring off (its counting slot tested
// the switch before the backend's call, so that it need not keep the size
// asked across it for a trace record): true when no sample is due and,
// with the slot's batch (account::batch), the thread's unbatched balance
// stays under kBatchBytes, after storing both; otherwise neither is stored
// and the caller does the batch and sampling::allocated in full. (An
// allocation only raises the balance, which is above -kBatchBytes.) A ring
// switched on during the call is filled from the next call.
MP_CALL_STEP bool quiet_batched_allocation(heap::Slot* s, uint64_t bytes) {
  int64_t left = __atomic_load_n(&s->until_sample, __ATOMIC_RELAXED) - static_cast<int64_t>(bytes);
  int64_t balance = __atomic_load_n(&s->unbatched, __ATOMIC_RELAXED) + static_cast<int64_t>(bytes);
  uint32_t loud = static_cast<uint32_t>(left <= 0) | static_cast<uint32_t>(balance >= heap::kBatchBytes);
  if (__builtin_expect(loud != 0, 0)) return false;
  __atomic_store_n(&s->until_sample, left, __ATOMIC_RELAXED);
  __atomic_store_n(&s->unbatched, balance, __ATOMIC_RELAXED);
  return true;
}

// A free of `block`: true when the block is surely not sampled (its filter
// byte is 0) and the ring is off.
MP_CALL_STEP bool quiet_free(const void* block) {
  uint32_t maybe_sampled = __atomic_load_n(
      &account::g_account.samples->filter[sampling::filter_index(reinterpret_cast<uintptr_t>(block))],
      __ATOMIC_RELAXED);
  return __builtin_expect((maybe_sampled | trace_switch()) == 0, 1);
}

}  // namespace memproxy::watch

#endif
