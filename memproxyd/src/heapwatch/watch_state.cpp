#include "heapwatch/watch_state.hpp"

#include <algorithm>

namespace memproxy::heapwatch {

CallRates call_rates(const std::deque<Sample>& recent) {
  if (recent.size() < 2) return {};
  const Sample& newest = recent.back();
  auto oldest = std::lower_bound(recent.begin(), recent.end(), newest.unix_ns - kRateWindowNs,
                                 [](const Sample& s, int64_t t) { return s.unix_ns < t; });
  if (oldest->unix_ns >= newest.unix_ns) return {};
  const double seconds = static_cast<double>(newest.unix_ns - oldest->unix_ns) / 1e9;
  // Counters never go back in a healthy account; a lying process gets 0, not a negative rate.
  auto rate = [seconds](uint64_t now, uint64_t then) {
    return now >= then ? static_cast<double>(now - then) / seconds : 0.0;
  };
  return {rate(newest.allocations, oldest->allocations), rate(newest.frees, oldest->frees)};
}

std::vector<ProcessView> RegistryWatchState::views() const {
  std::vector<ProcessView> out;
  out.reserve(registry_.size());
  registry_.for_each([&](const Watched& w) {
    ProcessView v;
    v.process = w.process;
    if (!w.recent.empty()) v.latest = w.recent.back();
    CallRates rates = call_rates(w.recent);
    v.allocations_per_second = rates.allocations_per_second;
    v.frees_per_second = rates.frees_per_second;
    if (!w.recent.empty()) v.verdict.observed_s = (w.recent.back().unix_ns - w.recent.front().unix_ns) / 1'000'000'000;
    out.push_back(std::move(v));
  });
  return out;
}

std::vector<Sample> RegistryWatchState::history(const ProcessId& id, int64_t since_unix_ns,
                                                int64_t until_unix_ns) const {
  std::vector<Sample> out;
  registry_.for_each([&](const Watched& w) {
    if (w.process.id != id) return;
    for (const Sample& s : w.recent) {
      if (s.unix_ns >= since_unix_ns && s.unix_ns <= until_unix_ns) out.push_back(s);
    }
  });
  return out;
}

std::vector<WatchedProcess> RegistryWatchState::known_processes() const {
  std::vector<WatchedProcess> out;
  out.reserve(registry_.size());
  registry_.for_each([&](const Watched& w) { out.push_back(w.process); });
  std::stable_sort(out.begin(), out.end(), [](const WatchedProcess& a, const WatchedProcess& b) {
    return a.started_unix_ns > b.started_unix_ns;
  });
  return out;
}

}  // namespace memproxy::heapwatch
