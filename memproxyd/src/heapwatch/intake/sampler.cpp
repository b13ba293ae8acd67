#include "heapwatch/intake/sampler.hpp"

#include <spdlog/spdlog.h>

#include "heapwatch/intake/process_identity.hpp"
#include "memproxy/process_info.hpp"

namespace memproxy::heapwatch {

Sample read_sample(const Watched& w, int64_t unix_ns, heap::Totals* totals) {
  *totals = w.account ? w.account.totals() : heap::Totals{};
  Sample s;
  s.unix_ns = unix_ns;
  s.live_bytes = totals->live_bytes;
  s.peak_bytes = totals->peak_bytes;
  s.rss_bytes = process::resident_bytes(w.process.id.pid).value_or(0);
  s.allocations = totals->allocations();
  s.frees = totals->frees();
  return s;
}

std::vector<Reading> sample_all(Registry& registry, int64_t unix_ns) {
  std::vector<ProcessId> gone;
  std::vector<std::pair<ProcessId, std::pair<Sample, heap::Totals>>> taken;
  registry.for_each([&](Watched& w) {
    // Its end is the exit watch's to see at once; a process that may no
    // longer be shown (set-id, credentials changed, not dumpable) ends here.
    std::string why = w.handle ? w.handle->check() : "";
    if (!why.empty()) {
      if (!w.handle->ended()) {
        spdlog::warn("pid {} ({}, uid {}) is no longer watched: {}", w.process.id.pid, w.process.program,
                     w.process.uid, why);
      }
      gone.push_back(w.process.id);
      return;
    }
    heap::Totals t;
    Sample s = read_sample(w, unix_ns, &t);
    // Kept only while the pidfd says the process runs: a reused pid's RSS
    // is never recorded.
    if (w.handle && w.handle->ended()) return;
    taken.push_back({w.process.id, {s, t}});
  });
  for (const ProcessId& id : gone) registry.end(id, unix_ns);
  std::vector<Reading> readings;
  readings.reserve(taken.size());
  for (auto& [id, st] : taken) registry.record(id, st.first, st.second);
  registry.for_each([&](const Watched& w) {
    if (!w.recent.empty() && w.recent.back().unix_ns == unix_ns) readings.push_back({&w.process, w.recent.back()});
  });
  return readings;
}

}  // namespace memproxy::heapwatch
