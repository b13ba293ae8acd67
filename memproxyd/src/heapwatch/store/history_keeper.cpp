#include "heapwatch/store/history_keeper.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <set>
#include <variant>

#include "heapwatch/analysis/daemon_verdict.hpp"
#include "heapwatch/intake/memory_limit.hpp"
#include "heapwatch/store/history_dir.hpp"
#include "memproxy/clock.hpp"

namespace memproxy::heapwatch {
namespace {

// Ticks recorded in one transaction when the worker is behind.
constexpr size_t kMaxTicksPerTransaction = 32;
// How often a worker that keeps failing, or a loop that keeps dropping, says so again.
constexpr std::chrono::seconds kRepeatReport{60};

using memproxy::unix_now_ns;

bool same_health(const HistoryHealth& a, const HistoryHealth& b) {
  return a.state == b.state && a.path == b.path && a.problem == b.problem &&
         a.dropped_observations == b.dropped_observations && a.failed_operations == b.failed_operations;
}

}  // namespace

const char* to_string(HistoryHealth::State state) {
  switch (state) {
    case HistoryHealth::State::opening: return "opening";
    case HistoryHealth::State::recording: return "recording";
    case HistoryHealth::State::unavailable: return "unavailable";
  }
  return "?";
}

struct HistoryKeeper::Task {
  std::variant<Tick, End, Query, KeepSites> what;
};

HistoryKeeper::HistoryKeeper(boost::asio::io_context& loop, HistoryKeeperOptions options, Callbacks callbacks)
    : loop_(loop), options_(std::move(options)), callbacks_(std::move(callbacks)) {
  health_.path = options_.path;
  posted_health_ = health_;
  worker_ = std::thread([this] { run(); });
}

HistoryKeeper::~HistoryKeeper() {
  alive_.reset();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  worker_.join();
  // The worker is gone: what it could not record in time is counted here.
  uint64_t dropped = dropped_.load();
  if (dropped > dropped_at_last_log_) {
    spdlog::warn("history: {} samples were never recorded ({} since the last report)", dropped,
                 dropped - dropped_at_last_log_);
  }
}

// ---- the loop's side ------------------------------------------------------

void HistoryKeeper::record(std::vector<Observation> tick) {
  if (!accepting()) return;
  const size_t n = tick.size();
  bool queued = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // A tick is always taken when none waits, whatever its size (the
    // registry bounds it).
    if (pending_ticks_ == 0 ||
        (pending_ticks_ < options_.max_pending_ticks && pending_observations_ + n <= options_.max_pending_observations)) {
      ++pending_ticks_;
      pending_observations_ += n;
      queue_.push_back(Task{Tick{std::move(tick)}});
      queued = true;
    }
  }
  if (queued) {
    wake_.notify_one();
  } else {
    count_dropped(n);
  }
}

void HistoryKeeper::count_dropped(size_t observations) {
  if (observations == 0) return;
  const uint64_t dropped = dropped_.fetch_add(observations, std::memory_order_relaxed) + observations;
  const auto now = std::chrono::steady_clock::now();
  if (last_drop_log_ && now - *last_drop_log_ < kRepeatReport) return;
  spdlog::warn("history: the writer is behind (slow disk, or the database locked?): {} samples not recorded{}",
               dropped - dropped_at_last_log_, last_drop_log_ ? " in the last minute" : "");
  last_drop_log_ = now;
  dropped_at_last_log_ = dropped;
}

void HistoryKeeper::ended(const ProcessId& id, int64_t ended_unix_ns) { post_end(End{id, ended_unix_ns, {}}); }

void HistoryKeeper::ended_how(const ProcessId& id, std::string how) {
  if (!how.empty()) post_end(End{id, 0, std::move(how)});
}

bool HistoryKeeper::enqueue(Task task, size_t& pending, size_t limit) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (pending >= limit) return false;
    ++pending;
    queue_.push_back(std::move(task));
  }
  wake_.notify_one();
  return true;
}

void HistoryKeeper::post_end(End end) {
  // Dropped silently when full: maintenance marks a process that no tick
  // shows any more as ended at its last sample (how it ended stays unknown).
  if (accepting()) enqueue(Task{std::move(end)}, pending_ends_, options_.max_pending_ends);
}

void HistoryKeeper::keep_sites(const ProcessId& id, heap_query::SitesAnswer answer, int64_t unix_ns) {
  if (accepting()) {
    enqueue(Task{KeepSites{id, std::move(answer), unix_ns}}, pending_site_keeps_, options_.max_pending_site_keeps);
  }
}

bool HistoryKeeper::query(std::function<LoopContinuation(HistoryStore*)> read) {
  return enqueue(Task{Query{std::move(read)}}, pending_queries_, options_.max_pending_queries);
}

// ---- the worker's side ----------------------------------------------------

void HistoryKeeper::to_loop(LoopContinuation continuation) {
  boost::asio::post(loop_, [alive = alive_token_, continuation = std::move(continuation)] {
    if (!alive.expired()) continuation();
  });
}

void HistoryKeeper::log(LogLevel level, std::string message) {
  to_loop([level, message = std::move(message)] {
    switch (level) {
      case LogLevel::info: spdlog::info("{}", message); break;
      case LogLevel::warn: spdlog::warn("{}", message); break;
      case LogLevel::error: spdlog::error("{}", message); break;
    }
  });
}

void HistoryKeeper::post_health() {
  health_.dropped_observations = dropped_.load(std::memory_order_relaxed);
  if (same_health(health_, posted_health_)) return;
  posted_health_ = health_;
  if (callbacks_.on_health) {
    to_loop([this, health = health_] { callbacks_.on_health(health); });
  }
}

void HistoryKeeper::open_store() {
  std::string why = prepare_history_dir(options_.path);
  if (why.empty()) {
    Result<HistoryStore> opened = HistoryStore::open(options_.path, options_.store);
    if (opened) {
      store_.emplace(std::move(opened).value());
    } else {
      why = opened.error();
    }
  }
  if (!store_) {
    state_.store(HistoryHealth::State::unavailable);
    health_.state = HistoryHealth::State::unavailable;
    health_.problem = why;
    log(LogLevel::error, "history: cannot keep " + options_.path + ": " + why +
                             "; watching without history (no leak verdicts, and memproxyctl history shows only "
                             "the last hour of running processes)");
    post_health();
    return;
  }
  state_.store(HistoryHealth::State::recording);
  health_.state = HistoryHealth::State::recording;
  if (!store_->recovered_from().empty()) {
    health_.problem = "the database was damaged (" + store_->recovered_from() + "); it was moved to " +
                      options_.path + ".corrupt and a new one started";
    log(LogLevel::error, "history: " + health_.problem);
  }
  log(LogLevel::info, "history: recording to " + options_.path);
  post_health();
}

void HistoryKeeper::run() {
  open_store();
  using Clock = std::chrono::steady_clock;
  Clock::time_point next_verdicts = Clock::now() + options_.verdict_interval;
  Clock::time_point next_maintenance = Clock::now() + options_.maintenance_interval;
  for (;;) {
    std::optional<Task> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!verdict_pass_) {
        wake_.wait_until(lock, std::min(next_verdicts, next_maintenance),
                         [this] { return stopping_ || !queue_.empty(); });
      }
      if (stopping_) break;
      if (!queue_.empty()) {
        task = std::move(queue_.front());
        queue_.pop_front();
        if (auto* tick = std::get_if<Tick>(&task->what)) {
          --pending_ticks_;
          pending_observations_ -= tick->observations.size();
          tick->newest = tick->observations.size();
          // Ticks queued behind this one join its transaction.
          for (size_t joined = 1; joined < kMaxTicksPerTransaction && !queue_.empty(); ++joined) {
            auto* next = std::get_if<Tick>(&queue_.front().what);
            if (next == nullptr) break;
            --pending_ticks_;
            pending_observations_ -= next->observations.size();
            tick->newest = next->observations.size();
            tick->observations.insert(tick->observations.end(), std::make_move_iterator(next->observations.begin()),
                                      std::make_move_iterator(next->observations.end()));
            queue_.pop_front();
          }
        } else if (std::holds_alternative<End>(task->what)) {
          --pending_ends_;
        } else if (std::holds_alternative<KeepSites>(task->what)) {
          --pending_site_keeps_;
        } else {
          --pending_queries_;
        }
      }
    }
    if (task) work(*task);
    if (verdict_pass_) verdict_step();
    const Clock::time_point now = Clock::now();
    if (now >= next_maintenance) {
      maintain();
      next_maintenance = now + options_.maintenance_interval;
    }
    if (now >= next_verdicts || first_pass_due_) {
      if (!verdict_pass_) start_verdict_pass();
      first_pass_due_ = false;
      next_verdicts = now + options_.verdict_interval;
    }
  }
  drain_at_stop();
  store_.reset();
}

void HistoryKeeper::work(Task& task) {
  if (auto* tick = std::get_if<Tick>(&task.what)) {
    record_ticks(*tick);
  } else if (auto* end = std::get_if<End>(&task.what)) {
    if (!end->how.empty()) {
      if (!store_) return;
      Status told = store_->set_ended_how(end->id, end->how);
      if (!told) note_failure(told.error());
      return;
    }
    // A process never recorded (it ended before its first tick) has no row.
    if (!store_ || recorded_.erase(end->id) == 0) return;
    Status marked = store_->mark_ended(end->id, end->unix_ns);
    if (!marked) note_failure(marked.error());
  } else if (auto* query = std::get_if<Query>(&task.what)) {
    LoopContinuation continuation = query->read(store_ ? &*store_ : nullptr);
    if (continuation) to_loop(std::move(continuation));
  } else if (auto* sites = std::get_if<KeepSites>(&task.what)) {
    if (!store_) return;
    Status kept = store_->keep_sites(sites->id, sites->answer, sites->unix_ns);
    if (!kept) note_failure(kept.error());
  }
}

void HistoryKeeper::record_ticks(Tick& tick) {
  if (!store_) return;
  std::vector<Observation>& observations = tick.observations;
  if (!observations.empty()) {
    Status recorded = store_->record_batch(observations);
    if (!recorded) {
      note_failure(recorded.error());
    } else {
      for (const Observation& o : observations) recorded_.insert(id_of(o.process));
      if (failing_) {
        failing_ = false;
        log(LogLevel::info, "history: recording again");
      }
    }
  }
  // The processes of the newest tick are the ones running now.
  running_.clear();
  const size_t first_newest = observations.size() - std::min(tick.newest, observations.size());
  for (size_t i = first_newest; i < observations.size(); ++i) running_.push_back(std::move(observations[i].process));
  // The first tick shows every process a restarted daemon found running:
  // the others the store still believes running are marked at once, not
  // at the first maintenance.
  const bool first = !seen_tick_;
  seen_tick_ = true;
  if (first) {
    mark_silent_processes_ended(unix_now_ns());
    first_pass_due_ = true;
  }
}

void HistoryKeeper::note_failure(const std::string& what) {
  ++health_.failed_operations;
  health_.problem = what;
  last_failure_ = what;
  if (!failing_) {
    failing_ = true;
    log(LogLevel::warn, "history: " + what);
  } else {
    ++failures_unreported_;
  }
}

void HistoryKeeper::report_failures() {
  if (failures_unreported_ > 0) {
    log(LogLevel::warn, "history: " + std::to_string(failures_unreported_) +
                            " more failures in the last minute; the last: " + last_failure_);
    failures_unreported_ = 0;
  }
  post_health();
}

void HistoryKeeper::maintain() {
  if (store_) {
    const int64_t now = unix_now_ns();
    mark_silent_processes_ended(now);
    Result<MaintenanceReport> report = store_->maintain(now);
    if (!report) note_failure(report.error());
  }
  report_failures();
}

// A process the store believes running that the newest tick does not show
// ended while nobody watched (the daemon was down, or its end was dropped):
// marked ended at its last sample.
void HistoryKeeper::mark_silent_processes_ended(int64_t now) {
  if (!seen_tick_) return;
  Result<std::vector<WatchedProcess>> kept = store_->processes();
  if (!kept) {
    note_failure(kept.error());
    return;
  }
  std::set<ProcessId> running;
  for (const WatchedProcess& p : running_) running.insert(id_of(p));
  // Every recorded process that no longer runs is marked below, or was when it ended.
  std::set<ProcessId> still_recorded;
  for (const ProcessId& id : recorded_) {
    if (running.count(id) != 0) still_recorded.insert(id);
  }
  recorded_ = std::move(still_recorded);
  for (const WatchedProcess& p : *kept) {
    if (p.ended_unix_ns != 0 || running.count(id_of(p)) != 0) continue;
    Result<std::vector<Reading>> last = store_->series(id_of(p), 0, now);
    int64_t ended = last && !last->empty() ? last->back().unix_ns : p.started_unix_ns;
    Status marked = store_->mark_ended(id_of(p), std::max<int64_t>(ended, 1));
    if (!marked) note_failure(marked.error());
  }
}

void HistoryKeeper::start_verdict_pass() {
  if (!store_ || running_.empty()) return;
  verdict_queue_ = running_;
  verdict_results_.clear();
  verdict_pass_ = true;
}

// One process's verdict, between tasks: a pass over thousands of processes
// never holds up recording.
void HistoryKeeper::verdict_step() {
  if (verdict_queue_.empty() || !store_) {
    verdict_pass_ = false;
    if (store_ && !verdicts_to_keep_.empty()) {
      Status kept = store_->keep_verdicts(verdicts_to_keep_);
      if (!kept) note_failure(kept.error());
    }
    verdicts_to_keep_.clear();
    if (callbacks_.on_verdicts && !verdict_results_.empty()) {
      to_loop([this, results = std::move(verdict_results_)]() mutable { callbacks_.on_verdicts(std::move(results)); });
    }
    verdict_results_.clear();
    return;
  }
  const WatchedProcess p = std::move(verdict_queue_.back());
  verdict_queue_.pop_back();
  // One whose ticks all failed to record has no history yet.
  if (recorded_.count(id_of(p)) == 0) return;
  const VerdictParameters& parameters = options_.verdict;
  const int64_t span_ns = (parameters.max_span_s + parameters.window_s) * kNsPerSecond;
  Result<ProcessHistory> history = store_->history(id_of(p), unix_now_ns() - span_ns);
  if (!history) {
    note_failure(history.error());
    return;
  }
  VerdictInput input{history->summaries, history->samples, p.started_unix_ns};
  heap_query::Verdict summary = summarize(analyse_leak(input, parameters));
  const MemoryLimit limit =
      memory_limit(p.memory_cgroup, history->samples.empty() ? 0 : history->samples.back().rss_bytes);
  summary.memory_limit_bytes = limit.bytes;
  summary.memory_limit_source = limit.source;
  if (std::optional<Exhaustion> e = forecast_exhaustion(history->samples, limit.bytes, options_.exhaustion)) {
    summary.exhaustion_unix_ns = e->at_unix_ns;
  }
  if (state_of(summary) != VerdictState::not_judged) {
    verdicts_to_keep_.push_back({id_of(p), summary, unix_now_ns()});
  } else if (summary.finding == to_string(Finding::history_gap)) {
    adopt_kept_verdict(id_of(p), summary);
  }
  verdict_results_.emplace_back(id_of(p), std::move(summary));
}

// Too little left to judge on for a gap in the history (the daemon was
// down, or this one stalled) is no news about the process: the verdict kept
// of it stands, across a restart too, so an alert on it is not reset. What
// this pass measured (how long it was watched, the forecast) replaces what
// was kept.
void HistoryKeeper::adopt_kept_verdict(const ProcessId& id, heap_query::Verdict& summary) {
  Result<std::optional<KeptVerdict>> kept = store_->kept_verdict(id);
  if (!kept) {
    note_failure(kept.error());
    return;
  }
  if (!*kept) return;
  heap_query::Verdict adopted = (*kept)->verdict;
  adopted.observed_s = summary.observed_s;
  adopted.exhaustion_unix_ns = summary.exhaustion_unix_ns;
  adopted.memory_limit_bytes = summary.memory_limit_bytes;
  adopted.memory_limit_source = summary.memory_limit_source;
  summary = std::move(adopted);
}

void HistoryKeeper::drain_at_stop() {
  const auto deadline = std::chrono::steady_clock::now() + options_.stop_deadline;
  for (;;) {
    std::optional<Task> task;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    auto* tick = std::get_if<Tick>(&task->what);
    if (tick != nullptr) {
      --pending_ticks_;
      pending_observations_ -= tick->observations.size();
      tick->newest = tick->observations.size();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      if (tick != nullptr) dropped_.fetch_add(tick->observations.size(), std::memory_order_relaxed);
      continue;
    }
    // Queries are not answered: the loop has stopped.
    if (!std::holds_alternative<Query>(task->what)) work(*task);
  }
}

}  // namespace memproxy::heapwatch
