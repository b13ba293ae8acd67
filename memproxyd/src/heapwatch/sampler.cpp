#include "heapwatch/sampler.hpp"

#include <spdlog/spdlog.h>

#include "heapwatch/process_identity.hpp"
#include "memproxy/process_info.hpp"

namespace memproxy::heapwatch {

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
    heap::Totals t = w.account.totals();
    Sample s;
    s.unix_ns = unix_ns;
    s.live_bytes = t.live_bytes;
    s.peak_bytes = t.peak_bytes;
    // Read after the check and kept only while the pidfd says the process
    // runs: a reused pid's RSS is never recorded.
    s.rss_bytes = process::resident_bytes(w.process.id.pid).value_or(0);
    if (w.handle && w.handle->ended()) return;
    s.allocations = t.allocations();
    s.frees = t.frees();
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
