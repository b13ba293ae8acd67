// The answer to {"request":"sites","pid":N}: the process's call sites as
// they are now (a fresh reading of its records), ranked by its SiteHistory,
// their stacks symbolized by the SymbolService, as a SitesAnswer.
//
// Visibility as for every request (query_answers.hpp visible_to): a
// process the asking user may not see, or one not watched, is answered
// "no watched process has pid N" alike. A process that ended is answered
// from the sites the history kept of it (site_keeping.hpp), where it kept
// some: the newest process of that pid the user may see, its `process`
// saying when and how it ended.
//
// Symbolizing never keeps the answer: when the symbolizer fails, or has not
// answered within `patience`, the sites go out with frames that name only
// their addresses and `symbols_error` says why. A late answer still fills
// the service's cache, so the next request finds the names. On the loop's
// thread; `done` runs there exactly once, at once or later.
#ifndef MEMPROXYD_HEAPWATCH_SITES_QUERY_HPP
#define MEMPROXYD_HEAPWATCH_SITES_QUERY_HPP

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "heapwatch/analysis/daemon_verdict.hpp"
#include "heapwatch/analysis/site_watch.hpp"
#include "heapwatch/intake/registry.hpp"
#include "heapwatch/serve/query_answers.hpp"
#include "heapwatch/serve/symbol_service.hpp"
#include "heapwatch/store/history_store.hpp"
#include "memproxy/heap_query.hpp"

namespace memproxy::heapwatch {

// Below memproxyctl's own patience (10 s), so that it hears why.
inline constexpr std::chrono::milliseconds kSymbolsPatience{5000};


// The state of a watched process's latest verdict, which its sites are
// reconciled with (site_views.hpp).
using VerdictStateOf = std::function<VerdictState(const ProcessId&)>;

// Asks the history for the sites kept of the newest ended process of `pid`
// that `peer` may see; `found` runs on the loop (none: nothing kept). False
// when it cannot ask now.
using EndedSitesOf =
    std::function<bool(pid_t pid, uid_t peer, std::function<void(std::optional<heap_query::SitesAnswer>)> found)>;

// What EndedSitesOf finds, read from `store` on the keeper's thread: the
// sites kept of the newest ended process of `pid` that `peer` may see,
// answered in its name; none when nothing was kept.
std::optional<heap_query::SitesAnswer> ended_sites_in(HistoryStore& store, pid_t pid, uid_t peer);

class SitesQuery {
 public:
  // `symbols` may be nullptr: frames are addresses only, and say so.
  // Without `verdict_of` every process counts as not judged yet.
  SitesQuery(boost::asio::io_context& loop, const Registry& registry, SiteWatch& sites, SymbolService* symbols,
             VerdictStateOf verdict_of = nullptr, std::chrono::milliseconds patience = kSymbolsPatience)
      : loop_(loop), registry_(registry), sites_(sites), symbols_(symbols), verdict_of_(std::move(verdict_of)),
        patience_(patience) {}
  ~SitesQuery() { alive_.reset(); }
  SitesQuery(const SitesQuery&) = delete;
  SitesQuery& operator=(const SitesQuery&) = delete;

  void collect(const heap_query::SitesRequest& request, uid_t peer, std::function<void(Answer)> done);
  void answer_ended_with(EndedSitesOf ended_of) { ended_of_ = std::move(ended_of); }

 private:
  boost::asio::io_context& loop_;
  const Registry& registry_;
  SiteWatch& sites_;
  SymbolService* symbols_;
  VerdictStateOf verdict_of_;
  EndedSitesOf ended_of_;
  std::chrono::milliseconds patience_;
  // Timers and symbolizer answers that outlive the query see this expired.
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace memproxy::heapwatch

#endif
