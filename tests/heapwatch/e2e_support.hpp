// What the heap watch's end-to-end tests share: the real daemon on a
// temporary runtime directory, a monitored program whose heap grows, and
// small clients for memproxyctl and HTTP. Every wait is bounded.
#ifndef MEMPROXY_TESTS_HEAPWATCH_E2E_SUPPORT_HPP
#define MEMPROXY_TESTS_HEAPWATCH_E2E_SUPPORT_HPP

#include <arpa/inet.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon.hpp"
#include "process.hpp"
#include "staged.hpp"
#include "temp_dir.hpp"

namespace heapwatch_e2e {

using namespace std::chrono_literals;
using memproxy::testing::Outcome;
using memproxy::testing::Process;

// Generous for a loaded machine; reaching it fails the test, never hangs it.
inline constexpr auto kPatience = 40s;

using memproxy::testing::daemon_ready;
using memproxy::testing::read_file;

inline bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds limit = kPatience) {
  return memproxy::testing::wait_until(condition, limit, 50ms);
}

// memproxyd in the foreground on DIR/run/table, watching the programs
// `monitored` (mp-grower unless told), its log in DIR/memproxyd.log and its
// history in DIR/history.sqlite unless `extra` says otherwise.
class Daemon {
 public:
  // `runner`, when given, runs the daemon (e.g. setpriv dropping a capability).
  Daemon(const memproxy::testing::TempDir& dir, const std::vector<std::string>& extra,
         const std::vector<std::string>& monitored = {"mp-grower"}, const std::vector<std::string>& runner = {})
      : table_(dir / "run/table"), log_(dir / "memproxyd.log") {
    std::string config = "[monitor]\n";
    for (const std::string& program : monitored) config += program + "\n";
    dir.write("memproxy.conf", config);
    // A daemon restarted in the same directory starts a log of its own.
    std::filesystem::remove(log_);
    std::vector<std::string> argv = runner;
    argv.insert(argv.end(), {MEMPROXYD_BIN, "-f", "-c", dir / "memproxy.conf", "-t", table_, "--sample-interval", "100"});
    if (std::find(extra.begin(), extra.end(), "--history") == extra.end() &&
        std::find(extra.begin(), extra.end(), "--no-history") == extra.end()) {
      argv.insert(argv.end(), {"--history", dir / "history.sqlite"});
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = std::make_unique<memproxy::testing::DaemonProcess>(argv, std::vector<std::string>{"PATH=/usr/bin:/bin"},
                                                                   log_);
  }
  const std::string& table() const { return table_; }
  // SIGTERM, then the exit status (-1 when it did not exit in time).
  int stop() { return process_->stop(kPatience); }
  std::string log() const { return process_->log(); }
  bool ready() const { return process_->ready(table_, kPatience); }
  // The daemon's pid: any runner execs it, and ready() has seen the status
  // record name it.
  pid_t pid() const { return process_->pid(); }
  // The port in "prometheus: serving /metrics on ADDR (port N)", or 0.
  int prometheus_port() const {
    int port = 0;
    wait_until([&] {
      std::smatch m;
      std::string text = log();
      if (std::regex_search(text, m, std::regex(R"(serving /metrics on \S+ \(port (\d+)\))"))) port = std::stoi(m[1]);
      return port != 0;
    });
    return port;
  }

 private:
  std::string table_, log_;
  std::unique_ptr<memproxy::testing::DaemonProcess> process_;
};

// mp-grower, monitored through the daemon's table. By default it grows by
// 16 KiB every 20 ms from nothing: a leak as fast as it gets.
// With a base heap and smaller steps, slower than the verdict's fast test
// judges (8% of the heap per 10 minutes at 60 times real time).
inline std::unique_ptr<Process> start_grower(const std::string& table, const std::string& step_bytes = "16384",
                                             const std::string& base_bytes = "0") {
  return std::make_unique<Process>(std::vector<std::string>{MP_GROWER, step_bytes, "20", base_bytes},
                                   std::vector<std::string>{std::string("LD_PRELOAD=") + MEMPROXY_LIB,
                                                            "MEMPROXY_TABLE=" + table});
}

// The line of root's process `pid` in a table memproxyctl printed, or "".
inline std::string line_of(const std::string& text, pid_t pid) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(" " + std::to_string(pid) + " root") != std::string::npos) return line;
  }
  return "";
}

inline Outcome memproxyctl(const std::string& table, std::vector<std::string> args) {
  std::vector<std::string> argv{MEMPROXYCTL_BIN, "-t", table};
  argv.insert(argv.end(), args.begin(), args.end());
  return memproxy::testing::run(argv, {"COLUMNS=100", "LINES=30"});
}

// memproxyctl as `nobody`, from its copy in `staged`: nobody may not reach
// the build tree. Callers first MEMPROXY_REQUIRE the unprivileged runner
// (capability.hpp) and staged.missing().
inline Outcome memproxyctl_as_nobody(memproxy::testing::StagedForOtherUser& staged, const std::string& table,
                                     std::vector<std::string> args) {
  std::vector<std::string> argv{staged.program(MEMPROXYCTL_BIN), "-t", table};
  argv.insert(argv.end(), args.begin(), args.end());
  return memproxy::testing::run(memproxy::testing::as_nobody(argv), {"COLUMNS=100", "LINES=30"});
}

// A port no one listens on now (bound, read, released: another process
// could take it in between, which the caller's start then reports).
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length);
  ::close(fd);
  return ntohs(a.sin_port);
}

// The body of GET `target` from 127.0.0.1:port, "" when it cannot be had.
inline std::string http_get(int port, const std::string& target) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval patience{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "";
  }
  std::string request = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string response;
  char buffer[8192];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) response.append(buffer, static_cast<size_t>(n));
  ::close(fd);
  auto body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

inline std::string url_encoded(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '_' || c == '-' || c == '.') {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

}  // namespace heapwatch_e2e

#endif
