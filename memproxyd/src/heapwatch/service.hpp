// The heap watch as the daemon sees it: one object, built from the daemon's
// options and its event loop, that owns every stage (intake, analysis,
// store, serve) and fans each sampler tick and each process's end out to
// them. The daemon starts it after its first publish and destroys it before
// its config watcher; it knows nothing inside.
//
// Invariants:
// - start() builds the parts in one order: the heap watch (not listening
//   yet), history, watch state, symbolizer, sites, traces, query socket,
//   exporters, and listens on the heap socket last, so a hand-over never
//   finds a part missing. They are destroyed in reverse of their use:
//   readers of a part go before it.
// - A process's end reaches the history, the views, its traces (before its
//   account is unmapped), its call sites and its symbols, in that order.
// - Call sites outlive a process only as the history kept them while it
//   ran (site_keeping.hpp): its objects are gone with it.
// - Everything runs on the daemon's event loop thread but the history
//   keeper's store worker and the symbolizer's pool (their own headers).
#ifndef MEMPROXYD_HEAPWATCH_SERVICE_HPP
#define MEMPROXYD_HEAPWATCH_SERVICE_HPP

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "heapwatch/service_options.hpp"
#include "memproxy/status_record.hpp"

namespace memproxy::heapwatch {

class HeapWatch;
class DaemonWatchState;
class HistoryKeeper;
class SiteWatch;
class SymbolService;
class TraceRequests;
class SitesQuery;
class SiteKeeping;
class QueryServer;
class Exporters;
struct HistoryHealth;

class Service {
 public:
  // `status` is the daemon's status record, whose history fields the
  // service keeps current; `write_status` publishes it. Both outlive it.
  Service(boost::asio::io_context& io, ServiceOptions options, status::Record& status,
          std::function<void()> write_status);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Builds the parts, listens on the query socket, starts the exporters
  // and the heap socket. "" or why the daemon cannot run.
  std::string start();

 private:
  void start_history();
  void start_symbols();
  void start_sites();
  void start_site_keeping();
  void start_traces();
  void record_history_health(const HistoryHealth& health);

  boost::asio::io_context& io_;
  const ServiceOptions options_;
  status::Record& status_;
  std::function<void()> write_status_;
  // Destroyed in reverse: the exporters and the query server read the
  // watch state, which reads the heap watch's registry and asks the history
  // keeper; the sites query reads the site watch, the symbol service and
  // the registry; the heap watch's callbacks post to the keeper, which goes last,
  // recording what is still queued.
  std::unique_ptr<HistoryKeeper> keeper_;
  std::unique_ptr<HeapWatch> heap_watch_;
  std::unique_ptr<DaemonWatchState> watch_state_;
  // Traces end (their rings off) before the heap watch unmaps the accounts;
  // both users of the symbolizer go before it.
  std::unique_ptr<SiteWatch> site_watch_;
  std::unique_ptr<SymbolService> symbols_;
  std::unique_ptr<TraceRequests> traces_;
  std::unique_ptr<SitesQuery> sites_query_;
  std::unique_ptr<SiteKeeping> site_keeping_;  // asks the sites query and hands to the keeper
  std::unique_ptr<QueryServer> query_server_;
  std::unique_ptr<Exporters> exporters_;
};

}  // namespace memproxy::heapwatch

#endif
