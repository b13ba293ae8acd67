#include "service.hpp"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <spdlog/spdlog.h>

#include "daemonize.hpp"
#include "instance_lock.hpp"
#include "logging.hpp"
#include "memproxy/status_record.hpp"
#include "publisher.hpp"
#include "reloader.hpp"
#include "runtime_dir.hpp"
#include "status_writer.hpp"
#include "watcher.hpp"
#include "memproxy/clock.hpp"

#if MEMPROXY_HEAP_WATCH
#include "heapwatch/service.hpp"
#endif

namespace memproxy::daemon {
namespace {

// How long a burst of change notices (an editor's write, chmod and rename) is
// gathered into one reload. Counted from the first notice, not extended by
// later ones, so a reload is never more than this late.
constexpr std::chrono::milliseconds kCoalesce{3};

#if MEMPROXY_HEAP_WATCH
heapwatch::ServiceOptions heap_watch_options(const Options& options) {
  heapwatch::ServiceOptions watch;
  watch.heap_socket = heap_socket_path(options);
  watch.query_socket = query_socket_path(options);
  watch.sample_interval = options.sample_interval;
  watch.rescan_interval = options.rescan_interval;
  watch.prometheus_listen = options.prometheus_listen;
  watch.prometheus_textfile = options.prometheus_textfile;
  watch.prometheus_textfile_mode = options.prometheus_textfile_mode;
  watch.prometheus_textfile_group = options.prometheus_textfile_group;
  watch.symbolizer = options.symbolizer;
  watch.symbolizer_user = options.symbolizer_user;
  watch.symbolizer_timeout = options.symbolizer_timeout;
  watch.history_path = options.history_path;
  watch.history_max_processes = options.history_max_processes;
  watch.history_user_quota = options.history_user_quota;
  watch.history_maintenance_interval = options.history_maintenance_interval;
  watch.verdict_time_scale = options.verdict_time_scale;
  watch.trace_drain_interval = options.trace_drain_interval;
  return watch;
}
#endif

using memproxy::unix_now_ns;

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

  // Off with --no-heap-watch, or in a daemon built without it
  // (parse_options then turns it off): the daemon publishes tables only.
  std::string start_heap_watch() {
    if (!options_.heap_watch) return {};
#if MEMPROXY_HEAP_WATCH
    heap_watch_ = std::make_unique<heapwatch::Service>(io_, heap_watch_options(options_), status_.record(),
                                                       [this] { status_.write(); });
    return heap_watch_->start();
#else
    return without_heap_watch();
#endif
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
#if MEMPROXY_HEAP_WATCH
  // Destroyed before the watcher, while the io_context its parts cancel
  // their work on is still there.
  std::unique_ptr<heapwatch::Service> heap_watch_;
#endif
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
  record.ready_unix_ns = unix_now_ns();
  status.write();
  spdlog::info("memproxyd {} running (pid {}), publishing {}", MEMPROXY_VERSION, ::getpid(), options.table_path);
  detacher.ready(kExitOk);
  if (background) detach_stderr_logging();
  loop->run();

  record.state = "stopped";
  status.write();
  return kExitOk;
}

}  // namespace memproxy::daemon
