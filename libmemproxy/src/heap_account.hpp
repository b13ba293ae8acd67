// The process side of the heap account (common/include/memproxy/heap_account.h):
// made once by the decision of a monitored process, written by the counting
// slots (counting.cpp), read by memproxyd.
//
// Invariants:
// - Only monitored processes have an account: g_account is null elsewhere,
//   and nothing here runs.
// - A thread finds its slot through one initial-exec TLS word (t_slot; the
//   library is preloaded, so its TLS is in the static block every thread
//   gets, initialised to null whether the thread began before the account
//   existed or after). Null: the thread's first monitored call claims a
//   slot (enter_thread): an owner word that is 0 or handed back, taken with a CAS for the
//   thread pointer, after which that thread alone writes the slot, with
//   relaxed atomic loads and stores (no read-modify-write, no shared cache
//   line). A thread that finds no slot within kProbe of its home uses the
//   overflow slot with atomic adds. The counting slots' common paths find
//   the slot through a second word, t_inline, set only while its calls
//   can take them, or through a third, t_common, which is t_inline or
//   else a gate that sends the call on.
// - A thread claims once: while it claims, t_slot is the overflow slot,
//   where a signal handler's call counts.
// - In a process without an exit key (it used up its pthread keys before
//   the decision) no slot is handed back: a new thread on a dead thread's
//   stack finds its thread pointer in that thread's slot and takes the
//   slot over as it stands. Such a process never follows backend counters
//   (follow_backend_counters): a dead thread's could not be folded in.
// - A signal handler that allocates (malloc is not async-signal-safe, but
//   programs do) while its thread is between the load and the store of a
//   slot word may have that one update overwritten by the interrupted
//   store: each word stays whole, the count can miss the handler's call.
//   (The call and byte counts are one add to memory on x86-64, bump, and
//   miss nothing.)
// - At thread exit (a pthread key's destructor) the slot is handed back:
//   t_inline is cleared and t_slot becomes the overflow slot first (so the
//   thread's later destructors and signal handlers count there, with atomic
//   adds), then its backend counters (addresses in the dying thread's TLS)
//   are brought up to date, its balance is folded into live_batched, what
//   the counters gained since the thread attached is added to its byte
//   counts, and they are detached (inside an odd `detaching`, so a reader
//   never counts it twice), and the owner word becomes kSlotHandedBack last
//   (release order; the next owner's claim acquires). A slot's counts only
//   grow and stay in the slot, which the daemon keeps summing (its owner is
//   not 0): a later thread that takes it over adds to them, so nothing is
//   lost or counted twice.
// - After fork() the child makes an account of its own (the parent's
//   region stays the parent's) and hands it over: fork gives the child its
//   own accounts; exec decides anew. The forking thread's t_slot and
//   t_inline are reset before the parent's region leaves the child's
//   address space.
// - The process holds no descriptor of memproxy's once open() or the fork
//   handler returns: the region's memfd and the connection are taken high
//   (platform::high_descriptor), close-on-exec, and closed after the
//   hand-over. The mapping keeps the account alive; the daemon learns that
//   the process ended from the process itself (its pidfd), not from a
//   descriptor the process would have to keep.
#ifndef MEMPROXY_HEAP_ACCOUNT_HPP
#define MEMPROXY_HEAP_ACCOUNT_HPP

#include <stddef.h>
#include <stdint.h>

#include "call_step.hpp"
#include "memproxy/heap_account.h"
#include "platform.hpp"
#include "state.hpp"

// Written by the decision and after fork, read by every monitored call.
#define MP_ACCOUNT_STATE __attribute__((section(".data.read_mostly"), visibility("hidden")))

namespace memproxy::account {

struct Account {
  heap::Header* header;  // null: the process is not monitored
  heap::Slot* slots;
  heap::Slot* overflow;  // &header->overflow
  uint32_t mask;         // slot_count - 1
  // The backend keeps exact per-thread byte counts (jemalloc's
  // thread.allocated/deallocated, in usable bytes) in its static TLS: the
  // slots copy those instead of asking the size of every block, which costs
  // more than the allocation itself. Where they lie, as offsets from the
  // thread pointer, the same for every thread (static TLS); both 0: sizes
  // come from the block sizes.
  intptr_t backend_offset[2];
  heap::SampleSection* samples;
  heap::TraceSection* trace;
  // Sampling's filter of live samples' addresses (sampling.hpp), which
  // every counted free reads: private memory, not the region's.
  uint8_t* filter;
};
extern Account g_account MP_ACCOUNT_STATE;

// The trace ring's switch (TraceSection::on) where the counting slots read
// it on every call. On x86-64 a page of the library's own zeroed memory
// (state.hpp: a section of its own after .bss, never written) is replaced,
// once the account is made, by a read-only second mapping of the region's
// page that begins with the trace section: the switch then lies at an
// address fixed when the library was linked, read without first loading
// where the section is. The daemon and the ring's writers write it through
// the region's mapping, the same shared page. Elsewhere (i386's linker
// would place such a section before .bss; other machines' pages may be
// larger than the account's 4 KiB alignment) it is read through
// g_account.trace.
#if defined(__x86_64__)
#define MP_TRACE_SWITCH_ALIAS 1
inline constexpr size_t kTraceSwitchPage = 4096;
extern unsigned char g_trace_switch_page[kTraceSwitchPage] MP_TRACE_SWITCH_PAGE;
MP_CALL_STEP const uint32_t* trace_switch_word() {
  return reinterpret_cast<const uint32_t*>(g_trace_switch_page + offsetof(heap::TraceSection, on));
}
#else
#define MP_TRACE_SWITCH_ALIAS 0
MP_CALL_STEP const uint32_t* trace_switch_word() { return &g_account.trace->on; }
#endif

// Makes the account and hands it to the daemon listening at `socket_path`
// (if none listens, a daemon started later finds it by its mapping's name).
// false, with `why` set, when no account can be made: the process runs
// unmonitored.
bool open(const char* socket_path, const char** why);

// Whether the account was sent to a listening daemon at open() (else a
// daemon started later finds it).
bool handed_over();

using Mallctl = int (*)(const char*, void*, size_t*, void*, size_t);
// Has the slots follow the thread.allocated/deallocated counters of the
// backend that defines `mallctl` (jemalloc) when it keeps them in static
// TLS and the process has its exit key (open()); false, and sizes are
// asked, otherwise. Called by the decision, after open(), with g_chosen
// the backend's.
bool follow_backend_counters(Mallctl mallctl);

// This thread's slot; null until its first monitored call, the overflow
// slot once it has been handed back at thread exit. Hidden, so it is one
// %fs-relative load.
extern __thread heap::Slot* t_slot MP_THREAD_STATE;

// This thread's slot while its calls take the counting slots' common path,
// else null: t_slot once claimed, unless that is the overflow slot, and
// with backend counters only once the slot follows them (attach). Null
// from the start of the thread's hand-back. So a common path that reads it
// (an allocation by backend counters) tests only whether it is set; the
// others read t_common, and test nothing.
extern __thread heap::Slot* t_inline MP_THREAD_STATE;

// The slot the common paths of a free, and by block sizes of an
// allocation, find: t_inline's, or instead of null a gate whose due words
// send the call to its event, without a test of its own:
// - by backend counters (a free only reads the slot it finds before that
//   test), its deallocated counter (0) has always reached its due word (0);
// - by block sizes (the paths count into the slot they find before that
//   test), its due words lie far below 0 (kGateDue), where what threads
//   subtract meanwhile never brings them near; the event, finding the
//   gate, counts the call on the full path's terms, and resets them.
// Threads share the gate: what they write in it is never read.
extern heap::Slot g_gate MP_STATE;
extern __thread heap::Slot* t_common MP_THREAD_STATE;
inline constexpr int64_t kGateDue = -heap::kForceBytes;
MP_CALL_STEP bool is_gate(const heap::Slot* s) { return s == &g_gate; }
// By block sizes, at an event that found the gate.
inline void reset_gate() {
  __atomic_store_n(&g_gate.until_event, kGateDue, __ATOMIC_RELAXED);
  __atomic_store_n(&g_gate.until_free_event, kGateDue, __ATOMIC_RELAXED);
}

// Counting by block sizes (after open(), before the counting slots are
// installed): arms the gate for it, and has the account say so, so that
// a reader forces its slots' events too (heap_account.h,
// Header::sized_events). Also in a fork child's account.
void count_by_sizes();

// Claims a slot for this thread and arranges its hand-back at thread exit.
heap::Slot* enter_thread();

MP_CALL_STEP heap::Slot* slot_of_this_thread() {
  heap::Slot* s = t_slot;
  if (__builtin_expect(s != nullptr, 1)) return s;
  return enter_thread();
}

void add_to_batch(int64_t balance);

// Makes this thread's slot follow the backend's counters from their values
// now (after a call counted by block sizes).
void attach();

// Adds to a word only this thread writes (the daemon reads it). On x86-64
// one add to memory: a signal handler cannot come between its load and its
// store, and the 8-byte aligned store is whole for any reader. Elsewhere a
// relaxed load and store.
MP_CALL_STEP void bump(uint64_t* word, uint64_t by) {
#if defined(__x86_64__)
  __asm__ volatile("addq %1, %0" : "+m"(*word) : "er"(by));
#else
  __atomic_store_n(word, __atomic_load_n(word, __ATOMIC_RELAXED) + by, __ATOMIC_RELAXED);
#endif
}

// By block sizes: what this thread allocated on the common path since its
// last allocation event, and freed there since its last free event, not
// yet in the batch (heap_account.h: until_event, event_span,
// until_free_event).
// A due word a reader or the thread forced (force_sized_events) holds
// what it counted down less kForceBytes, which these add back.
inline int64_t unforced(int64_t due) { return due < -heap::kForceBytes / 2 ? due + heap::kForceBytes : due; }
inline int64_t allocated_since_event(const heap::Slot* s) {
  return __atomic_load_n(&s->event_span, __ATOMIC_RELAXED) - unforced(__atomic_load_n(&s->until_event, __ATOMIC_RELAXED));
}
inline int64_t freed_since_event(const heap::Slot* s) {
  return heap::kBatchBytes - unforced(__atomic_load_n(&s->until_free_event, __ATOMIC_RELAXED));
}
// By backend counters: the bytes asked for since the thread's last
// allocation event. Its due word is never forced by kForceBytes (a reader
// writes 0 there, forced_from_outside), and it may lie anywhere below 0
// after a request of 2^61 bytes or more, which fails: taken as it is.
inline int64_t asked_since_event(const heap::Slot* s) {
  return __atomic_load_n(&s->event_span, __ATOMIC_RELAXED) - __atomic_load_n(&s->until_event, __ATOMIC_RELAXED);
}
// By block sizes, while the trace ring is on: makes this thread's next
// allocation and free events, as a reader does (heap_account.h), without
// losing what either due word counted down. A word forced already is left.
inline void force_sized_events(heap::Slot* s) {
  int64_t* due[2] = {&s->until_event, &s->until_free_event};
  for (int64_t* word : due) {
    const int64_t v = __atomic_load_n(word, __ATOMIC_RELAXED);
    if (v >= -heap::kForceBytes / 2) __atomic_store_n(word, v - heap::kForceBytes, __ATOMIC_RELAXED);
  }
}

// Following backend counters (an attached slot), the batch follows the
// counters through two words (heap_account.h): the allocated counter's
// value at the thread's last allocation event (unbatched) and the
// deallocated counter's at its last free event (backend_seen[1], which is
// stored only then). What a counter gained since is not yet in the batch.
// Allocation events are counted down in the bytes asked for (until_event,
// event_span, as by block sizes), so an allocation's common path tests them
// before the backend's call; a free's compares the deallocated counter as it stood before its
// call with the value at which its next event is due (until_free_event,
// kBatchBytes after the last one), so its event comes one free late.
// Neither path has anything to do after the backend's call, which it makes
// as its last step, nor stores what the counters say: the reader reads them
// in the process (memproxy/heap_reader.hpp), and the events and the full
// path store them for a reader that cannot. Nor does either read the trace
// ring's switch: while the ring is on, both due words are 0 (force_events),
// so every call takes its events, which look at the switch.
// (unbatched is the balance by block sizes until the slot attaches and
// after it detaches: both happen while the thread counts in the overflow
// slot, so no call of its own can find the word meaning the other thing.
// The due word is loaded plainly, so the free's test is one compare with
// memory: only this thread, its signal handlers included, and a reader
// writing 0 (force_events) write it.)
MP_CALL_STEP uint64_t* allocations_batched_at(heap::Slot* s) { return reinterpret_cast<uint64_t*>(&s->unbatched); }
MP_CALL_STEP uint64_t* free_event_due_at(heap::Slot* s) { return reinterpret_cast<uint64_t*>(&s->until_free_event); }
// Whether the deallocated counter, now `now`, has reached its free event.
MP_CALL_STEP bool free_event_due(heap::Slot* s, uint64_t now) { return now >= *free_event_due_at(s); }
// What a counter gained from `before` to `now`; a counter below (none
// should be: they only grow) counts from 0.
inline uint64_t counter_gain(uint64_t before, uint64_t now) { return now >= before ? now - before : now; }
// What counter `which`, now `now`, gained since the batch last took it.
inline uint64_t unbatched_gain(heap::Slot* s, int which, uint64_t now) {
  const uint64_t since = which == 0 ? __atomic_load_n(allocations_batched_at(s), __ATOMIC_RELAXED)
                                    : __atomic_load_n(&s->backend_seen[1], __ATOMIC_RELAXED);
  return counter_gain(since, now);
}
// The batch has counter `which` up to `now`; a free's next event is due
// kBatchBytes later.
inline void batched_up_to(heap::Slot* s, int which, uint64_t now) {
  if (which == 0) {
    __atomic_store_n(allocations_batched_at(s), now, __ATOMIC_RELAXED);
  } else {
    __atomic_store_n(&s->backend_seen[1], now, __ATOMIC_RELAXED);
    __atomic_store_n(free_event_due_at(s), now + static_cast<uint64_t>(heap::kBatchBytes), __ATOMIC_RELAXED);
  }
}
// Makes this thread's next allocation and next free (by backend counters)
// events, with nothing counted down since: while the trace ring is on,
// every call's is, so every call is traced (the common path does not look
// at the switch). A reader switching the ring on writes the two due words
// only (heap_account.h), so a thread's first event after that finds
// event_span not 0 (forced_from_outside).
inline void force_events(heap::Slot* s) {
  __atomic_store_n(&s->event_span, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&s->until_event, 0, __ATOMIC_RELAXED);
  __atomic_store_n(free_event_due_at(s), 0, __ATOMIC_RELAXED);
}
// At an allocation event whose call asked `asked` bytes: whether a reader
// forced it (until_event was 0 before the call while event_span was not),
// so that the bytes asked since the last event are unknown. Events and
// the thread's own forcing set both words; attach and hand-back, both 0.
inline bool forced_from_outside(const heap::Slot* s, uint64_t asked) {
  const uint64_t before = static_cast<uint64_t>(__atomic_load_n(&s->until_event, __ATOMIC_RELAXED)) + asked;
  return before == 0 && __atomic_load_n(&s->event_span, __ATOMIC_RELAXED) != 0;
}
// The value of this thread's backend counter `which` now.
MP_CALL_STEP uint64_t backend_now(const heap::Slot* s, int which) {
  return *reinterpret_cast<const uint64_t*>(static_cast<uintptr_t>(s->backend_counter[which]));
}

// One call of `counter` that handed out (`allocated`) and took back (`freed`)
// usable bytes.
MP_CALL_STEP void batch(heap::Slot* s, int64_t change) {
  int64_t balance = __atomic_load_n(&s->unbatched, __ATOMIC_RELAXED) + change;
  if (__builtin_expect(balance >= heap::kBatchBytes || balance <= -heap::kBatchBytes, 0)) {
    add_to_batch(balance);
    balance = 0;
  }
  __atomic_store_n(&s->unbatched, balance, __ATOMIC_RELAXED);
}

// Returns the slot the call was counted in (the overflow slot included).
MP_CALL_STEP heap::Slot* count(heap::Counter counter, uint64_t allocated, uint64_t freed) {
  heap::Slot* s = slot_of_this_thread();
  if (__builtin_expect(s == g_account.overflow, 0)) {
    __atomic_fetch_add(&s->calls[counter], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&s->bytes_allocated, allocated, __ATOMIC_RELAXED);
    __atomic_fetch_add(&s->bytes_freed, freed, __ATOMIC_RELAXED);
    __atomic_fetch_add(&g_account.header->overflow_calls, 1, __ATOMIC_RELAXED);
    add_to_batch(static_cast<int64_t>(allocated) - static_cast<int64_t>(freed));
    return s;
  }
  // A byte count known to be 0 where this is inlined is not written; any
  // other is added without a test (adding 0 costs less than a branch).
  bump(&s->calls[counter], 1);
  if (!__builtin_constant_p(allocated) || allocated != 0) bump(&s->bytes_allocated, allocated);
  if (!__builtin_constant_p(freed) || freed != 0) bump(&s->bytes_freed, freed);
  batch(s, static_cast<int64_t>(allocated) - static_cast<int64_t>(freed));
  return s;
}

// With backend counters: whether the slot follows the backend's counters;
// false when its calls must be counted by block sizes (the thread has not
// attached yet, or it is in the overflow slot, which never attaches).
MP_CALL_STEP bool follows_backend(const heap::Slot* s) {
  return __atomic_load_n(&s->backend_counter[0], __ATOMIC_RELAXED) != 0;
}

// Counter `which` as this thread sees it now, stored for the reader
// (backend_seen) and returned. A slot is detached from a dead thread's
// counters when it is handed back, so a counter read here is always this
// thread's.
MP_CALL_STEP uint64_t see(heap::Slot* s, int which) {
  const uint64_t now = backend_now(s, which);
  __atomic_store_n(&s->backend_seen[which], now, __ATOMIC_RELAXED);
  return now;
}

// Which of the backend's counters a call can move: an allocation only the
// thread's allocated bytes, a free only its deallocated bytes, a resize
// both. A counter a call cannot move needs no reading: what it gained
// elsewhere is picked up by the next call that reads it (they only grow).
enum Moves : int { kMovesIn = 1, kMovesOut = 2, kMovesBoth = 3 };

}  // namespace memproxy::account

#endif
