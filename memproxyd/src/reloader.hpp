// One reload: read and validate the config, then publish it or keep the last
// good table, and record the outcome in the log and the status record.
#ifndef MEMPROXYD_RELOADER_HPP
#define MEMPROXYD_RELOADER_HPP

#include <string>

#include "config_source.hpp"
#include "publisher.hpp"
#include "status_writer.hpp"

namespace memproxy::daemon {

enum class ReloadResult {
  published,
  rejected,  // the config has errors, is untrusted, cannot be read, or vanished: the last table stays
  failed,    // the config was good but the table could not be published
};

class Reloader {
 public:
  Reloader(std::string config_path, Publisher& publisher, StatusWriter& status)
      : config_path_(std::move(config_path)), publisher_(publisher), status_(status) {}

  // `at_start`: a missing config then publishes an empty table (every process
  // takes the custom allocator) instead of keeping whatever table is there;
  // later, a missing config is an editor between delete and recreate, and the
  // last good table stays.
  //
  // Never throws: running out of memory (or any other exception) during a
  // reload is logged and recorded as a rejection, and the last table stays.
  ReloadResult reload(bool at_start, const char* reason) noexcept;

 private:
  ReloadResult reload_config(bool at_start, const char* reason);
  void reject(const std::string& error);
  void recover(const char* what, const char* reason) noexcept;

  std::string config_path_;
  Publisher& publisher_;
  StatusWriter& status_;
};

}  // namespace memproxy::daemon

#endif
