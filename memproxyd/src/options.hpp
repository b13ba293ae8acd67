// memproxyd's command line.
#ifndef MEMPROXYD_OPTIONS_HPP
#define MEMPROXYD_OPTIONS_HPP

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace memproxy::daemon {

enum class WatchMode { automatic, inotify, ports, poll, none };

struct Options {
  std::string config_path;
  std::string table_path;
  std::string allocator;
  bool foreground = false;
  bool once = false;
  bool check = false;
  WatchMode watch = WatchMode::automatic;
  std::chrono::milliseconds poll_interval{1000};
  // Heap watch: the socket monitored processes hand their accounts to
  // ("" = heap.sock beside the table), and how often they are sampled.
  bool heap_watch = true;
  std::string heap_socket;
  std::chrono::milliseconds sample_interval{1000};
  // How often the running processes are looked through for accounts whose
  // hand-over was refused or missed (the finder); tests shorten it.
  std::chrono::milliseconds rescan_interval{10000};
  // Where memproxyctl top, leaks and history ask ("" = query.sock beside
  // the table), and the Prometheus exporters ("" = off).
  std::string query_socket;
  std::string prometheus_listen;    // [ADDR:]PORT; ADDR defaults to 127.0.0.1
  std::string prometheus_textfile;  // a node_exporter textfile, replaced atomically
  mode_t prometheus_textfile_mode = 0640;  // never writable by group or others
  gid_t prometheus_textfile_group = 0;
  // The sandboxed symbolizer worker that names call sites ("" = the
  // installed one, symbols::installed_worker_path()).
  std::string symbolizer;
  // The user the worker naming root's processes runs as: one of its own,
  // so that no other user may signal or trace it (nobody when missing).
  std::string symbolizer_user = "memproxy-symbols";
  // How long one symbolizing request may take before its worker is killed.
  std::chrono::milliseconds symbolizer_timeout{5000};
  // The history of watched processes ("" = none kept, --no-history).
  std::string history_path;
  // How many processes the history keeps in all, and of any one user but
  // root (their own oldest go first); and how often it enforces that
  // (tests shorten it).
  size_t history_max_processes = 10'000;
  size_t history_user_quota = 1'000;
  std::chrono::milliseconds history_maintenance_interval{60'000};
  // Divides every duration of the leak verdict and its cadence, so tests
  // see in a minute what takes an hour (1..kMaxVerdictTimeScale).
  int verdict_time_scale = 1;
  // How often a trace's ring is drained; tests slow it to fill the ring.
  std::chrono::milliseconds trace_drain_interval{10};
};

// The verdict's shortest duration is its one-minute window, in whole seconds.
inline constexpr int kMaxVerdictTimeScale = 60;

// The heap socket of `options`: the given one, or heap.sock beside the table.
std::string heap_socket_path(const Options& options);
// The query socket of `options`: the given one, or query.sock beside the table.
std::string query_socket_path(const Options& options);

// Why this memproxyd has no heap watch, for whoever asks it for one: built
// without it, or on a system it does not support (Linux only).
std::string without_heap_watch();

// Either the options to run with, or the exit status to leave with at once
// (--help, --version, usage errors) after the parser printed its message.
struct ParsedOptions {
  std::optional<Options> options;
  int exit_code = 0;
};

ParsedOptions parse_options(int argc, const char* const* argv);

// Exit statuses, stable for scripts: 0 success, 1 a config or runtime error,
// 2 a usage error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

}  // namespace memproxy::daemon

#endif
