#include "heapwatch/intake/registry.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "heapwatch/intake/poller.hpp"

namespace memproxy::heapwatch {

namespace {

// Turns the ring off in an account just mapped: a daemon that died
// mid-trace left it on, and no session of this daemon can own it yet.
// Here, not with the trace sessions: the registry maps accounts before
// any session exists.
void switch_off_left_trace(heap::TraceSection& ring) { __atomic_store_n(&ring.on, 0, __ATOMIC_RELEASE); }

// The first reading, taken as the registry takes the process (or its new image).
void take_first_reading(Registry& registry, const Watched& w) {
  if (!w.account) return;
  const int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  heap::Totals totals;
  Reading s = take_reading(w, now, &totals);
  registry.record(id_of(w.process), s, totals);
}

}  // namespace

std::string Registry::add(WatchedProcess process, heap::MappedAccount account, Handle handle) {
  if (auto it = entries_.find(id_of(process)); it != entries_.end()) {
    return replace_image(it->second, std::move(process), std::move(account));
  }
  if (entries_.size() >= limits_.max_processes) {
    return "the daemon watches " + std::to_string(entries_.size()) + " processes, its limit";
  }
  size_t& mine = per_user_[process.uid];
  if (process.uid != 0 && mine >= limits_.max_per_user) {
    return "user " + std::to_string(process.uid) + " has " + std::to_string(mine) +
           " watched processes, the per-user limit";
  }
  ++mine;
  Watched& w = entries_[id_of(process)];
  w.process = std::move(process);
  w.account = std::move(account);
  if (w.account) switch_off_left_trace(w.account.trace());
  w.handle = std::move(handle);
  take_first_reading(*this, w);
  if (on_added) on_added(w);
  return "";
}

// The pidfd already held stays: the process is the same; only its image changed.
std::string Registry::replace_image(Watched& w, WatchedProcess process, heap::MappedAccount account) {
  if (w.replaced.size() + 1 >= kMaxImages) {
    return "it has run " + std::to_string(kMaxImages) + " programs, the most watched in one process";
  }
  if (process.uid != w.process.uid) return "already watched, with another user";
  if (w.account) {
    switch_off_left_trace(w.account.trace());
    w.replaced.push_back(std::move(w.account));
  }
  w.account = std::move(account);
  if (w.account) switch_off_left_trace(w.account.trace());
  w.process = std::move(process);
  w.recent.clear();
  w.last_totals = {};
  take_first_reading(*this, w);
  spdlog::info("pid {} now runs {}", w.process.pid, w.process.program);
  return "";
}

void Registry::end(const ProcessId& id, int64_t unix_ns, const std::string& why) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  it->second.process.ended_unix_ns = unix_ns;
  const WatchedProcess& p = it->second.process;
  if (why.empty()) {
    spdlog::info("heap watch: pid {} (uid {}) is no longer watched", id.pid, p.uid);
  } else {
    spdlog::warn("pid {} ({}, uid {}) is no longer watched: {}", id.pid, p.program, p.uid, why);
  }
  if (on_end) on_end(it->second);
  auto user = per_user_.find(it->second.process.uid);
  if (user != per_user_.end() && --user->second == 0) per_user_.erase(user);
  const ProcessId gone = id;
  entries_.erase(it);
  if (on_removed) on_removed(gone);
}

const Watched* Registry::find(const ProcessId& id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second;
}

void Registry::record(const ProcessId& id, const Reading& sample, const heap::Totals& totals) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Watched& w = it->second;
  w.recent.push_back(sample);
  while (w.recent.size() > kRecentSamples) w.recent.pop_front();
  w.last_totals = totals;
}

void Registry::for_each(const std::function<void(Watched&)>& visit) {
  for (auto& [id, w] : entries_) visit(w);
}

void Registry::for_each(const std::function<void(const Watched&)>& visit) const {
  for (const auto& [id, w] : entries_) visit(w);
}

}  // namespace memproxy::heapwatch
