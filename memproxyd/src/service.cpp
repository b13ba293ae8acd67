#include "service.hpp"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <spdlog/spdlog.h>

#include "daemonize.hpp"
#include "heapwatch/analysis/daemon_verdict.hpp"
#include "heapwatch/analysis/site_watch.hpp"
#include "heapwatch/intake/heap_watch.hpp"
#include "heapwatch/serve/exporters.hpp"
#include "heapwatch/serve/query_server.hpp"
#include "heapwatch/serve/sites_query.hpp"
#include "heapwatch/serve/symbol_service.hpp"
#include "heapwatch/serve/trace_requests.hpp"
#include "heapwatch/serve/watch_state.hpp"
#include "heapwatch/store/history_keeper.hpp"
#include "instance_lock.hpp"
#include "logging.hpp"
#include "memproxy/status_record.hpp"
#include "publisher.hpp"
#include "reloader.hpp"
#include "runtime_dir.hpp"
#include "status_writer.hpp"
#include "symbols/worker_path.hpp"
#include "watcher.hpp"

namespace memproxy::daemon {
namespace {

// How long a burst of change notices (an editor's write, chmod and rename) is
// gathered into one reload. Counted from the first notice, not extended by
// later ones, so a reload is never more than this late.
constexpr std::chrono::milliseconds kCoalesce{3};

int64_t unix_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Signals are caught from the loop's construction on: build it before the
// first publish, which can take a while.
class EventLoop {
 public:
  EventLoop(const Options& options, Reloader& reloader, StatusWriter& status)
      : options_(options),
        reloader_(reloader),
        status_(status),
        signals_(io_, SIGHUP, SIGTERM, SIGINT),
        coalesce_(io_) {}

  std::string start_watching() {
    std::string error;
    watcher_ = start_watcher(options_.watch, options_.config_path, options_.poll_interval, io_,
                             [this] { on_change(); }, &error);
    if (!error.empty()) return error;
    if (watcher_) {
      spdlog::info("watching {} ({})", options_.config_path, watcher_->name());
    } else {
      spdlog::info("not watching {}: reloads on SIGHUP only", options_.config_path);
    }
    return {};
  }

  std::string start_heap_watch() {
    if (!options_.heap_watch) return {};
    heapwatch::HeapWatchOptions watch;
    watch.socket_path = heap_socket_path(options_);
    watch.sample_interval = options_.sample_interval;
    watch.rescan_interval = options_.rescan_interval;
    heap_watch_ = std::make_unique<heapwatch::HeapWatch>(io_, watch);
    start_history();
    watch_state_ = std::make_unique<heapwatch::DaemonWatchState>(io_, heap_watch_->registry(), keeper_.get());
    start_symbols();
    start_sites();
    heap_watch_->registry().on_end = [this](const heapwatch::Watched& w) {
      if (keeper_) keeper_->ended(w.process.id, w.process.ended_unix_ns);
      watch_state_->forget(w.process.id);
      traces_->process_ended(w.process.id);  // before its account is unmapped
      site_watch_->forget(w.process.id);
      symbols_->forget(w.process.id);
    };
    start_traces();

    query_server_ = std::make_unique<heapwatch::QueryServer>(io_, *watch_state_);
    query_server_->serve_traces(traces_.get());
    query_server_->answer_sites_with(sites_query_.get());
    const std::string query_socket = query_socket_path(options_);
    std::string error = query_server_->listen(query_socket);
    if (!error.empty()) return error;
    spdlog::info("heap watch: answering queries on {}", query_socket);

    exporters_ = std::make_unique<heapwatch::Exporters>(*watch_state_);
    error = exporters_->start({options_.prometheus_listen, options_.prometheus_textfile,
                               options_.prometheus_textfile_mode, options_.prometheus_textfile_group});
    if (!error.empty()) return error;
    heap_watch_->on_tick = [this](const std::vector<heapwatch::Reading>& readings, int64_t unix_ns) {
      site_watch_->on_tick(heap_watch_->registry(), unix_ns);
      if (keeper_ && keeper_->accepting()) {
        std::vector<heapwatch::Observation> tick;
        tick.reserve(readings.size());
        for (const heapwatch::Reading& r : readings) tick.push_back({*r.process, r.sample});
        keeper_->record(std::move(tick));
      }
      exporters_->on_tick(std::chrono::steady_clock::now());
    };
    return heap_watch_->start();
  }

  void run() {
    wait_for_signal();
    io_.run();
  }

 private:
  void wait_for_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        reloader_.reload(false, "SIGHUP");
        wait_for_signal();
        return;
      }
      spdlog::info("{}: exiting; the table stays in place", signal == SIGTERM ? "SIGTERM" : "SIGINT");
      io_.stop();
    });
  }

  // One symbolizer for call sites and traced callers, with one cache.
  // Which worker it will run is said here, once the daemon's log is set up
  // (syslog for a backgrounded daemon): without its worker the daemon runs,
  // but names no functions.
  void start_symbols() {
    const symbols::WorkerChoice worker = symbols::choose_worker(options_.symbolizer);
    if (worker.problem.empty()) {
      spdlog::info("symbolizer: {}", worker.path);
    } else {
      spdlog::warn("{}", worker.problem);
    }
    heapwatch::SymbolServiceOptions symbolizing;
    if (!options_.symbolizer.empty()) symbolizing.client.worker_command = {options_.symbolizer};
    symbolizing.timeout = options_.symbolizer_timeout;
    symbolizing.root_worker_user = options_.symbolizer_user;
    symbols_ = std::make_unique<heapwatch::SymbolService>(io_, symbolizing);
  }

  void start_traces() {
    const heapwatch::Registry& registry = heap_watch_->registry();
    heapwatch::TraceRequestLimits limits;
    limits.stream.drain_interval = options_.trace_drain_interval;
    traces_ = std::make_unique<heapwatch::TraceRequests>(
        io_,
        [&registry](pid_t pid) -> std::optional<heapwatch::TraceTarget> {
          std::optional<heapwatch::TraceTarget> found;
          registry.for_each([&](const heapwatch::Watched& w) {
            if (w.process.id.pid == pid && w.account) found = heapwatch::TraceTarget{w.process, &w.account.trace()};
          });
          return found;
        },
        [this, &registry](const heapwatch::WatchedProcess& process, std::vector<uint64_t> addresses,
                          heapwatch::SymbolService::Done done) {
          const heapwatch::Watched* watched = registry.find(process.id);
          symbols_->symbolize(watched ? watched->handle : nullptr, process, std::move(addresses), std::move(done));
        },
        limits);
  }

  // Call sites: snapshots at the verdict's time scale, so a test sees
  // their growth as soon as it sees the verdict's.
  void start_sites() {
    heapwatch::SiteHistoryLimits limits;
    limits.snapshot_interval_ns /= options_.verdict_time_scale;
    site_watch_ = std::make_unique<heapwatch::SiteWatch>(limits);
    sites_query_ = std::make_unique<heapwatch::SitesQuery>(io_, heap_watch_->registry(), *site_watch_, symbols_.get());
  }

  // The keeper opens the store on its own thread: a large database's
  // integrity check takes seconds, which the daemon does not wait for.
  void start_history() {
    status::Record& record = status_.record();
    if (options_.history_path.empty()) {
      record.history_state = "off";
      status_.write();
      spdlog::info("history: off (--no-history): no leak verdicts, and history of running processes only");
      return;
    }
    const int scale = options_.verdict_time_scale;
    if (scale != 1) spdlog::warn("history: leak verdicts {} times faster than real time (a test setting)", scale);
    heapwatch::HistoryKeeperOptions keeping;
    keeping.path = options_.history_path;
    keeping.verdict = heapwatch::time_scaled(heapwatch::VerdictParameters{}, scale);
    keeping.verdict_interval = heapwatch::time_scaled(heapwatch::kVerdictInterval, scale);
    keeping.store.retention.max_processes = options_.history_max_processes;
    keeping.store.retention.max_processes_per_user = options_.history_user_quota;
    keeping.maintenance_interval = options_.history_maintenance_interval;
    heapwatch::HistoryKeeper::Callbacks callbacks;
    callbacks.on_verdicts = [this](heapwatch::HistoryKeeper::Verdicts verdicts) {
      if (watch_state_) watch_state_->set_verdicts(std::move(verdicts));
    };
    callbacks.on_health = [this](const heapwatch::HistoryHealth& health) { record_history_health(health); };
    record.history_path = options_.history_path;
    record_history_health({});
    keeper_ = std::make_unique<heapwatch::HistoryKeeper>(io_, keeping, std::move(callbacks));
  }

  void record_history_health(const heapwatch::HistoryHealth& health) {
    status::Record& record = status_.record();
    record.history_state = heapwatch::to_string(health.state);
    record.history_problem = health.problem;
    record.history_dropped_samples = health.dropped_observations;
    status_.write();
  }

  void on_change() {
    if (reload_pending_) return;
    reload_pending_ = true;
    coalesce_.expires_after(kCoalesce);
    coalesce_.async_wait([this](const boost::system::error_code& ec) {
      reload_pending_ = false;
      if (!ec) reloader_.reload(false, "config changed");
    });
  }

  const Options& options_;
  Reloader& reloader_;
  StatusWriter& status_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer coalesce_;
  bool reload_pending_ = false;
  std::unique_ptr<Watcher> watcher_;
  // Destroyed in reverse: the exporters and the query server read the
  // watch state, which reads the heap watch's registry and asks the history
  // keeper; the sites query reads the site watch, the symbol service and
  // the registry; the heap watch's callbacks post to the keeper, which goes last,
  // recording what is still queued.
  std::unique_ptr<heapwatch::HistoryKeeper> keeper_;
  std::unique_ptr<heapwatch::HeapWatch> heap_watch_;
  std::unique_ptr<heapwatch::DaemonWatchState> watch_state_;
  // Traces end (their rings off) before the heap watch unmaps the accounts;
  // both users of the symbolizer go before it.
  std::unique_ptr<heapwatch::SiteWatch> site_watch_;
  std::unique_ptr<heapwatch::SymbolService> symbols_;
  std::unique_ptr<heapwatch::TraceRequests> traces_;
  std::unique_ptr<heapwatch::SitesQuery> sites_query_;
  std::unique_ptr<heapwatch::QueryServer> query_server_;
  std::unique_ptr<heapwatch::Exporters> exporters_;
};

}  // namespace

int run_service(const Options& options) {
  const bool background = !options.foreground && !options.once;
  setup_logging(background ? LogTarget::syslog_and_stderr : LogTarget::stderr_only);
  Detacher detacher;
  if (background) detacher.detach();
  auto fail = [&detacher](const std::string& message) {
    spdlog::error("{}", message);
    detacher.ready(kExitFailure);
    return kExitFailure;
  };

  const std::string runtime_dir = parent_dir(options.table_path);
  std::string error = ensure_runtime_dir(runtime_dir);
  if (error.empty()) error = check_runtime_dir(runtime_dir);
  if (!error.empty()) return fail(error);

  InstanceLock lock;
  error = lock.acquire(status::lock_path_for(options.table_path));
  if (!error.empty()) return fail(error);

  table::Settings settings;
  settings.allocator = options.allocator;
  Publisher publisher(options.table_path, settings);
  StatusWriter status(options.table_path);
  auto& record = status.record();
  record.pid = ::getpid();
  record.state = "running";
  record.config_path = options.config_path;
  record.allocator = options.allocator;
  record.generation = publisher.generation();
  record.started_unix_ns = unix_now_ns();
  Reloader reloader(options.config_path, publisher, status);

  std::unique_ptr<EventLoop> loop;
  if (!options.once) {
    // Watching starts before the first read, so an edit made while that read
    // and publish are under way is not missed.
    loop = std::make_unique<EventLoop>(options, reloader, status);
    error = loop->start_watching();
    if (!error.empty()) return fail(error);
  }
  ReloadResult first = reloader.reload(true, "start");
  if (options.once) {
    record.state = "stopped";
    status.write();
    return first == ReloadResult::published ? kExitOk : kExitFailure;
  }

  error = loop->start_heap_watch();
  if (!error.empty()) return fail(error);
  spdlog::info("memproxyd {} running (pid {}), publishing {}", MEMPROXY_VERSION, ::getpid(), options.table_path);
  detacher.ready(kExitOk);
  if (background) detach_stderr_logging();
  loop->run();

  record.state = "stopped";
  status.write();
  return kExitOk;
}

}  // namespace memproxy::daemon
