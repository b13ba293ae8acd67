// Running a short-lived helper program and capturing what it says.
#ifndef MEMPROXYCTL_RUN_PROGRAM_HPP
#define MEMPROXYCTL_RUN_PROGRAM_HPP

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace memproxyctl {

struct ProgramResult {
  bool started = false;
  bool timed_out = false;  // killed (with everything it started) when the time limit ran out
  int exit_status = -1;    // exit code, or -1 when killed by a signal or not started
  int signal = 0;          // the signal that ended it, 0 when it exited
  std::string out;         // at most RunLimits::max_output bytes of each stream are kept
  std::string err;
};

struct RunLimits {
  std::chrono::milliseconds timeout{0};  // 0: wait as long as it runs
  std::size_t max_output = 1 << 20;
};

// Runs argv[0] (an absolute path) with the current environment plus `set_env`
// (NAME, VALUE pairs replacing existing ones). Both output streams are drained
// together, so a chatty child cannot deadlock against a full pipe. The child
// leads its own process group; on timeout the whole group is killed, so a
// helper that forked cannot outlive the limit.
ProgramResult run_program(const std::vector<std::string>& argv,
                          const std::vector<std::pair<std::string, std::string>>& set_env, RunLimits limits = {});

}  // namespace memproxyctl

#endif
