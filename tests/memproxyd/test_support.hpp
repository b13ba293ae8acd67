// Shared helpers for memproxyd's tests: private temporary directories, child
// processes with bounded waits, and the probe that plays "a newly started process".
#ifndef MEMPROXYD_TEST_SUPPORT_HPP
#define MEMPROXYD_TEST_SUPPORT_HPP

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

#include "capability.hpp"
#include "memproxy/status_record.hpp"
#include "temp_dir.hpp"

namespace memproxyd_test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Every wait in these tests is bounded by this, generous enough for a loaded
// machine or a sanitizer build; reaching it is a failure, never a hang.
inline constexpr auto kPatience = 20s;

// Traversable by others: some tests read the config as `nobody`.
class TempDir : public memproxy::testing::TempDir {
 public:
  TempDir() : memproxy::testing::TempDir(0755) {}
};

inline void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path);
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds limit = kPatience) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

// Starts argv[0] with stdout and stderr sent to the given files.
inline pid_t spawn(const std::vector<std::string>& argv, const std::string& out_path, const std::string& err_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot spawn " + argv[0]);
  return pid;
}

// The exit status (or 128 + signal), or nullopt if the child is still running at the limit.
inline std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds limit = kPatience) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(2ms);
  }
}

struct RunResult {
  int exit_code = -1;  // -1: timed out (and killed)
  std::string out;
  std::string err;
};

// Runs a command to completion in `scratch` (which receives its output files).
inline RunResult run(const std::vector<std::string>& argv, const TempDir& scratch,
                     std::chrono::milliseconds limit = kPatience) {
  static int counter = 0;
  std::string base = scratch / ("run-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  pid_t pid = spawn(argv, base + ".out", base + ".err");
  RunResult result;
  auto status = wait_exit(pid, limit);
  if (!status) {
    ::kill(pid, SIGKILL);
    wait_exit(pid);
  }
  result.exit_code = status.value_or(-1);
  result.out = read_file(base + ".out");
  result.err = read_file(base + ".err");
  ::unlink((base + ".out").c_str());
  ::unlink((base + ".err").c_str());
  return result;
}

// What a newly started process sees in the table: generation and key flags.
struct Probe {
  int exit_code = -1;  // 0 valid, 3 invalid, 4 cannot open
  uint64_t generation = 0;
  uint64_t entries = 0;
  std::map<std::string, unsigned> flags;
};

inline Probe probe(const TempDir& scratch, const std::string& table, const std::vector<std::string>& keys = {}) {
  std::vector<std::string> argv{MEMPROXYD_PROBE, table};
  argv.insert(argv.end(), keys.begin(), keys.end());
  RunResult r = run(argv, scratch);
  Probe p;
  p.exit_code = r.exit_code;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    unsigned long long generation = 0, entries = 0;
    if (std::sscanf(line.c_str(), "generation=%llu entries=%llu", &generation, &entries) == 2) {
      p.generation = generation;
      p.entries = entries;
      continue;
    }
    auto eq = line.rfind('=');
    if (eq != std::string::npos) p.flags[line.substr(0, eq)] = static_cast<unsigned>(std::atoi(line.c_str() + eq + 1));
  }
  return p;
}

// The daemon's status record for `table`, if it parses.
inline std::optional<memproxy::status::Record> status_of(const std::string& table) {
  std::string error;
  return memproxy::status::from_text(read_file(memproxy::status::status_path_for(table)), &error);
}

// `argv` as `nobody` (setpriv), the way an unprivileged user of the host runs
// it; callers first MEMPROXY_REQUIRE(memproxy::testing::missing_unprivileged_runner()).
inline std::vector<std::string> as_nobody(const std::vector<std::string>& argv) {
  struct passwd* nobody = ::getpwnam("nobody");
  if (nobody == nullptr) throw std::runtime_error("no user nobody");
  std::vector<std::string> full{"/usr/bin/setpriv", "--reuid=" + std::to_string(nobody->pw_uid),
                                "--regid=" + std::to_string(nobody->pw_gid), "--clear-groups"};
  full.insert(full.end(), argv.begin(), argv.end());
  return full;
}

// Whether `pid` runs (a zombie does not count).
inline bool running(pid_t pid) {
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

// A daemon in the foreground; stopped with SIGKILL if a test forgets to stop it.
// `wrapper` runs it (e.g. prlimit with its options), exec'ing it in place.
class Daemon {
 public:
  Daemon(const TempDir& scratch, std::vector<std::string> args, std::vector<std::string> wrapper = {})
      : log_(scratch / ("daemon-" + std::to_string(next_id()) + ".log")) {
    std::vector<std::string> argv = std::move(wrapper);
    argv.push_back(MEMPROXYD_BIN);
    argv.push_back("-f");
    // The host's own history (/var/lib/memproxy) is never a test's.
    if (std::find(args.begin(), args.end(), "--history") == args.end()) argv.push_back("--no-history");
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = spawn(argv, log_, log_);
  }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  ~Daemon() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait_exit(pid_);
    }
  }

  pid_t pid() const { return pid_; }
  std::string log() const { return read_file(log_); }
  bool log_contains(const std::string& text) const { return log().find(text) != std::string::npos; }
  void signal(int sig) const { ::kill(pid_, sig); }

  // Exit status after SIGTERM, or -1 if it did not exit in time.
  int stop() {
    ::kill(pid_, SIGTERM);
    auto status = wait_exit(pid_);
    if (!status) return -1;
    pid_ = -1;
    return *status;
  }

  std::optional<int> wait(std::chrono::milliseconds limit = kPatience) {
    auto status = wait_exit(pid_, limit);
    if (status) pid_ = -1;
    return status;
  }

 private:
  static int next_id() {
    static int id = 0;
    return id++;
  }
  std::string log_;
  pid_t pid_ = -1;
};

}  // namespace memproxyd_test

#endif
