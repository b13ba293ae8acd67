// What memproxyd knows of one monitored process over time: the process, and
// the readings of its heap account the poller takes (every second by
// default). Both are the wire types memproxyctl reads (heap_query), so what
// the daemon keeps is what it answers, with no copy between them. Shared by
// the poller, the history store, the leak verdict, the exporters and the
// query server.
#ifndef MEMPROXYD_HEAPWATCH_WATCHED_PROCESS_HPP
#define MEMPROXYD_HEAPWATCH_WATCHED_PROCESS_HPP

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "memproxy/heap_query.hpp"

namespace memproxy::heapwatch {

// A process is identified by its pid and its start time (field 22 of
// /proc/PID/stat, clock ticks since boot): together they never repeat
// while the host runs, whereas a pid alone is reused.
struct ProcessId {
  pid_t pid = 0;
  uint64_t start_ticks = 0;
  friend bool operator==(const ProcessId&, const ProcessId&) = default;
  friend auto operator<=>(const ProcessId&, const ProcessId&) = default;
};

inline ProcessId id_of(const heap_query::Process& p) { return {p.pid, p.start_ticks}; }

// The process as it is shown (uid kernel-verified, by SO_PEERCRED or /proc;
// program as process::program_name gives it), and what only the daemon
// needs of it.
struct WatchedProcess : heap_query::Process {
  std::string memory_cgroup;  // memory_cgroup_of, read when identified; not kept in the history
  void set_id(const ProcessId& id) {
    pid = id.pid;
    start_ticks = id.start_ticks;
  }
};

using Reading = heap_query::Reading;

}  // namespace memproxy::heapwatch

#endif
