// memproxyd as every test runs it: in the foreground, exec'd in place by an
// optional wrapper (prlimit, setpriv, a shell), its stdout and stderr
// appended to a log of its own. Ready is the daemon's own handshake: the
// status record beside its table names its pid and the time every part of
// it had started (ready_unix_ns), never a line of its log. Killed and reaped
// when a test does not stop it; every wait is bounded.
#ifndef MEMPROXY_TESTS_DAEMON_HPP
#define MEMPROXY_TESTS_DAEMON_HPP

#include <signal.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"

namespace memproxy::testing {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Polls `condition` until it holds or `limit` passes; its last answer.
inline bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds limit,
                       std::chrono::milliseconds step = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(step);
  }
  return condition();
}

// Whether the daemon `pid` says in the status record beside `table` that
// every part of it has started, read as the key=value text it is.
inline bool daemon_ready(const std::string& table, pid_t pid) {
  std::istringstream record(read_file(table + ".status"));
  bool ours = false, ready = false;
  for (std::string line; std::getline(record, line);) {
    if (line == "pid=" + std::to_string(pid)) ours = true;
    if (line.rfind("ready_unix_ns=", 0) == 0 && line != "ready_unix_ns=0") ready = true;
  }
  return ours && ready;
}

class DaemonProcess {
 public:
  // `argv`: the wrapper, if any, then the daemon and its options.
  DaemonProcess(const std::vector<std::string>& argv, const std::vector<std::string>& env, std::string log_path)
      : log_(std::move(log_path)), pid_(spawn_logged(argv, env, log_, log_)) {}
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;
  ~DaemonProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait_exit(pid_, std::chrono::seconds(20));
    }
  }

  pid_t pid() const { return pid_; }
  std::string log() const { return read_file(log_); }
  bool log_contains(const std::string& text) const { return log().find(text) != std::string::npos; }
  void signal(int sig) const { ::kill(pid_, sig); }
  // Waits until its status record beside `table` says it is ready.
  bool ready(const std::string& table, std::chrono::milliseconds limit) const {
    return wait_until([&] { return daemon_ready(table, pid_); }, limit);
  }
  // SIGTERM, then its exit status (128 + a signal that ended it); -1 when
  // it did not exit within `limit`.
  int stop(std::chrono::milliseconds limit) {
    ::kill(pid_, SIGTERM);
    std::optional<int> status = wait(limit);
    return status ? *status : -1;
  }
  // Its exit status, or nullopt while it still runs at `limit`.
  std::optional<int> wait(std::chrono::milliseconds limit) {
    std::optional<int> status = wait_exit(pid_, limit);
    if (status) pid_ = -1;
    return status;
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
};

}  // namespace memproxy::testing

#endif
