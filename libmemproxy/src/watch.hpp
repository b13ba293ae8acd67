// The branches a monitored call pays for sampling and the trace ring
// (sampling.hpp, trace.hpp), each computed without a branch and tested
// once, predicted false. A free tests "maybe sampled", then counts down to
// its thread's next free event; the ring on is an event due
// (account::force_events, force_sized_events). By backend counters an
// allocation counts the bytes asked for down to its next event before the
// call. By block sizes one sized before its call (mimalloc's small
// classes) counts its usable bytes down to its next event (a sample due or
// a batch to add) before it too; one sized after its call tests the ring's
// switch before it, and counts its bytes down after it, in one subtraction.
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
// - A ring switched on is filled from the next call of every thread whose
//   slot the reader that switched it on has forced (memproxy/heap_reader.hpp:
//   it forces every slot as it switches the ring on, and again at each
//   renewal, in case a thread's own store raced its write), and of every
//   thread once it has seen the ring on (its events and full paths force
//   its own slot while the ring is on); the calls that read the switch
//   themselves from their next call.
#ifndef MEMPROXY_WATCH_HPP
#define MEMPROXY_WATCH_HPP

#include <stdint.h>

#include "heap_account.hpp"
#include "sampling.hpp"

namespace memproxy::watch {

MP_CALL_STEP uint32_t trace_switch() { return __atomic_load_n(account::trace_switch_word(), __ATOMIC_RELAXED); }

// Whether the ring is on, for a branch: on x86-64 one compare with memory
// (a word the library's link fixed, account::trace_switch_word).
MP_CALL_STEP bool ring_on() {
#if defined(__x86_64__)
  bool on;
  __asm__("cmpl $0, %1" : "=@ccnz"(on) : "m"(*account::trace_switch_word()));
  return on;
#else
  return trace_switch() != 0;
#endif
}

// An allocation of `bytes` counted in `s`: true when it is neither due for
// a sample nor traced, after counting its bytes down.
MP_CALL_STEP bool quiet_allocation(heap::Slot* s, uint64_t bytes) {
  int64_t left = __atomic_load_n(&s->until_sample, __ATOMIC_RELAXED) - static_cast<int64_t>(bytes);
  uint32_t loud = static_cast<uint32_t>(left <= 0) | trace_switch();
  if (__builtin_expect(loud != 0, 0)) return false;
  __atomic_store_n(&s->until_sample, left, __ATOMIC_RELAXED);
  return true;
}

// How count_down compares the word with the bytes it subtracts.
enum class Compare { kSigned, kUnsigned };

// Subtracts `bytes` from a word only this thread writes; true while the
// word was above them (compared as `compare` says), so that it stays above
// 0. On x86-64 one subtraction from memory whose flags are the test, which
// a signal handler cannot split.
template <Compare compare = Compare::kSigned>
MP_CALL_STEP bool count_down(int64_t* word, uint64_t bytes) {
#if defined(__x86_64__)
  bool above;
  if constexpr (compare == Compare::kSigned) {
    __asm__ volatile("subq %2, %0" : "+m"(*word), "=@ccg"(above) : "er"(bytes));
  } else {
    __asm__ volatile("subq %2, %0" : "+m"(*word), "=@cca"(above) : "er"(bytes));
  }
  return above;
#else
  const int64_t before = __atomic_load_n(word, __ATOMIC_RELAXED);
  __atomic_store_n(word, static_cast<int64_t>(static_cast<uint64_t>(before) - bytes), __ATOMIC_RELAXED);
  if constexpr (compare == Compare::kSigned) return before > static_cast<int64_t>(bytes);
  return static_cast<uint64_t>(before) > bytes;
#endif
}

// By block sizes: counts an allocation's bytes down to the thread's next
// allocation event (Slot::until_event: its sample due, or kBatchBytes
// allocated since the last event, or forced while the ring is on,
// account::force_sized_events). true while no event is due; otherwise the
// caller runs it (counting::allocation_event), which traces the call if the
// ring is on. (An allocation sized after its call tested the switch before
// it instead, so that it need not keep the size asked across the call for a
// trace record: a ring switched on during the call is filled from the next.)
MP_CALL_STEP bool before_event(heap::Slot* s, uint64_t bytes) { return count_down(&s->until_event, bytes); }

// By backend counters, before an allocation's call: counts the `asked`
// bytes down to the thread's next allocation event; true while none is
// due. Compared unsigned, so a due word of 0 (account::force_events) makes
// every call an event, and a request of 2^63 bytes or more (which fails)
// is one too, rather than throwing the countdown far ahead.
MP_CALL_STEP bool before_asked_event(heap::Slot* s, uint64_t asked) {
  return count_down<Compare::kUnsigned>(&s->until_event, asked);
}

// A free of `bytes` on a counting slot's common path: counts them down to
// the thread's next free event; true while none is due. Otherwise the
// caller adds what the thread freed since the last one (kBatchBytes -
// until_free_event) to the batch (counting::free_event).
MP_CALL_STEP bool before_free_event(heap::Slot* s, uint64_t bytes) { return count_down(&s->until_free_event, bytes); }

// A free of `block`: true when the block is surely not sampled (its filter
// byte is 0).
// On x86-64 one compare with memory, which GCC 12 makes a load and a test
// of an atomic byte.
MP_CALL_STEP bool unsampled(const void* block) {
  const uint8_t* byte = sampling::filter_byte(reinterpret_cast<uintptr_t>(block));
#if defined(__x86_64__)
  bool zero;
  __asm__("cmpb $0, %1" : "=@ccz"(zero) : "m"(*byte));
  return __builtin_expect(zero, 1);
#else
  return __builtin_expect(__atomic_load_n(byte, __ATOMIC_RELAXED) == 0, 1);
#endif
}

// A free of `block`: true when the block is surely not sampled and the
// ring is off.
// (The switch is loaded first: GCC 12 then widens the filter byte once.)
MP_CALL_STEP bool quiet_free(const void* block) {
  const uint32_t on = trace_switch();
  const uint8_t maybe_sampled =
      __atomic_load_n(sampling::filter_byte(reinterpret_cast<uintptr_t>(block)), __ATOMIC_RELAXED);
  return __builtin_expect((on | maybe_sampled) == 0, 1);
}

}  // namespace memproxy::watch

#endif
