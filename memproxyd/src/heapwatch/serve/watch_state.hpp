// The daemon's WatchState: what the query socket and the exporters see, on
// the event loop's thread. Running processes come from the registry, with
// the latest verdict the history keeper made of each; history older than
// the registry's recent samples, and processes that ended, come from the
// keeper's store.
//
// A store question goes to the keeper's worker and its answer comes back
// on the loop. It is bounded in time: after `store_patience` without an
// answer (the database is locked, the disk stalls) the caller is told the
// history is busy. When the store is not there (--no-history, or a database
// that could not be opened), or does not answer, a running process's
// history is its recent samples.
#ifndef MEMPROXYD_HEAPWATCH_WATCH_STATE_HPP
#define MEMPROXYD_HEAPWATCH_WATCH_STATE_HPP

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <string>

#include "heapwatch/analysis/daemon_verdict.hpp"
#include "heapwatch/analysis/process_view.hpp"
#include "heapwatch/intake/registry.hpp"
#include "heapwatch/store/history_keeper.hpp"
#include "memproxy/clock.hpp"

namespace memproxy::heapwatch {

// The window allocations_per_second and frees_per_second are measured over.
inline constexpr int64_t kRateWindowNs = 60'000'000'000;
// Within the client's own patience (memproxyctl waits 10 s).
inline constexpr std::chrono::milliseconds kStorePatience{5000};

class DaemonWatchState : public WatchState {
 public:
  // `keeper` may be nullptr: no history is kept.
  DaemonWatchState(boost::asio::io_context& loop, const Registry& registry, HistoryKeeper* keeper,
                   std::chrono::milliseconds store_patience = kStorePatience)
      : loop_(loop), registry_(registry), keeper_(keeper), store_patience_(store_patience) {}

  std::vector<ProcessView> views() const override;
  void history(const ProcessId& id, int64_t since_unix_ns, int64_t until_unix_ns, ReadingsDone done) const override;
  void known_processes(ProcessesDone done) const override;
  void kept_verdict(const ProcessId& id, VerdictDone done) const override;

  // A verdict pass's results; those of processes no longer watched are
  // ignored. Each change of a process's state (not judged, stable,
  // growing) is logged: "pid 4242 leaker: stable -> growing, +210 MiB/h".
  void set_verdicts(HistoryKeeper::Verdicts verdicts);
  // The process ended: its verdict goes with it; "pid 4242 leaker ended
  // while growing, +210 MiB/h" is logged when it was growing. Called
  // while the registry still holds the process.
  void forget(const ProcessId& id);
  // How a process that ended did (it may have ended while growing).
  void ended_how(const ProcessId& id, const std::string& how);
  // Processes an earlier daemon saw end while growing (from the history).
  void remember_ended_growing(std::vector<ProcessView> views);
  // Asks the keeper for them (nothing without one): the processes that
  // ended within kEndedGrowingForNs whose last kept verdict was growing, so
  // that leaks lists them for a day whatever restarts between. Without
  // ask_store's deadline: at start the store may take seconds to open. The
  // keeper outlives this state, or runs no continuation once it is gone.
  void recall_ended_growing();
  std::vector<ProcessView> ended_growing() const override;
  // The state of the latest verdict of a watched process (not_judged
  // without one).
  VerdictState verdict_state(const ProcessId& id) const;

 private:
  bool store_usable() const { return keeper_ != nullptr && keeper_->accepting(); }
  template <class T, class Read>
  void ask_store(Read read, std::function<void(Result<T>)> done) const;

  boost::asio::io_context& loop_;
  const Registry& registry_;
  HistoryKeeper* keeper_;
  std::chrono::milliseconds store_patience_;
  std::map<ProcessId, heap_query::Verdict> verdicts_;
  // Latest end first, at most kMaxEndedGrowing, none older than kEndedGrowingForNs.
  std::deque<ProcessView> ended_growing_;
  // Until the first verdict pass, the processes found running have their
  // verdict pending (ProcessView): a restarted daemon must not show a leak
  // it judges from the history a second later as not judged. A store that
  // gives no pass within kFirstPassPatience of the start ends the wait.
  bool first_pass_done_ = false;
  int64_t started_unix_ns_ = unix_now_ns();
};

// A host whose leaking processes end faster than that keeps the latest.
inline constexpr size_t kMaxEndedGrowing = 100;

inline constexpr int64_t kFirstPassPatience = 60'000'000'000;

// The call rates of the newest sample against the oldest one within
// kRateWindowNs before it, per second; 0 with fewer than two samples.
struct CallRates {
  double allocations_per_second = 0;
  double frees_per_second = 0;
};
CallRates call_rates(const std::deque<Reading>& recent);

}  // namespace memproxy::heapwatch

#endif
