// Shared helpers of the memproxyctl process-level tests: a private temporary
// directory per test, and running the built binaries.
#ifndef MEMPROXYCTL_TESTS_CLI_SUPPORT_HPP
#define MEMPROXYCTL_TESTS_CLI_SUPPORT_HPP

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

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

inline ProgramResult ctl(std::vector<std::string> args) {
  args.insert(args.begin(), MEMPROXYCTL_BINARY);
  return run_program(args, {});
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
