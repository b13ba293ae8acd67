#include "heapwatch/service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>
#include <vector>

#include "heapwatch/analysis/daemon_verdict.hpp"
#include "heapwatch/analysis/site_watch.hpp"
#include "heapwatch/intake/heap_watch.hpp"
#include "heapwatch/serve/exporters.hpp"
#include "heapwatch/serve/query_server.hpp"
#include "heapwatch/serve/query_answers.hpp"
#include "heapwatch/serve/site_keeping.hpp"
#include "heapwatch/serve/sites_query.hpp"
#include "heapwatch/serve/symbol_service.hpp"
#include "heapwatch/serve/trace_requests.hpp"
#include "heapwatch/serve/watch_state.hpp"
#include "heapwatch/store/history_keeper.hpp"
#include "memproxy/clock.hpp"
#include "symbols/worker_path.hpp"

namespace memproxy::heapwatch {

Service::Service(boost::asio::io_context& io, ServiceOptions options, status::Record& status,
                 std::function<void()> write_status)
    : io_(io), options_(std::move(options)), status_(status), write_status_(std::move(write_status)) {}

Service::~Service() = default;

std::string Service::start() {
  HeapWatchOptions watch;
  watch.socket_path = options_.heap_socket;
  watch.sample_interval = options_.sample_interval;
  watch.rescan_interval = options_.rescan_interval;
  heap_watch_ = std::make_unique<HeapWatch>(io_, watch);
  start_history();
  watch_state_ = std::make_unique<DaemonWatchState>(io_, heap_watch_->registry(), keeper_.get());
  watch_state_->recall_ended_growing();
  start_symbols();
  start_sites();
  heap_watch_->registry().on_end = [this](const Watched& w) {
    const ProcessId id = id_of(w.process);
    if (keeper_) keeper_->ended(id, w.process.ended_unix_ns);
    watch_state_->forget(id);
    traces_->process_ended(id);  // before its account is unmapped
    site_watch_->forget(id);
    if (site_keeping_) site_keeping_->forget(id);
    symbols_->forget(id);
  };
  start_traces();
  start_site_keeping();

  query_server_ = std::make_unique<QueryServer>(io_, *watch_state_);
  query_server_->serve_traces(traces_.get());
  query_server_->answer_sites_with(sites_query_.get());
  std::string error = query_server_->listen(options_.query_socket);
  if (!error.empty()) return error;
  spdlog::info("heap watch: answering queries on {}", options_.query_socket);

  exporters_ = std::make_unique<Exporters>(*watch_state_);
  error = exporters_->start({options_.prometheus_listen, options_.prometheus_textfile,
                             options_.prometheus_textfile_mode, options_.prometheus_textfile_group});
  if (!error.empty()) return error;
  heap_watch_->on_end_known = [this](const ProcessId& id, const std::string& how) {
    spdlog::info("pid {} ended: {}", id.pid, how);
    watch_state_->ended_how(id, how);
    if (keeper_) keeper_->ended_how(id, how);
  };
  heap_watch_->on_tick = [this](const std::vector<ProcessReading>& readings, int64_t unix_ns) {
    site_watch_->on_tick(heap_watch_->registry(), unix_ns);
    if (keeper_ && keeper_->accepting()) {
      std::vector<Observation> tick;
      tick.reserve(readings.size());
      for (const ProcessReading& r : readings) tick.push_back({*r.process, r.reading});
      keeper_->record(std::move(tick));
    }
    exporters_->on_tick(std::chrono::steady_clock::now());
  };
  return heap_watch_->start();
}

// One symbolizer for call sites and traced callers, with one cache.
// Which worker it will run is said here, once the daemon's log is set up
// (syslog for a backgrounded daemon): without its worker the daemon runs,
// but names no functions.
void Service::start_symbols() {
  const symbols::WorkerChoice worker = symbols::choose_worker(options_.symbolizer);
  if (worker.problem.empty()) {
    spdlog::info("symbolizer: {}", worker.path);
  } else {
    spdlog::warn("{}", worker.problem);
  }
  SymbolServiceOptions symbolizing;
  if (!options_.symbolizer.empty()) symbolizing.client.worker_command = {options_.symbolizer};
  symbolizing.timeout = options_.symbolizer_timeout;
  symbolizing.root_worker_user = options_.symbolizer_user;
  symbols_ = std::make_unique<SymbolService>(io_, symbolizing);
}

void Service::start_traces() {
  const Registry& registry = heap_watch_->registry();
  TraceRequestLimits limits;
  limits.stream.drain_interval = options_.trace_drain_interval;
  traces_ = std::make_unique<TraceRequests>(
      io_,
      [&registry](pid_t pid) -> std::optional<TraceTarget> {
        std::optional<TraceTarget> found;
        registry.for_each([&](const Watched& w) {
          if (w.process.pid == pid && w.account) found = TraceTarget{w.process, &w.account.trace(), w.account.event_slots()};
        });
        return found;
      },
      [this, &registry](const WatchedProcess& process, std::vector<uint64_t> addresses, SymbolService::Done done) {
        const Watched* watched = registry.find(id_of(process));
        symbols_->symbolize(watched ? watched->handle : nullptr, process, std::move(addresses), std::move(done));
      },
      limits);
}

// Call sites: snapshots at the verdict's time scale, so a test sees
// their growth as soon as it sees the verdict's.
void Service::start_sites() {
  SiteHistoryLimits limits;
  limits.snapshot_interval_ns /= options_.verdict_time_scale;
  limits.warm_up_ns = VerdictParameters{}.fast_warm_up_s * kNsPerSecond / options_.verdict_time_scale;
  site_watch_ = std::make_unique<SiteWatch>(limits);
  sites_query_ = std::make_unique<SitesQuery>(io_, heap_watch_->registry(), *site_watch_, symbols_.get(),
                                              [this](const ProcessId& id) { return watch_state_->verdict_state(id); });
}

// Without a history nothing is kept: call sites end with their process.
void Service::start_site_keeping() {
  if (!keeper_) return;
  namespace hq = memproxy::heap_query;
  using Found = std::function<void(std::optional<hq::SitesAnswer>)>;
  HistoryKeeper& keeper = *keeper_;
  SiteKeepingOptions keeping;
  keeping.interval = std::max<std::chrono::milliseconds>(
      std::chrono::duration_cast<std::chrono::milliseconds>(keeping.interval / options_.verdict_time_scale),
      std::chrono::milliseconds(1000));
  site_keeping_ = std::make_unique<SiteKeeping>(
      io_, heap_watch_->registry(), *site_watch_, *sites_query_,
      [&keeper](const ProcessId& id, hq::SitesAnswer answer, int64_t unix_ns) {
        keeper.keep_sites(id, std::move(answer), unix_ns);
      },
      [&keeper](const ProcessId& id, Found found) {
        return keeper.query([id, found = std::move(found)](HistoryStore* store) -> HistoryKeeper::LoopContinuation {
          std::optional<hq::SitesAnswer> answer;
          if (store != nullptr) {
            Result<std::optional<KeptSites>> kept = store->kept_sites(id);
            if (kept && *kept) answer = std::move((*kept)->answer);
          }
          return [found, answer = std::move(answer)]() mutable { found(std::move(answer)); };
        });
      },
      keeping);
  heap_watch_->on_added = [this](const Watched& w) { site_keeping_->on_added(w); };
  sites_query_->answer_ended_with([&keeper](pid_t pid, uid_t peer, Found found) {
    return keeper.query([pid, peer, found = std::move(found)](HistoryStore* store) -> HistoryKeeper::LoopContinuation {
      std::optional<hq::SitesAnswer> answer = store ? ended_sites_in(*store, pid, peer) : std::nullopt;
      return [found, answer = std::move(answer)]() mutable { found(std::move(answer)); };
    });
  });
  site_keeping_->start();
}

// The keeper opens the store on its own thread: a large database's
// integrity check takes seconds, which the daemon does not wait for.
void Service::start_history() {
  if (options_.history_path.empty()) {
    status_.history_state = "off";
    write_status_();
    spdlog::info("history: off (--no-history): no leak verdicts, and history of running processes only");
    return;
  }
  const int scale = options_.verdict_time_scale;
  if (scale != 1) spdlog::warn("history: leak verdicts {} times faster than real time (a test setting)", scale);
  HistoryKeeperOptions keeping;
  keeping.path = options_.history_path;
  keeping.verdict = time_scaled(VerdictParameters{}, scale);
  keeping.verdict_interval = time_scaled(kVerdictInterval, scale);
  keeping.exhaustion = time_scaled(ExhaustionParameters{}, scale);
  keeping.store.retention.max_processes = options_.history_max_processes;
  keeping.store.retention.max_processes_per_user = options_.history_user_quota;
  keeping.maintenance_interval = options_.history_maintenance_interval;
  HistoryKeeper::Callbacks callbacks;
  callbacks.on_verdicts = [this](HistoryKeeper::Verdicts verdicts) {
    if (watch_state_) watch_state_->set_verdicts(std::move(verdicts));
  };
  callbacks.on_health = [this](const HistoryHealth& health) { record_history_health(health); };
  status_.history_path = options_.history_path;
  record_history_health({});
  keeper_ = std::make_unique<HistoryKeeper>(io_, keeping, std::move(callbacks));
}

void Service::record_history_health(const HistoryHealth& health) {
  status_.history_state = to_string(health.state);
  status_.history_problem = health.problem;
  status_.history_dropped_samples = health.dropped_observations;
  write_status_();
}

}  // namespace memproxy::heapwatch
