// The status record beside the table (TABLE.status), kept current by the daemon
// for `memproxyctl status`.
#ifndef MEMPROXYD_STATUS_WRITER_HPP
#define MEMPROXYD_STATUS_WRITER_HPP

#include <string>

#include "memproxy/status_record.hpp"

namespace memproxy::daemon {

class StatusWriter {
 public:
  explicit StatusWriter(const std::string& table_path);

  status::Record& record() { return record_; }

  // Replaces the status file atomically (like the table). Failures are logged,
  // not fatal: the table, not its status, is what processes depend on.
  void write();

 private:
  std::string path_;
  status::Record record_;
};

}  // namespace memproxy::daemon

#endif
