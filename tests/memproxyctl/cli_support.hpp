// Shared helpers of the memproxyctl process-level tests: a private temporary
// directory per test, and running the built binaries.
#ifndef MEMPROXYCTL_TESTS_CLI_SUPPORT_HPP
#define MEMPROXYCTL_TESTS_CLI_SUPPORT_HPP

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "run_program.hpp"
#include "temp_dir.hpp"

namespace memproxyctl::testing {

using memproxy::testing::TempDir;

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Bounded: a memproxyctl that hangs is killed and fails its test (exit -1,
// timed_out) instead of hanging the suite.
// MEMPROXYCTL_UNDER_TEST, when set, names another memproxyctl to run (an
// installed one, or an older build to compare with).
inline ProgramResult ctl(std::vector<std::string> args) {
  const char* other = std::getenv("MEMPROXYCTL_UNDER_TEST");
  args.insert(args.begin(), other != nullptr && *other != '\0' ? other : MEMPROXYCTL_BINARY);
  RunLimits limits;
  limits.timeout = std::chrono::seconds(60);
  return run_program(args, {}, limits);
}

// An executable shell script.
inline void write_script(const std::string& path, const std::string& body) {
  write_file(path, "#!/bin/sh\n" + body);
  ASSERT_EQ(::chmod(path.c_str(), 0755), 0) << path;
}

// Waits (bounded) for `path` to exist.
inline bool wait_for_file(const std::string& path) {
  for (int i = 0; i < 6000; ++i) {
    if (std::filesystem::exists(path)) return true;
    ::usleep(10'000);
  }
  return false;
}

// Writes a table for `config_text` with memproxy-mktable; returns its path.
inline std::string make_table(const TempDir& dir, const std::string& config_text, const std::string& allocator = "",
                              const std::string& name = "table") {
  write_file(dir / (name + ".conf"), config_text);
  std::vector<std::string> args = {MEMPROXY_MKTABLE_BINARY, dir / (name + ".conf"), dir / name};
  if (!allocator.empty()) {
    args.push_back("--allocator");
    args.push_back(allocator);
  }
  ProgramResult r = run_program(args, {});
  EXPECT_EQ(r.exit_status, 0) << r.err;
  return dir / name;
}

inline bool running_as_root() { return ::geteuid() == 0; }

}  // namespace memproxyctl::testing

#endif
