// The daemon's status record: written by memproxyd next to the table (same
// atomic write-and-rename as the table), read by `memproxyctl status`.
//
// Text format, one `key=value` per line, unknown keys ignored so that either
// side can grow; values are single-line (newlines and backslashes escaped as
// \n and \\). Times are Unix nanoseconds, 0 = never.
#ifndef MEMPROXY_STATUS_RECORD_HPP
#define MEMPROXY_STATUS_RECORD_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace memproxy::status {

struct Record {
  int64_t pid = 0;
  std::string state;  // "running" while the daemon lives, "stopped" after a clean exit
  std::string config_path;
  int64_t config_mtime_ns = 0;      // mtime of the config that was last read
  std::string table_path;
  std::string allocator;            // custom allocator named in the table ("" = none)
  uint64_t generation = 0;          // generation of the live table
  uint64_t entry_count = 0;         // entries in the live table
  int64_t started_unix_ns = 0;
  // When every part had started (the table published, the heap watch's
  // sockets listening): what a supervisor or a test waits for. 0 before.
  int64_t ready_unix_ns = 0;
  int64_t last_publish_unix_ns = 0;
  double last_publish_ms = 0;       // time to build and publish the last table
  uint64_t rejected_count = 0;      // configs rejected since start
  int64_t last_rejection_unix_ns = 0;
  // First diagnostic of the last rejection, or another failure. The record is
  // world-readable: when the config is not, this is the diagnostic's redacted
  // form (file, line, problem; none of the file's text).
  std::string last_error;
  // The heap watch's history: "recording", "opening", "unavailable", or
  // "off" (not kept); "" from a daemon that predates it or watches no heaps.
  std::string history_state;
  std::string history_path;
  std::string history_problem;          // why unavailable, else its last failure
  uint64_t history_dropped_samples = 0; // never recorded: the writer was behind
};

std::string to_text(const Record& record);

// nullopt (with `error` set) when a required key (pid, state, generation) is
// missing or a number does not parse.
std::optional<Record> from_text(std::string_view text, std::string* error);

// Companion files of a table at `table_path`.
std::string status_path_for(const std::string& table_path);  // TABLE.status, mode 0644
// TABLE.lock: mode 0600, holding the daemon's pid; the live daemon holds a
// flock() and a POSIX write lock on it (fcntl(F_GETLK) names it without locking).
std::string lock_path_for(const std::string& table_path);

}  // namespace memproxy::status

#endif
