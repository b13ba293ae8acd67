// What the heap watch's in-process tests share: processes to record, the
// daemon's clock, running an io_context as the daemon's loop until
// something happened (bounded), and another program holding the history
// database's write lock.
#ifndef MEMPROXY_TESTS_HEAPWATCH_HEAPWATCH_FIXTURES_HPP
#define MEMPROXY_TESTS_HEAPWATCH_HEAPWATCH_FIXTURES_HPP

#include <sqlite3.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "heapwatch/intake/watched_process.hpp"

namespace heapwatch_fixtures {

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A process of the test's own user, started at `started`.
inline memproxy::heapwatch::WatchedProcess process(pid_t pid, int64_t started) {
  memproxy::heapwatch::WatchedProcess p;
  p.set_id({pid, static_cast<uint64_t>(pid) * 100});
  p.uid = ::getuid();
  p.user = "tester";
  p.program = "prog-" + std::to_string(pid);
  p.exe = "/usr/bin/" + p.program;
  p.started_unix_ns = started;
  return p;
}

// Runs `io`'s handlers on this thread until `condition` holds; false after `limit`.
inline bool run_loop_until(boost::asio::io_context& io, const std::function<bool()>& condition,
                           std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Another connection to the database holding its write lock (BEGIN
// EXCLUSIVE; readers go on under WAL) until destroyed: what an
// administrator's sqlite3 session in a transaction does to the daemon.
class LockedDatabase {
 public:
  explicit LockedDatabase(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      error_ = db_ != nullptr ? sqlite3_errmsg(db_) : "cannot open";
      return;
    }
    sqlite3_busy_timeout(db_, 5000);
    char* message = nullptr;
    if (sqlite3_exec(db_, "BEGIN EXCLUSIVE", nullptr, nullptr, &message) != SQLITE_OK) {
      error_ = message != nullptr ? message : "BEGIN EXCLUSIVE failed";
      sqlite3_free(message);
      return;
    }
    held_ = true;
  }
  ~LockedDatabase() {
    if (held_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close_v2(db_);
  }
  LockedDatabase(const LockedDatabase&) = delete;
  LockedDatabase& operator=(const LockedDatabase&) = delete;

  bool held() const { return held_; }
  const std::string& error() const { return error_; }

 private:
  sqlite3* db_ = nullptr;
  bool held_ = false;
  std::string error_;
};

}  // namespace heapwatch_fixtures

#endif
