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
#include "daemon.hpp"
#include "process.hpp"
#include "staged.hpp"
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

using memproxy::testing::read_file;

inline bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds limit = kPatience) {
  return memproxy::testing::wait_until(condition, limit, 5ms);
}

// Starts argv[0], inheriting the test's environment, with stdout and stderr
// sent to the given files.
inline pid_t spawn(const std::vector<std::string>& argv, const std::string& out_path, const std::string& err_path) {
  return memproxy::testing::spawn_logged(argv, memproxy::testing::inherited_environment(), out_path, err_path);
}

// The exit status (or 128 + signal), or nullopt if the child is still running at the limit.
inline std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds limit = kPatience) {
  return memproxy::testing::wait_exit(pid, limit);
}

struct RunResult {
  int exit_code = -1;  // -1: timed out (and killed)
  std::string out;
  std::string err;
};

// Runs a command to completion, inheriting the test's environment.
inline RunResult run(const std::vector<std::string>& argv, std::chrono::milliseconds limit = kPatience) {
  memproxy::testing::Options options;
  options.timeout = limit;
  memproxy::testing::Outcome o = memproxy::testing::run(argv, memproxy::testing::inherited_environment(), options);
  RunResult result;
  result.exit_code = o.timed_out ? -1 : o.exited ? o.code : 128 + o.signal;
  result.out = std::move(o.out);
  result.err = std::move(o.err);
  return result;
}

// What a newly started process sees in the table: generation and key flags.
struct Probe {
  int exit_code = -1;  // 0 valid, 3 invalid, 4 cannot open
  uint64_t generation = 0;
  uint64_t entries = 0;
  std::map<std::string, unsigned> flags;
};

inline Probe probe(const std::string& table, const std::vector<std::string>& keys = {}) {
  std::vector<std::string> argv{MEMPROXYD_PROBE, table};
  argv.insert(argv.end(), keys.begin(), keys.end());
  RunResult r = run(argv);
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
// A program of the build tree is given as its copy in a StagedForOtherUser
// (staged.hpp): nobody may not reach the tree.
inline std::vector<std::string> as_nobody(const std::vector<std::string>& argv) {
  return memproxy::testing::as_nobody(argv);
}

// Whether `pid` runs (a zombie does not count).
inline bool running(pid_t pid) {
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

// A daemon in the foreground (DaemonProcess), inheriting the test's
// environment, logging to a file of its own in `scratch`; --no-history
// unless the test names a history. `wrapper` runs it (e.g. prlimit with its
// options), exec'ing it in place.
class Daemon : public memproxy::testing::DaemonProcess {
 public:
  Daemon(const TempDir& scratch, std::vector<std::string> args, std::vector<std::string> wrapper = {})
      : DaemonProcess(argv_of(std::move(args), std::move(wrapper)), memproxy::testing::inherited_environment(),
                      scratch / ("daemon-" + std::to_string(next_id()) + ".log")) {}

  bool ready(const std::string& table, std::chrono::milliseconds limit = kPatience) const {
    return DaemonProcess::ready(table, limit);
  }
  // Exit status after SIGTERM, or -1 if it did not exit in time.
  int stop() { return DaemonProcess::stop(kPatience); }
  std::optional<int> wait(std::chrono::milliseconds limit = kPatience) { return DaemonProcess::wait(limit); }

 private:
  static std::vector<std::string> argv_of(std::vector<std::string> args, std::vector<std::string> wrapper) {
    std::vector<std::string> argv = std::move(wrapper);
    argv.push_back(MEMPROXYD_BIN);
    argv.push_back("-f");
    // The host's own history (/var/lib/memproxy) is never a test's.
    if (std::find(args.begin(), args.end(), "--history") == args.end()) argv.push_back("--no-history");
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  static int next_id() {
    static int id = 0;
    return id++;
  }
};

}  // namespace memproxyd_test

#endif
