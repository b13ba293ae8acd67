// Runs a shell command and returns what it printed on stdout; a non-zero exit
// status is appended as a final "exit status N" line, so that comparing
// outputs also compares outcomes.
#ifndef MEMPROXY_TESTS_RUN_COMMAND_HPP
#define MEMPROXY_TESTS_RUN_COMMAND_HPP

#include <array>
#include <cstdio>
#include <string>

namespace memproxy::testing {

inline std::string run_command(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  std::array<char, 4096> buffer;
  size_t got;
  while ((got = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out.append(buffer.data(), got);
  int status = pclose(pipe);
  if (status != 0) out += "\nexit status " + std::to_string(status);
  return out;
}

}  // namespace memproxy::testing

#endif
