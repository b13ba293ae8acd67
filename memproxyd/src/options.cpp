#include "options.hpp"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <climits>
#include <cstdio>
#include <map>

#include "memproxy/defaults.hpp"
#include "memproxy/table_format.h"

#if MEMPROXY_HEAP_WATCH
#include "heapwatch/service_options.hpp"
#include "symbols/worker_path.hpp"
#endif

#ifndef MEMPROXY_VERSION
#define MEMPROXY_VERSION "unknown"
#endif

namespace memproxy::daemon {
namespace {

std::optional<mode_t> textfile_mode_value(const std::string& text) {
  if (text.empty() || text.size() > 4 || text.find_first_not_of("01234567") != std::string::npos) return std::nullopt;
  const auto mode = static_cast<mode_t>(std::stoul(text, nullptr, 8));
  if ((mode & (S_IWGRP | S_IWOTH)) != 0 || mode > 0755) return std::nullopt;
  return mode;
}

std::optional<gid_t> group_id(const std::string& text) {
  if (!text.empty() && text.size() < 11 && text.find_first_not_of("0123456789") == std::string::npos) {
    unsigned long id = std::stoul(text);
    if (id < UINT_MAX) return static_cast<gid_t>(id);
    return std::nullopt;
  }
  char buffer[16384];
  group entry{};
  group* found = nullptr;
  if (::getgrnam_r(text.c_str(), &entry, buffer, sizeof buffer, &found) != 0 || found == nullptr) return std::nullopt;
  return found->gr_gid;
}

#if MEMPROXY_HEAP_WATCH
// Why the daemon may not write `path` (daemon_file_path.hpp), when another
// user could redirect its writes; "" otherwise. Relative paths are taken
// from the working directory, as main() takes them.
std::string untrusted_daemon_file(const std::string& path) {
  if (path.empty()) return "";
  std::string absolute = path;
  if (path[0] != '/') {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd) == nullptr) return "";
    absolute = std::string(cwd) + "/" + path;
  }
  return heapwatch::untrusted_daemon_file(absolute);
}

std::string prometheus_listen_problem(const std::string& value) { return heapwatch::prometheus_listen_problem(value); }

std::string installed_worker_text() { return memproxy::symbols::installed_worker_path(); }
#else
// The options that ask the heap watch for something, refused rather than
// ignored (--no-heap-watch and --no-history ask for nothing, and pass).
// A name missing from the parser throws: the list cannot go stale quietly.
constexpr const char* kHeapWatchOptions[] = {
    "--heap-socket",          "--sample-interval",    "--query-socket",
    "--prometheus-listen",    "--prometheus-textfile", "--prometheus-textfile-mode",
    "--prometheus-textfile-group", "--symbolizer",    "--symbolizer-user",
    "--symbolizer-timeout",   "--history",            "--history-max-processes",
    "--history-user-quota",   "--history-maintenance-interval",
    "--verdict-time-scale",   "--trace-drain-interval", "--rescan-interval",
};

// Refused before its value matters.
std::string prometheus_listen_problem(const std::string&) { return ""; }

std::string installed_worker_text() { return "nowhere: " + without_heap_watch(); }
#endif

}  // namespace

std::string without_heap_watch() {
#if defined(__linux__)
  return "this memproxyd is built without the heap watch (MEMPROXY_HEAP_WATCH=OFF)";
#else
  return "this memproxyd is built without the heap watch: the heap watch is unsupported on this platform (Linux only)";
#endif
}

ParsedOptions parse_options(int argc, const char* const* argv) {
  Options options;
  options.config_path = defaults::kConfigPath;
  options.table_path = defaults::kTablePath;
  options.history_path = defaults::kHistoryPath;

  CLI::App app{
      "memproxyd: parses and watches memproxy.conf and publishes the routing table that\n"
      "libmemproxy maps in every new process. The table is replaced atomically, never edited."};
  app.set_version_flag("--version", std::string("memproxyd ") + MEMPROXY_VERSION);
  app.add_option("-c,--config", options.config_path, "configuration file")
      ->capture_default_str();
  app.add_option("-t,--table", options.table_path, "table to publish (its directory must be writable by its owner only)")
      ->capture_default_str();
  app.add_option("--allocator", options.allocator, "custom allocator library named in the table")
      ->check([](const std::string& value) -> std::string {
        if (value.size() > table::kMaxAllocatorLength) {
          return "allocator name longer than " + std::to_string(table::kMaxAllocatorLength) + " bytes";
        }
        if (value.find('\n') != std::string::npos) return "allocator name contains a newline";
        return {};
      });
  app.add_flag("-f,--foreground", options.foreground, "stay in the foreground and log to stderr");
  auto* once = app.add_flag("--once", options.once, "publish once and exit");
  auto* check = app.add_flag("--check", options.check, "validate the configuration, print diagnostics, exit non-zero on error");
  once->excludes(check);
  check->excludes(once);

  std::string watch_name = "auto";
  app.add_option("--watch", watch_name,
                 "how to notice config changes: auto, inotify (Linux), ports (Solaris), poll, "
                 "none (SIGHUP only)")
      ->check(CLI::IsMember({"auto", "inotify", "ports", "poll", "none"}))
      ->capture_default_str();
  int poll_ms = static_cast<int>(options.poll_interval.count());
  app.add_option("--poll-interval", poll_ms, "milliseconds between checks with --watch poll")
      ->check(CLI::Range(1, 3600 * 1000))
      ->capture_default_str();

  app.add_flag("!--no-heap-watch", options.heap_watch, "do not watch monitored processes' heaps");
  app.add_option("--heap-socket", options.heap_socket,
                 "socket monitored processes hand their heap accounts to (default: heap.sock beside the table)");
  int sample_ms = static_cast<int>(options.sample_interval.count());
  app.add_option("--sample-interval", sample_ms, "milliseconds between samples of each monitored process")
      ->check(CLI::Range(10, 3600 * 1000))
      ->capture_default_str();
  app.add_option("--query-socket", options.query_socket,
                 "socket memproxyctl top, leaks and history ask (default: query.sock beside the table)");
  app.add_option("--prometheus-listen", options.prometheus_listen,
                 "serve Prometheus metrics on [ADDR:]PORT (ADDR defaults to 127.0.0.1; off unless given)")
      ->check([](const std::string& value) { return prometheus_listen_problem(value); });
  app.add_option("--prometheus-textfile", options.prometheus_textfile,
                 "write Prometheus metrics to this file for node_exporter's textfile collector (replaced atomically)");

  std::string textfile_mode = "0640";
  app.add_option("--prometheus-textfile-mode", textfile_mode,
                 "octal mode of the textfile (it names every user's watched processes); never writable by group "
                 "or others")
      ->check([](const std::string& value) -> std::string {
        return textfile_mode_value(value) ? "" : "an octal mode up to 0755, not writable by group or others";
      })
      ->capture_default_str();
  std::string textfile_group = "root";
  app.add_option("--prometheus-textfile-group", textfile_group,
                 "group (name or number) of the textfile, for the collector that reads it")
      ->check([](const std::string& value) -> std::string {
        return group_id(value) ? "" : "no such group: " + value;
      })
      ->capture_default_str();

  app.add_option("--symbolizer", options.symbolizer,
                 "the sandboxed worker that names the functions and lines of call sites and traced callers "
                 "(default: memproxyd-symbolize beside memproxyd, then in ../libexec/memproxy/ from it, then " +
                     installed_worker_text() + ")");
  app.add_option("--symbolizer-user", options.symbolizer_user,
                 "the user the worker naming root's processes runs as, one no other process runs as (another "
                 "user's worker runs as that user); when there is no such user, nobody, with a warning")
      ->check([](const std::string& value) -> std::string {
        return value.empty() || value.find('\n') != std::string::npos ? "a user name" : "";
      })
      ->capture_default_str();
  int symbolizer_timeout_s = static_cast<int>(options.symbolizer_timeout.count() / 1000);
  app.add_option("--symbolizer-timeout", symbolizer_timeout_s,
                 "seconds one symbolizing request may take before its worker is killed (each user's requests wait "
                 "only for their own)")
      ->check(CLI::Range(1, 600))
      ->capture_default_str();
  auto* history = app.add_option("--history", options.history_path,
                                 "the watched processes' history (SQLite; its directory is created 0700 when missing)")
                      ->capture_default_str();
  bool no_history = false;
  app.add_flag("--no-history", no_history, "keep no history: no leak verdicts, history only of running processes")
      ->excludes(history);
  app.add_option("--history-max-processes", options.history_max_processes,
                 "processes the history keeps in all; ended ones of regular users go first, root's and system "
                 "users' last (for admins and tests)")
      ->check(CLI::Range(1, 10'000'000))
      ->capture_default_str();
  app.add_option("--history-user-quota", options.history_user_quota,
                 "processes the history keeps of any one user but root, that user's own oldest going first, so "
                 "that one user's churn erases no one else's history; 0: no share (for admins and tests)")
      ->check(CLI::Range(0, 10'000'000))
      ->capture_default_str();
  // For tests: the history's limits enforced sooner. Hidden.
  int history_maintenance_ms = static_cast<int>(options.history_maintenance_interval.count());
  app.add_option("--history-maintenance-interval", history_maintenance_ms)
      ->check(CLI::Range(100, 3600 * 1000))
      ->group("");
  // For tests: an hour of the verdict's time in a minute. Hidden (no group).
  app.add_option("--verdict-time-scale", options.verdict_time_scale)
      ->check(CLI::Range(1, kMaxVerdictTimeScale))
      ->group("");
  // For tests: a ring drained this rarely fills up. Hidden.
  int trace_drain_ms = static_cast<int>(options.trace_drain_interval.count());
  app.add_option("--trace-drain-interval", trace_drain_ms)->check(CLI::Range(1, 10000))->group("");
  // For tests: a refused hand-over is found again sooner. Hidden.
  int rescan_ms = static_cast<int>(options.rescan_interval.count());
  app.add_option("--rescan-interval", rescan_ms)->check(CLI::Range(100, 3600 * 1000))->group("");
#if !MEMPROXY_HEAP_WATCH
  for (const char* name : kHeapWatchOptions) {
    CLI::Option* option = app.get_option(name);
    if (!option->get_group().empty()) option->group("Heap watch (not built into this memproxyd)");
  }
#endif

  ParsedOptions result;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    result.exit_code = code == 0 ? kExitOk : kExitUsage;
    return result;
  }
#if !MEMPROXY_HEAP_WATCH
  for (const char* name : kHeapWatchOptions) {
    if (app.count(name) == 0) continue;
    std::fprintf(stderr, "memproxyd: %s: %s; it publishes the table only\n", name, without_heap_watch().c_str());
    result.exit_code = kExitUsage;
    return result;
  }
  options.heap_watch = false;
#endif
  options.poll_interval = std::chrono::milliseconds(poll_ms);
  options.sample_interval = std::chrono::milliseconds(sample_ms);
  options.trace_drain_interval = std::chrono::milliseconds(trace_drain_ms);
  options.rescan_interval = std::chrono::milliseconds(rescan_ms);
  options.symbolizer_timeout = std::chrono::seconds(symbolizer_timeout_s);
  options.history_maintenance_interval = std::chrono::milliseconds(history_maintenance_ms);
  const std::map<std::string, WatchMode> watch_modes{{"auto", WatchMode::automatic},
                                                     {"inotify", WatchMode::inotify},
                                                     {"ports", WatchMode::ports},
                                                     {"poll", WatchMode::poll},
                                                     {"none", WatchMode::none}};
  options.watch = watch_modes.at(watch_name);
  if (no_history) options.history_path.clear();
  options.prometheus_textfile_mode = *textfile_mode_value(textfile_mode);
  options.prometheus_textfile_group = *group_id(textfile_group);
#if MEMPROXY_HEAP_WATCH
  if (options.heap_watch && !options.once && !options.check) {
    for (const auto& [option, path] : {std::pair<const char*, std::string>{"--history", options.history_path},
                                       {"--prometheus-textfile", options.prometheus_textfile}}) {
      std::string why = untrusted_daemon_file(path);
      if (why.empty()) continue;
      std::fprintf(stderr,
                   "memproxyd: %s %s: %s; memproxyd writes only where no other user can plant a link "
                   "(every directory up the path owned by root and writable by no one else)\n",
                   option, path.c_str(), why.c_str());
      result.exit_code = kExitFailure;
      return result;
    }
  }
#endif
  result.options = options;
  return result;
}

namespace {

std::string beside_table(const Options& options, const char* name) {
  auto slash = options.table_path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "" : options.table_path.substr(0, slash);
  return dir + "/" + name;
}

}  // namespace

std::string heap_socket_path(const Options& options) {
  return options.heap_socket.empty() ? beside_table(options, defaults::kHeapSocketName) : options.heap_socket;
}

std::string query_socket_path(const Options& options) {
  return options.query_socket.empty() ? beside_table(options, defaults::kQuerySocketName) : options.query_socket;
}

}  // namespace memproxy::daemon
