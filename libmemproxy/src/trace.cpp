#include "trace.hpp"

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "platform.hpp"
#include "sampling.hpp"

namespace memproxy::trace {

namespace {

// Switches the ring off if the daemon's lease has lapsed. The lease is read
// after an acquire load of `on`, so it is at least as new as the `on` this
// writer saw; a daemon that was only late turns the ring on again at its
// next drain.
void end_if_lease_lapsed(heap::TraceSection* t) {
  if (__atomic_load_n(&t->on, __ATOMIC_ACQUIRE) == 0) return;
  timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return;
  const int64_t now = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  if (now < __atomic_load_n(&t->lease_until_ns, __ATOMIC_RELAXED)) return;
  uint32_t on = 1;
  __atomic_compare_exchange_n(&t->on, &on, 0, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

}  // namespace

void write(family::Member member, uint64_t pointer, uint64_t size, uint64_t result, void* return_address) {
  heap::TraceSection* t = account::g_account.trace;
  if (size < __atomic_load_n(&t->min_size, __ATOMIC_RELAXED)) return;
  uint64_t position = __atomic_load_n(&t->head, __ATOMIC_RELAXED);
  do {
    if (position - __atomic_load_n(&t->tail, __ATOMIC_ACQUIRE) >= heap::kTraceCapacity) {
      __atomic_fetch_add(&t->dropped, 1, __ATOMIC_RELAXED);
      end_if_lease_lapsed(t);
      return;
    }
  } while (!__atomic_compare_exchange_n(&t->head, &position, position + 1, true, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED));
  heap::TraceRecord& r = t->records[position % heap::kTraceCapacity];
  r.unix_ns = platform::now_unix_ns();
  r.pointer = pointer;
  r.size = size;
  r.result = result;
  r.caller = reinterpret_cast<uintptr_t>(return_address);
  r.thread = static_cast<uint32_t>(syscall(SYS_gettid));
  r.member = member;
  __atomic_store_n(&r.sequence, position + 1, __ATOMIC_RELEASE);
  // After publishing: a reserved position is always written.
  if ((position & (heap::kTraceLeaseCheck - 1)) == 0) end_if_lease_lapsed(t);
}

}  // namespace memproxy::trace
