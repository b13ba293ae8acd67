#include "heapwatch/intake/poller.hpp"

#include "heapwatch/intake/process_identity.hpp"
#include "memproxy/process_info.hpp"

namespace memproxy::heapwatch {

Reading take_reading(const Watched& w, int64_t unix_ns, heap::Totals* totals) {
  // The backend counters are read in the process, by its pid; read in one
  // that has ended since, they may have been another's (the pid reused),
  // and are taken as its threads last saw them instead.
  *totals = w.account ? w.account.totals(w.process.pid) : heap::Totals{};
  if (w.account && w.handle && w.handle->ended()) *totals = w.account.totals();
  Reading s;
  s.unix_ns = unix_ns;
  s.live_bytes = totals->live_bytes;
  s.peak_bytes = totals->peak_bytes;
  s.rss_bytes = process::resident_bytes(w.process.pid).value_or(0);
  s.allocations = totals->allocations();
  s.frees = totals->frees();
  return s;
}

std::vector<ProcessReading> poll_all(Registry& registry, int64_t unix_ns) {
  // Each with why it may no longer be shown; "" when it ended.
  std::vector<std::pair<ProcessId, std::string>> gone;
  std::vector<std::pair<ProcessId, std::pair<Reading, heap::Totals>>> taken;
  registry.for_each([&](Watched& w) {
    // Its end is the exit watch's to see at once; a process that may no
    // longer be shown (set-id, credentials changed, not dumpable) ends here.
    std::string why = w.handle ? w.handle->check() : "";
    if (!why.empty()) {
      gone.push_back({id_of(w.process), w.handle->ended() ? "" : why});
      return;
    }
    heap::Totals t;
    Reading s = take_reading(w, unix_ns, &t);
    // Kept only while the pidfd says the process runs: a reused pid's RSS
    // is never recorded.
    if (w.handle && w.handle->ended()) return;
    taken.push_back({id_of(w.process), {s, t}});
  });
  for (const auto& [id, why] : gone) registry.end(id, unix_ns, why);
  std::vector<ProcessReading> readings;
  readings.reserve(taken.size());
  for (auto& [id, st] : taken) registry.record(id, st.first, st.second);
  registry.for_each([&](const Watched& w) {
    if (!w.recent.empty() && w.recent.back().unix_ns == unix_ns) readings.push_back({&w.process, w.recent.back()});
  });
  return readings;
}

}  // namespace memproxy::heapwatch
