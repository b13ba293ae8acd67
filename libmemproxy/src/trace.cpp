#include "trace.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include "platform.hpp"
#include "sampling.hpp"

namespace memproxy::trace {

void write(family::Member member, uint64_t pointer, uint64_t size, uint64_t result, void* return_address) {
  heap::TraceSection* t = account::g_account.trace;
  if (size < __atomic_load_n(&t->min_size, __ATOMIC_RELAXED)) return;
  uint64_t position = __atomic_load_n(&t->head, __ATOMIC_RELAXED);
  do {
    if (position - __atomic_load_n(&t->tail, __ATOMIC_ACQUIRE) >= heap::kTraceCapacity) {
      __atomic_fetch_add(&t->dropped, 1, __ATOMIC_RELAXED);
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
}

}  // namespace memproxy::trace
