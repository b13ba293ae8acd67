// What the daemon shows of one watched process: to memproxyctl (top, leaks,
// history) through the query socket, and to Prometheus. Built in the wire
// types memproxyctl reads, so the query server sends it as it is.
#ifndef MEMPROXYD_HEAPWATCH_PROCESS_VIEW_HPP
#define MEMPROXYD_HEAPWATCH_PROCESS_VIEW_HPP

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "heapwatch/intake/result.hpp"
#include "heapwatch/intake/watched_process.hpp"
#include "memproxy/clock.hpp"
#include "memproxy/heap_query.hpp"

namespace memproxy::heapwatch {

// The view as memproxyctl reads it, and what only the daemon needs of it.
struct ProcessView : heap_query::View {
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
  using ReadingsDone = std::function<void(Result<std::vector<Reading>>)>;
  using ProcessesDone = std::function<void(Result<std::vector<WatchedProcess>>)>;
  using VerdictDone = std::function<void(Result<std::optional<heap_query::Verdict>>)>;

  virtual ~WatchState() = default;
  virtual std::vector<ProcessView> views() const = 0;
  // Samples of one process (running or ended, while its history is kept)
  // between two times, oldest first: one-second samples where they are
  // kept, one representative per one-minute summary before (its mean).
  virtual void history(const ProcessId& id, int64_t since_unix_ns, int64_t until_unix_ns, ReadingsDone done) const = 0;
  // Processes whose history is kept, running or not, newest first.
  virtual void known_processes(ProcessesDone done) const = 0;
  // The last verdict kept of a process: what it was judged before it ended,
  // or before the daemon restarted. None when it was never judged, and from
  // a state that keeps no history.
  virtual void kept_verdict(const ProcessId& id, VerdictDone done) const {
    (void)id;
    done(std::optional<heap_query::Verdict>{});
  }
  // Processes that ended while their verdict was growing, recently (within
  // kEndedGrowingForNs), the latest end first; their views carry the end
  // and the last verdict.
  virtual std::vector<ProcessView> ended_growing() const { return {}; }
};

// How long `leaks` lists a process that ended while growing.
inline constexpr int64_t kEndedGrowingForNs = int64_t{24} * 3600 * kNsPerSecond;

}  // namespace memproxy::heapwatch

#endif
