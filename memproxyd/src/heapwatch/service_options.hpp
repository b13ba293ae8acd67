// What the heap watch is told by the daemon's command line, with the
// sockets' paths already resolved (heap.sock and query.sock beside the
// table unless given). Plain values: the heap watch does not see the
// table daemon's options.
#ifndef MEMPROXYD_HEAPWATCH_SERVICE_OPTIONS_HPP
#define MEMPROXYD_HEAPWATCH_SERVICE_OPTIONS_HPP

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <string>

namespace memproxy::heapwatch {

struct ServiceOptions {
  std::string heap_socket;
  std::string query_socket;
  std::chrono::milliseconds sample_interval{1000};
  std::chrono::milliseconds rescan_interval{10000};
  std::string prometheus_listen;    // "" = no pull exporter
  std::string prometheus_textfile;  // "" = no textfile
  mode_t prometheus_textfile_mode = 0640;
  gid_t prometheus_textfile_group = 0;
  std::string symbolizer;  // "" = the installed worker
  std::string symbolizer_user = "memproxy-symbols";
  std::chrono::milliseconds symbolizer_timeout{5000};
  std::string history_path;  // "" = no history (--no-history)
  size_t history_max_processes = 10'000;
  size_t history_user_quota = 1'000;
  std::chrono::milliseconds history_maintenance_interval{60'000};
  int verdict_time_scale = 1;
  std::chrono::milliseconds trace_drain_interval{10};
};

// Checks the daemon's command line makes before it starts, so that a bad
// value is a usage error rather than a failed start.
// "" when `listen` ([ADDR:]PORT) can be bound, else why not.
std::string prometheus_listen_problem(const std::string& listen);
// Why the daemon must not write `absolute_path` (the history, the textfile):
// another user could redirect its writes there; "" otherwise, including
// for a path merely unusable now (store/daemon_file_path.hpp).
std::string untrusted_daemon_file(const std::string& absolute_path);

}  // namespace memproxy::heapwatch

#endif
