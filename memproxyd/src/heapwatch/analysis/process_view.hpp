// What the daemon shows of one watched process: to memproxyctl (top, leaks,
// history) through the query socket, and to Prometheus. A plain copy,
// independent of how the sampler, the history store and the verdict keep
// their own data.
#ifndef MEMPROXYD_HEAPWATCH_PROCESS_VIEW_HPP
#define MEMPROXYD_HEAPWATCH_PROCESS_VIEW_HPP

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "heapwatch/intake/result.hpp"
#include "heapwatch/intake/sample.hpp"

namespace memproxy::heapwatch {

// The leak verdict in words and numbers.
struct VerdictSummary {
  std::string trend = "not enough data";  // "growing", "stable" or "not enough data"
  std::string finding;                    // what decided it ("growing", "plateau", "no trend", ...)
  double slope_bytes_per_hour = 0;        // robust growth rate of live bytes (Theil-Sen)
  double confidence = 0;                  // 1 - p of the trend test (Mann-Kendall), 0..1
  double mann_kendall_z = 0;
  int64_t observed_s = 0;                 // how long the process has been watched
  int64_t analysed_s = 0;                 // the span the verdict judged
  uint64_t live_at_start_bytes = 0;       // low-water mark at the start of that span
  uint64_t live_now_bytes = 0;            // low-water mark at its end
  bool fragmentation_growing = false;     // RSS minus live bytes grows (reported, never a leak)
  double fragmentation_slope_bytes_per_hour = 0;
  // When the process has history enough for its first verdict
  // (first_verdict_unix_ns()), and the seconds from the view until then (0
  // once it is due); both 0 when no verdict will be made (no history kept).
  int64_t first_verdict_unix_ns = 0;
  int64_t first_verdict_in_s = 0;
  // When the process runs out of what it may use at its present growth
  // (forecast_exhaustion), and the seconds from the view until then; both 0
  // when nothing is forecast. The limit and where it comes from (memory_limit).
  int64_t exhaustion_unix_ns = 0;
  int64_t exhaustion_in_s = 0;
  uint64_t memory_limit_bytes = 0;
  std::string memory_limit_source;
};

struct ProcessView {
  WatchedProcess process;
  Sample latest;                       // the newest sample
  double allocations_per_second = 0;   // over the last minute
  double frees_per_second = 0;
  VerdictSummary verdict;
  // A daemon just started (or restarted) has not yet made its first verdict
  // pass over this process: its verdict is unknown here, though the history
  // may hold one. Not "not judged": the exporters leave its verdict out.
  bool verdict_pending = false;
};

// What the query server and the exporters read; the daemon implements it
// over its registry, history store and verdicts. Everything is called on
// the daemon's loop, and the views are answered at once. What may need the
// history store answers through a callback, which runs on the loop too,
// exactly once while the daemon runs: at once when the answer is at hand,
// else later, so the loop never waits on the disk.
class WatchState {
 public:
  using SamplesDone = std::function<void(Result<std::vector<Sample>>)>;
  using ProcessesDone = std::function<void(Result<std::vector<WatchedProcess>>)>;

  virtual ~WatchState() = default;
  virtual std::vector<ProcessView> views() const = 0;
  // Samples of one process (running or ended, while its history is kept)
  // between two times, oldest first: one-second samples where they are
  // kept, one representative per one-minute summary before (its mean).
  virtual void history(const ProcessId& id, int64_t since_unix_ns, int64_t until_unix_ns, SamplesDone done) const = 0;
  // Processes whose history is kept, running or not, newest first.
  virtual void known_processes(ProcessesDone done) const = 0;
};

}  // namespace memproxy::heapwatch

#endif
