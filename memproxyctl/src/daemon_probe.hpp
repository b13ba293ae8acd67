// Is memproxyd alive for a table, and what does its status record say.
#ifndef MEMPROXYCTL_DAEMON_PROBE_HPP
#define MEMPROXYCTL_DAEMON_PROBE_HPP

#include <optional>
#include <string>

#include "memproxy/status_record.hpp"

namespace memproxyctl {

struct DaemonState {
  std::string lock_path;
  std::string status_path;
  bool alive = false;        // the lock is held and the recorded pid exists
  std::string alive_reason;  // why alive is what it is, for humans
  std::optional<memproxy::status::Record> record;
  std::string record_error;  // why `record` is empty
};

// Never blocks and never holds the lock beyond the probe. The probe is
// flock(LOCK_EX|LOCK_NB): the daemon holds its lock for its whole life, so
// success means nobody does (the lock is released at once).
DaemonState probe_daemon(const std::string& table_path);

}  // namespace memproxyctl

#endif
