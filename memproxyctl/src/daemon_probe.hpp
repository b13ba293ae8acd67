// Is memproxyd alive for a table, and what does its status record say.
#ifndef MEMPROXYCTL_DAEMON_PROBE_HPP
#define MEMPROXYCTL_DAEMON_PROBE_HPP

#include <sys/types.h>

#include <optional>
#include <string>

#include "memproxy/status_record.hpp"

namespace memproxyctl {

// How liveness was judged. Neither takes any lock: a probe that locked, even
// for an instant, could make a daemon starting at that instant fail.
enum class LivenessMethod {
  lock_query,    // fcntl(F_GETLK) on TABLE.lock: the kernel names the holder of the daemon's write lock
  process_check, // TABLE.lock cannot be opened (it is 0600): the status record's pid, checked in /proc
};

struct DaemonState {
  std::string lock_path;
  std::string status_path;
  bool alive = false;        // see `method`
  std::string alive_reason;  // why alive is what it is, for humans
  LivenessMethod method = LivenessMethod::lock_query;
  std::string method_detail;  // the method in words, for the output
  pid_t lock_holder = 0;      // with lock_query: the pid holding the daemon's write lock, 0 if none
  std::optional<memproxy::status::Record> record;
  std::string record_error;  // why `record` is empty
};

// Never blocks, never locks, never opens anything for writing.
DaemonState probe_daemon(const std::string& table_path);

}  // namespace memproxyctl

#endif
