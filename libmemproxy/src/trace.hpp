// The trace ring of a monitored process (TraceSection in the heap account):
// every call of the family, as one fixed-size record, while the daemon has
// the ring switched on. Producers are the process's threads; the daemon
// drains it.
//
// Invariants:
// - Off, a call pays one load and one predictable branch.
// - A record's position is reserved with a compare-and-swap against the
//   daemon's tail, so the ring is never overrun: when it is full the record
//   is dropped and counted, and the program never waits.
// - A record is published by writing its sequence (position + 1) last,
//   with release order; the daemon reads positions in order and stops at the
//   first not yet published.
// - The ring goes off by itself once the daemon's lease lapses (see
//   TraceSection): the clock is read only at every kTraceLeaseCheck-th
//   position and when the ring is full, never on the path of a call made
//   while the ring is off.
#ifndef MEMPROXY_TRACE_HPP
#define MEMPROXY_TRACE_HPP

#include <stdint.h>

#include "heap_account.hpp"
#include "memproxy/allocator_family.hpp"

namespace memproxy::trace {

void write(family::Member member, uint64_t pointer, uint64_t size, uint64_t result, void* return_address);

inline void note(family::Member member, uint64_t pointer, uint64_t size, uint64_t result, void* return_address) {
  if (__builtin_expect(__atomic_load_n(&account::g_account.trace->on, __ATOMIC_RELAXED) == 0, 1)) return;
  write(member, pointer, size, result, return_address);
}

}  // namespace memproxy::trace

#endif
