// The call sites the history keeps of each watched process, so that they
// outlive the process and the daemon: every `interval`, each watched
// process's largest and growing sites, symbolized as `leaks PID` shows
// them (the process and its objects exist only while it runs), go to the
// history; `leaks PID` of a process that ended answers from them. A
// process that was running before this daemon started goes on from the
// sites an earlier daemon kept of it (SiteHistory::resume), so a restart
// does not restart each site's growth.
//
// Cost and bounds: at most `in_flight` processes are read and symbolized
// at once (the rest wait their turn in this round), the symbolizer's cache
// names each address once, and a process's answer is at most `sites`
// sites of at most heap::kMaxFrames frames and SiteHistoryLimits::snapshots
// points each. An answer whose frames could not be named does not replace
// named ones kept earlier. On the loop's thread.
#ifndef MEMPROXYD_HEAPWATCH_SITE_KEEPING_HPP
#define MEMPROXYD_HEAPWATCH_SITE_KEEPING_HPP

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <vector>

#include "heapwatch/analysis/site_watch.hpp"
#include "heapwatch/intake/registry.hpp"
#include "heapwatch/serve/sites_query.hpp"
#include "memproxy/heap_query.hpp"

namespace memproxy::heapwatch {

struct SiteKeepingOptions {
  std::chrono::milliseconds interval{std::chrono::minutes(5)};
  size_t sites = 16;
  size_t in_flight = 4;
};

class SiteKeeping {
 public:
  // Hands a process's sites to the history.
  using Keep = std::function<void(const ProcessId&, heap_query::SitesAnswer, int64_t unix_ns)>;
  // Asks the history for the sites kept of a process; `found` runs on the
  // loop, with none when nothing was kept. False when it cannot ask now.
  using Fetch = std::function<bool(const ProcessId&, std::function<void(std::optional<heap_query::SitesAnswer>)> found)>;

  SiteKeeping(boost::asio::io_context& loop, const Registry& registry, SiteWatch& sites, SitesQuery& query, Keep keep,
              Fetch fetch, SiteKeepingOptions options = {});
  ~SiteKeeping() { alive_.reset(); }
  SiteKeeping(const SiteKeeping&) = delete;
  SiteKeeping& operator=(const SiteKeeping&) = delete;

  void start();
  // A newly watched process: one that ran before this daemon goes on from
  // what was kept of it.
  void on_added(const Watched& watched);
  void forget(const ProcessId& id) { named_.erase(id); }

 private:
  void schedule();
  void round();
  void next();

  const Registry& registry_;
  SiteWatch& sites_;
  SitesQuery& query_;
  Keep keep_;
  Fetch fetch_;
  const SiteKeepingOptions options_;
  const int64_t started_unix_ns_;
  boost::asio::steady_timer timer_;
  std::deque<ProcessId> due_;  // of this round, not asked yet
  size_t in_flight_ = 0;
  std::set<ProcessId> named_;  // kept with their frames named
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace memproxy::heapwatch

#endif
