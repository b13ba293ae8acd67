// What memproxyd knows of one monitored process over time: the process, and
// the samples of its heap account the sampler takes (every second by
// default). Shared by the sampler, the history store, the leak verdict, the
// exporters and the query server.
#ifndef MEMPROXYD_HEAPWATCH_SAMPLE_HPP
#define MEMPROXYD_HEAPWATCH_SAMPLE_HPP

#include <sys/types.h>

#include <cstdint>
#include <string>

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

struct WatchedProcess {
  ProcessId id;
  uid_t uid = 0;            // kernel-verified (SO_PEERCRED or /proc)
  std::string user;         // uid's name, or the number when unknown
  std::string program;      // process::program_name: the invoked name, or "python3 app.py"
  std::string exe;          // resolved binary path
  int64_t started_unix_ns = 0;
  int64_t ended_unix_ns = 0;  // 0 while running
  std::string ended_how;      // end_words, once the kernel said ("" while running, or unknown)
  std::string memory_cgroup;  // memory_cgroup_of, read when identified; not kept in the history
};

// One reading of a process's account. Live bytes are the usable sizes of
// the blocks allocated and not yet freed, so they are exact; peak is the
// highest live value the process itself observed.
struct Sample {
  int64_t unix_ns = 0;
  uint64_t live_bytes = 0;
  uint64_t peak_bytes = 0;
  uint64_t rss_bytes = 0;     // resident set size, /proc/PID/statm
  uint64_t allocations = 0;   // allocation calls since the process started (malloc, calloc, aligned, new, ...)
  uint64_t frees = 0;         // free calls since the process started (free, delete, ...)
};

}  // namespace memproxy::heapwatch

#endif
