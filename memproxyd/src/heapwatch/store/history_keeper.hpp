// The heap watch's history, kept on a thread of its own so that the
// daemon's loop never waits on SQLite. The worker owns the one HistoryStore
// (opened, used and closed on that thread): it records each sampling tick,
// marks the processes that ended, runs the store's maintenance once a minute
// and the leak verdict of every running process once per verdict interval,
// and runs the store queries the loop hands it.
//
// The loop talks to the worker through one bounded queue. Posting takes a
// mutex that the worker holds only to take a task, never while it works, so
// the loop never waits for the disk. When the worker falls behind (a slow
// disk, the database locked by another program), what would overflow the
// queue is dropped and counted: ticks beyond max_pending_ticks or
// max_pending_observations, ends beyond max_pending_ends; queries beyond
// max_pending_queries are refused (their caller answers at once). Ticks queued behind one another
// are recorded in one transaction, which is how a worker catches up.
//
// Everything the worker has for the loop is posted on the loop's
// io_context: verdicts, changes of its health, log lines (the daemon's log
// sinks are single-threaded) and the continuations of queries. None runs
// once the keeper is destroyed. The destructor (on the loop's thread)
// records what is still queued for at most stop_deadline, then closes the
// store.
#ifndef MEMPROXYD_HEAPWATCH_HISTORY_KEEPER_HPP
#define MEMPROXYD_HEAPWATCH_HISTORY_KEEPER_HPP

#include <boost/asio/io_context.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "heapwatch/analysis/process_view.hpp"
#include "heapwatch/analysis/exhaustion.hpp"
#include "heapwatch/analysis/verdict.hpp"
#include "heapwatch/store/history_store.hpp"

namespace memproxy::heapwatch {

struct HistoryKeeperOptions {
  std::string path;
  HistoryOptions store;
  VerdictParameters verdict;  // at the daemon's timescale (time_scaled)
  ExhaustionParameters exhaustion;  // likewise
  std::chrono::milliseconds verdict_interval{60'000};
  std::chrono::milliseconds maintenance_interval{60'000};
  // Tens of seconds of a stalled disk at 400 processes, minutes at 100.
  size_t max_pending_ticks = 600;
  size_t max_pending_observations = 16384;
  size_t max_pending_ends = 4096;
  size_t max_pending_queries = 256;
  size_t max_pending_site_keeps = 64;
  std::chrono::milliseconds stop_deadline{3000};
};

// What the keeper tells the loop of itself, whenever it changes.
struct HistoryHealth {
  enum class State { opening, recording, unavailable };
  State state = State::opening;
  std::string path;
  std::string problem;  // why unavailable; else the last failure ("" when none)
  uint64_t dropped_observations = 0;  // never recorded: the worker was behind
  uint64_t failed_operations = 0;     // store operations that failed (full disk, database locked, ...)
};

const char* to_string(HistoryHealth::State state);

class HistoryKeeper {
 public:
  using Verdicts = std::vector<std::pair<ProcessId, heap_query::Verdict>>;
  using LoopContinuation = std::function<void()>;
  struct Callbacks {
    std::function<void(Verdicts)> on_verdicts;              // each verdict pass, running processes only
    std::function<void(const HistoryHealth&)> on_health;
  };

  // Starts the worker, which opens the store at options.path.
  HistoryKeeper(boost::asio::io_context& loop, HistoryKeeperOptions options, Callbacks callbacks);
  ~HistoryKeeper();
  HistoryKeeper(const HistoryKeeper&) = delete;
  HistoryKeeper& operator=(const HistoryKeeper&) = delete;

  // False once the store could not be opened: nothing is recorded, and
  // queries are answered without a store.
  bool accepting() const { return state_.load(std::memory_order_relaxed) != HistoryHealth::State::unavailable; }

  // One sampling tick: every running process's sample (an empty tick says
  // that none runs). Dropped and counted when the queue is full.
  void record(std::vector<Observation> tick);
  void ended(const ProcessId& id, int64_t ended_unix_ns);
  // How a process that ended did, once the kernel said (after ended()).
  void ended_how(const ProcessId& id, std::string how);
  // Keeps `answer` as the process's call sites (HistoryStore::keep_sites);
  // dropped when max_pending_site_keeps wait: the next keeping replaces it.
  void keep_sites(const ProcessId& id, heap_query::SitesAnswer answer, int64_t unix_ns);
  // Runs `read` on the worker, with the store or nullptr when there is none,
  // then what it returns on the loop. False (and nothing runs) when too
  // many queries wait.
  bool query(std::function<LoopContinuation(HistoryStore*)> read);

  uint64_t dropped_observations() const { return dropped_.load(std::memory_order_relaxed); }
  // What each verdict is made with: when a process's first verdict is due.
  const VerdictParameters& verdict_parameters() const { return options_.verdict; }

 private:
  struct Tick {
    std::vector<Observation> observations;
    // Of several ticks joined into one transaction: how many observations,
    // at the end, are the newest tick's.
    size_t newest = 0;
  };
  struct End {
    ProcessId id;
    int64_t unix_ns = 0;
    std::string how;  // when set, how it ended: the end itself came before
  };
  struct Query {
    std::function<LoopContinuation(HistoryStore*)> read;
  };
  struct KeepSites {
    ProcessId id;
    heap_query::SitesAnswer answer;
    int64_t unix_ns = 0;
  };
  struct Task;
  enum class LogLevel { info, warn, error };

  void push(Task task);
  void count_dropped(size_t observations);
  // The worker's side.
  void run();
  void open_store();
  void work(Task& task);
  void record_ticks(Tick& tick);
  void maintain();
  void mark_silent_processes_ended(int64_t now);
  void start_verdict_pass();
  void verdict_step();
  void adopt_kept_verdict(const ProcessId& id, heap_query::Verdict& summary);
  void post_end(End end);
  // Queues `task` unless `pending` (guarded by mutex_) has reached `limit`,
  // and wakes the worker; false when refused.
  bool enqueue(Task task, size_t& pending, size_t limit);
  void note_failure(const std::string& what);
  void report_failures();
  void drain_at_stop();
  void post_health();
  void log(LogLevel level, std::string message);
  void to_loop(LoopContinuation continuation);

  boost::asio::io_context& loop_;
  const HistoryKeeperOptions options_;
  const Callbacks callbacks_;
  std::atomic<HistoryHealth::State> state_{HistoryHealth::State::opening};
  std::atomic<uint64_t> dropped_{0};

  // The queue, under mutex_.
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Task> queue_;
  size_t pending_ticks_ = 0;
  size_t pending_observations_ = 0;
  size_t pending_ends_ = 0;
  size_t pending_queries_ = 0;
  size_t pending_site_keeps_ = 0;
  bool stopping_ = false;

  // The loop's side: when a drop was last logged.
  std::optional<std::chrono::steady_clock::time_point> last_drop_log_;
  uint64_t dropped_at_last_log_ = 0;

  // The worker's side.
  std::optional<HistoryStore> store_;
  std::vector<WatchedProcess> running_;  // the processes of the newest tick recorded
  bool seen_tick_ = false;
  // The first tick makes the first verdict pass due at once: a restarted
  // daemon judges the processes it found from the store's history without
  // waiting a verdict interval, in which every view would say not judged.
  bool first_pass_due_ = false;
  std::set<ProcessId> recorded_;  // running processes the store has a row for
  std::vector<WatchedProcess> verdict_queue_;  // of the pass under way
  Verdicts verdict_results_;
  std::vector<KeptVerdict> verdicts_to_keep_;  // the judged ones of the pass under way
  bool verdict_pass_ = false;
  HistoryHealth health_;
  HistoryHealth posted_health_;
  uint64_t failures_unreported_ = 0;
  std::string last_failure_;
  bool failing_ = false;

  // Handlers posted to the loop see this expired once the keeper is gone.
  std::shared_ptr<char> alive_ = std::make_shared<char>();
  const std::weak_ptr<char> alive_token_ = alive_;
  std::thread worker_;
};

}  // namespace memproxy::heapwatch

#endif
