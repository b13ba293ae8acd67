#include "heapwatch/serve/watch_state.hpp"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <set>
#include <spdlog/spdlog.h>

#include "heapwatch/analysis/daemon_verdict.hpp"
#include "memproxy/clock.hpp"

namespace memproxy::heapwatch {
namespace {

// One question to the store, answered once: by the store, or by the
// deadline. Touched on the loop only; the worker holds it weakly, so a late
// answer finds it gone.
template <class T>
struct StoreCall {
  StoreCall(boost::asio::io_context& loop, std::function<void(Result<T>)> d) : deadline(loop), done(std::move(d)) {}
  void finish(Result<T> result) {
    if (!done) return;
    deadline.cancel();
    auto call = std::move(done);
    done = nullptr;
    call(std::move(result));
  }
  boost::asio::steady_timer deadline;
  std::function<void(Result<T>)> done;
};

// A program's name as a log line may hold it: a process names itself, and
// a newline or escape in its name must not forge a line or move a terminal.
std::string loggable(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

void newest_first(std::vector<WatchedProcess>& processes) {
  std::stable_sort(processes.begin(), processes.end(), [](const WatchedProcess& a, const WatchedProcess& b) {
    return a.started_unix_ns > b.started_unix_ns;
  });
}

}  // namespace

CallRates call_rates(const std::deque<Reading>& recent) {
  if (recent.size() < 2) return {};
  const Reading& newest = recent.back();
  auto oldest = std::lower_bound(recent.begin(), recent.end(), newest.unix_ns - kRateWindowNs,
                                 [](const Reading& s, int64_t t) { return s.unix_ns < t; });
  if (oldest->unix_ns >= newest.unix_ns) return {};
  const double seconds = static_cast<double>(newest.unix_ns - oldest->unix_ns) / 1e9;
  // Counters never go back in a healthy account; a lying process gets 0, not a negative rate.
  auto rate = [seconds](uint64_t now, uint64_t then) {
    return now >= then ? static_cast<double>(now - then) / seconds : 0.0;
  };
  return {rate(newest.allocations, oldest->allocations), rate(newest.frees, oldest->frees)};
}

std::vector<ProcessView> DaemonWatchState::views() const {
  std::vector<ProcessView> out;
  out.reserve(registry_.size());
  // Without a store no verdict is ever made: no process has a first verdict to wait for.
  const VerdictParameters* judging = store_usable() ? &keeper_->verdict_parameters() : nullptr;
  const int64_t now = unix_now_ns();
  registry_.for_each([&](const Watched& w) {
    ProcessView v;
    v.process = w.process;
    if (!w.recent.empty()) v.latest = w.recent.back();
    CallRates rates = call_rates(w.recent);
    v.allocations_per_second = rates.allocations_per_second;
    v.frees_per_second = rates.frees_per_second;
    auto verdict = verdicts_.find(id_of(w.process));
    if (verdict != verdicts_.end()) {
      v.verdict = verdict->second;
    } else {
      if (!w.recent.empty()) v.verdict.observed_s = (w.recent.back().unix_ns - w.recent.front().unix_ns) / kNsPerSecond;
      v.verdict_pending = judging != nullptr && !first_pass_done_ && now - started_unix_ns_ < kFirstPassPatience;
    }
    // The warm-up counts from the start as the verdict pass counts it (the
    // first sample when the start is unknown).
    const int64_t origin = w.process.started_unix_ns != 0 ? w.process.started_unix_ns
                           : w.recent.empty()              ? 0
                                                           : w.recent.front().unix_ns;
    if (judging != nullptr && origin != 0) {
      v.verdict.first_verdict_unix_ns = first_verdict_unix_ns(origin, *judging);
      if (state_of(v.verdict) == VerdictState::not_judged) {
        v.verdict.first_verdict_in_s = std::max<int64_t>(0, (v.verdict.first_verdict_unix_ns - now + kNsPerSecond - 1) / kNsPerSecond);
      }
    }
    if (v.verdict.exhaustion_unix_ns != 0) {
      v.verdict.exhaustion_in_s = std::max<int64_t>(0, (v.verdict.exhaustion_unix_ns - now) / kNsPerSecond);
    }
    out.push_back(std::move(v));
  });
  return out;
}

namespace {

// The alert rule's threshold (memproxy_heap_exhaustion_seconds < 3600).
constexpr int64_t kExhaustionWarning = 3600 * kNsPerSecond;

bool exhausts_within(const heap_query::Verdict& v, int64_t within_ns, int64_t now) {
  return v.exhaustion_unix_ns != 0 && v.exhaustion_unix_ns - now < within_ns;
}

}  // namespace

void DaemonWatchState::set_verdicts(HistoryKeeper::Verdicts verdicts) {
  first_pass_done_ = true;
  const int64_t now = unix_now_ns();
  for (auto& [id, summary] : verdicts) {
    const Watched* watched = registry_.find(id);
    if (watched == nullptr) continue;
    const VerdictState before = verdict_state(id);
    const VerdictState after = state_of(summary);
    if (after != before) {
      spdlog::info("pid {} {}: {} -> {}, {}", id.pid, loggable(watched->process.program), state_words(before), state_words(after),
                   growth_rate_text(summary.slope_bytes_per_hour));
    }
    // Once as a forecast comes under the alert rule's hour, not at every pass.
    auto previous = verdicts_.find(id);
    const bool was_near = previous != verdicts_.end() && exhausts_within(previous->second, kExhaustionWarning, now);
    if (!was_near && exhausts_within(summary, kExhaustionWarning, now)) {
      spdlog::warn("pid {} {}: at its present growth its memory reaches what it may use, {} bytes ({}), in {} s",
                   id.pid, loggable(watched->process.program), summary.memory_limit_bytes,
                   summary.memory_limit_source, std::max<int64_t>(0, (summary.exhaustion_unix_ns - now) / kNsPerSecond));
    }
    verdicts_[id] = std::move(summary);
  }
}

VerdictState DaemonWatchState::verdict_state(const ProcessId& id) const {
  auto known = verdicts_.find(id);
  return known == verdicts_.end() ? VerdictState::not_judged : state_of(known->second);
}

void DaemonWatchState::forget(const ProcessId& id) {
  auto known = verdicts_.find(id);
  if (known == verdicts_.end()) return;
  if (state_of(known->second) == VerdictState::growing) {
    const Watched* watched = registry_.find(id);
    spdlog::warn("pid {} {} ended while growing, {}", id.pid, watched != nullptr ? loggable(watched->process.program) : "?",
                 growth_rate_text(known->second.slope_bytes_per_hour));
    if (watched != nullptr) {
      ProcessView v;
      v.process = watched->process;
      if (v.process.ended_unix_ns == 0) v.process.ended_unix_ns = unix_now_ns();
      if (!watched->recent.empty()) v.latest = watched->recent.back();
      v.verdict = known->second;
      remember_ended_growing({std::move(v)});
    }
  }
  verdicts_.erase(known);
}

void DaemonWatchState::ended_how(const ProcessId& id, const std::string& how) {
  for (ProcessView& v : ended_growing_) {
    if (id_of(v.process) == id) v.process.ended_how = how;
  }
}

void DaemonWatchState::remember_ended_growing(std::vector<ProcessView> views) {
  for (ProcessView& v : views) {
    const bool known = std::any_of(ended_growing_.begin(), ended_growing_.end(),
                                   [&](const ProcessView& e) { return id_of(e.process) == id_of(v.process); });
    if (!known) ended_growing_.push_back(std::move(v));
  }
  std::stable_sort(ended_growing_.begin(), ended_growing_.end(), [](const ProcessView& a, const ProcessView& b) {
    return a.process.ended_unix_ns > b.process.ended_unix_ns;
  });
  while (ended_growing_.size() > kMaxEndedGrowing) ended_growing_.pop_back();
}

std::vector<ProcessView> DaemonWatchState::ended_growing() const {
  const int64_t since = unix_now_ns() - kEndedGrowingForNs;
  std::vector<ProcessView> out;
  for (const ProcessView& v : ended_growing_) {
    if (v.process.ended_unix_ns >= since) out.push_back(v);
  }
  return out;
}

template <class T, class Read>
void DaemonWatchState::ask_store(Read read, std::function<void(Result<T>)> done) const {
  auto call = std::make_shared<StoreCall<T>>(loop_, std::move(done));
  std::weak_ptr<StoreCall<T>> weak = call;
  const bool queued = keeper_->query([weak, read = std::move(read)](HistoryStore* store) -> HistoryKeeper::LoopContinuation {
    Result<T> result = store != nullptr ? read(*store) : Result<T>(Status::failure("no history is kept"));
    return [weak, result = std::move(result)]() mutable {
      if (auto c = weak.lock()) c->finish(std::move(result));
    };
  });
  if (!queued) {
    call->finish(Status::failure("the history is busy answering other questions; try again"));
    return;
  }
  call->deadline.expires_after(store_patience_);
  call->deadline.async_wait([call, patience_ms = store_patience_.count()](const boost::system::error_code& ec) {
    if (ec) return;
    call->finish(Status::failure("the history did not answer within " + std::to_string(patience_ms) +
                                 " ms (its database is slow or locked); try again"));
  });
}

void DaemonWatchState::history(const ProcessId& id, int64_t since, int64_t until, ReadingsDone done) const {
  const Watched* running = registry_.find(id);
  std::vector<Reading> recent;
  int64_t store_until = until;
  if (running != nullptr) {
    for (const Reading& s : running->recent) {
      if (s.unix_ns >= since && s.unix_ns <= until) recent.push_back(s);
    }
    const bool covered = !running->recent.empty() && since >= running->recent.front().unix_ns;
    if (covered || !store_usable()) {
      done(std::move(recent));
      return;
    }
    if (!running->recent.empty()) store_until = std::min(until, running->recent.front().unix_ns - 1);
  } else if (!store_usable()) {
    done(std::vector<Reading>{});
    return;
  }
  if (store_until < since) {
    done(std::move(recent));
    return;
  }
  ask_store<std::vector<Reading>>(
      [id, since, store_until](HistoryStore& store) { return store.series(id, since, store_until); },
      [done = std::move(done), recent = std::move(recent), is_running = running != nullptr](
          Result<std::vector<Reading>> older) mutable {
        if (!older) {
          // A running process still has its recent samples to show.
          if (is_running) {
            done(std::move(recent));
          } else {
            done(std::move(older));
          }
          return;
        }
        std::vector<Reading> all = std::move(older).value();
        all.insert(all.end(), recent.begin(), recent.end());
        done(std::move(all));
      });
}

void DaemonWatchState::kept_verdict(const ProcessId& id, VerdictDone done) const {
  if (!store_usable()) {
    done(std::optional<heap_query::Verdict>{});
    return;
  }
  ask_store<std::optional<heap_query::Verdict>>(
      [id](HistoryStore& store) -> Result<std::optional<heap_query::Verdict>> {
        Result<std::optional<KeptVerdict>> kept = store.kept_verdict(id);
        if (!kept) return Status::failure(kept.error());
        if (!*kept) return std::optional<heap_query::Verdict>{};
        return std::optional<heap_query::Verdict>{std::move((*kept)->verdict)};
      },
      std::move(done));
}

void DaemonWatchState::known_processes(ProcessesDone done) const {
  std::vector<WatchedProcess> running;
  running.reserve(registry_.size());
  registry_.for_each([&](const Watched& w) { running.push_back(w.process); });
  if (!store_usable()) {
    newest_first(running);
    done(std::move(running));
    return;
  }
  ask_store<std::vector<WatchedProcess>>(
      [](HistoryStore& store) { return store.processes(); },
      [done = std::move(done), running = std::move(running)](Result<std::vector<WatchedProcess>> kept) mutable {
        std::set<ProcessId> watched;
        for (const WatchedProcess& p : running) watched.insert(id_of(p));
        // The registry knows best what runs now; the store adds the rest.
        std::vector<WatchedProcess> all = std::move(running);
        if (kept) {
          for (const WatchedProcess& p : *kept) {
            if (watched.count(id_of(p)) == 0) all.push_back(p);
          }
        }
        newest_first(all);
        done(std::move(all));
      });
}

void DaemonWatchState::recall_ended_growing() {
  if (keeper_ == nullptr) return;
  keeper_->query([this](HistoryStore* store) -> HistoryKeeper::LoopContinuation {
    if (store == nullptr) return nullptr;
    Result<std::vector<WatchedProcess>> processes = store->processes();
    if (!processes) return nullptr;
    const int64_t since = unix_now_ns() - kEndedGrowingForNs;
    std::vector<ProcessView> views;
    for (const WatchedProcess& p : *processes) {
      if (p.ended_unix_ns == 0 || p.ended_unix_ns < since) continue;
      Result<std::optional<KeptVerdict>> kept = store->kept_verdict(id_of(p));
      if (!kept || !*kept || state_of((*kept)->verdict) != VerdictState::growing) continue;
      ProcessView v;
      v.process = p;
      v.verdict = (*kept)->verdict;
      Result<std::vector<Reading>> last = store->series(id_of(p), p.ended_unix_ns - 60 * kNsPerSecond);
      if (last && !last->empty()) v.latest = last->back();
      views.push_back(std::move(v));
    }
    return [this, views = std::move(views)]() mutable { remember_ended_growing(std::move(views)); };
  });
}

}  // namespace memproxy::heapwatch
