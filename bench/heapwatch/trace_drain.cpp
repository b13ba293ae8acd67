// memproxy-trace-drain PID
// Switches the trace ring of monitored process PID on and drains it as
// fast as it can until the process exits, as memproxyd does for
// `memproxyctl trace`, so that a benchmark can measure what tracing costs
// the process. Prints "on" once the ring is on, then at the end the records
// drained and the records the process dropped.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "memproxy/heap_reader.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s PID\n", argv[0]);
    return 2;
  }
  const int pid = std::atoi(argv[1]);
  std::string why;
  memproxy::heap::MappedAccount account = memproxy::heap::MappedAccount::of_process(pid, &why);
  if (!account) {
    std::fprintf(stderr, "%s: %s\n", argv[0], why.c_str());
    return 1;
  }
  memproxy::heap::TraceSection& ring = account.trace();
  // The ring stays on only while its lease holds: held before the first
  // drain and pushed on at every drain, as memproxyd does.
  constexpr int64_t kLeaseNs = 5'000'000'000;
  memproxy::heap::hold_trace_lease(ring, kLeaseNs, account.event_slots());
  std::printf("on\n");
  std::fflush(stdout);
  std::vector<memproxy::heap::TraceRecord> batch;
  batch.reserve(memproxy::heap::kTraceCapacity);
  uint64_t drained = 0;
  for (;;) {
    memproxy::heap::hold_trace_lease(ring, kLeaseNs, account.event_slots());
    batch.clear();
    size_t n = memproxy::heap::drain_trace(ring, &batch, memproxy::heap::kTraceCapacity);
    drained += n;
    if (n == 0) {
      if (::kill(pid, 0) != 0 && errno == ESRCH) break;
      ::usleep(200);
    }
  }
  std::printf("drained=%llu dropped=%llu\n", static_cast<unsigned long long>(drained),
              static_cast<unsigned long long>(__atomic_load_n(&ring.dropped, __ATOMIC_RELAXED)));
  return 0;
}
