// Runs a shell command and returns what it printed on stdout; an unsuccessful
// end is appended as a final "exit status N" (or "killed by signal N") line,
// so that comparing outputs also compares outcomes. Built on the one runner
// (process.hpp): inherited environment, bounded wait.
#ifndef MEMPROXY_TESTS_RUN_COMMAND_HPP
#define MEMPROXY_TESTS_RUN_COMMAND_HPP

#include <string>

#include "process.hpp"

namespace memproxy::testing {

inline std::string run_command(const std::string& command) {
  Outcome o = run({"/bin/sh", "-c", command}, inherited_environment());
  std::string out = o.out;
  if (o.timed_out) {
    out += "\ntimed out";
  } else if (!o.exited) {
    out += "\nkilled by signal " + std::to_string(o.signal);
  } else if (o.code != 0) {
    out += "\nexit status " + std::to_string(o.code);
  }
  return out;
}

}  // namespace memproxy::testing

#endif
