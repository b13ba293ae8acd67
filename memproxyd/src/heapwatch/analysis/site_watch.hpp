// The call sites of every watched process over time: one SiteHistory per
// process in the registry, fed on the sampler's ticks and read afresh when
// a query asks, forgotten when the process ends. On the event loop's
// thread, like the registry: nothing here locks.
//
// Cost per tick: a SiteHistory looks at its process's records only when a
// snapshot is due and the section's change count moved (site_history.hpp),
// so a tick between snapshots is one comparison per process.
//
// Bounds: one history per watched process (the registry bounds those),
// each within SiteHistory::memory_bound(limits).
#ifndef MEMPROXYD_HEAPWATCH_SITE_WATCH_HPP
#define MEMPROXYD_HEAPWATCH_SITE_WATCH_HPP

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>

#include "heapwatch/analysis/site_history.hpp"
#include "heapwatch/intake/registry.hpp"

namespace memproxy::heapwatch {

class SiteWatch {
 public:
  explicit SiteWatch(SiteHistoryLimits limits = {}, SiteGrowthParameters growth = {})
      : limits_(limits), growth_(growth) {}

  // Every watched process's records, where a snapshot is due.
  void on_tick(const Registry& registry, int64_t unix_ns);
  // `watched`'s sites as its records are now (read when they changed).
  const SiteHistory& read_now(const Watched& watched, int64_t unix_ns);
  void forget(const ProcessId& id) { histories_.erase(id); }
  // A watched process's sites go on from those an earlier daemon kept
  // (SiteHistory::resume).
  void resume(const WatchedProcess& process, std::span<const KeptSite> kept) { history_of(process).resume(kept); }

  size_t processes() const { return histories_.size(); }

 private:
  SiteHistory& history_of(const WatchedProcess& process);

  SiteHistoryLimits limits_;
  SiteGrowthParameters growth_;
  std::map<ProcessId, SiteHistory> histories_;
};

// The sampling mean `watched`'s library uses now (0: not sampling), as it
// wrote it in its account's header.
uint64_t sample_mean_bytes(const Watched& watched);

}  // namespace memproxy::heapwatch

#endif
