// Running a short-lived helper program and capturing what it says.
#ifndef MEMPROXYCTL_RUN_PROGRAM_HPP
#define MEMPROXYCTL_RUN_PROGRAM_HPP

#include <string>
#include <utility>
#include <vector>

namespace memproxyctl {

struct ProgramResult {
  bool started = false;
  int exit_status = -1;  // exit code, or -1 when killed by a signal or not started
  int signal = 0;        // the signal that ended it, 0 when it exited
  std::string out;
  std::string err;
};

// Runs argv[0] (an absolute path) with the current environment plus `set_env`
// (NAME, VALUE pairs replacing existing ones). Both output streams are drained
// together, so a chatty child cannot deadlock against a full pipe.
ProgramResult run_program(const std::vector<std::string>& argv,
                          const std::vector<std::pair<std::string, std::string>>& set_env);

}  // namespace memproxyctl

#endif
