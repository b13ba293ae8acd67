// Integration, end to end: after a reload, a newly started program under the
// real preload library (libmemproxy, MEMPROXY_DEBUG=1) routes by the new file.
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace memproxyd_test {
namespace {

// The library's one debug line for `program` run under the table.
std::string decision(const std::string& table, const std::string& program) {
  RunResult r = run({"/usr/bin/env", "MEMPROXY_TABLE=" + table, "MEMPROXY_DEBUG=1",
                     std::string("LD_PRELOAD=") + MEMPROXY_LIB, program});
  return r.err;
}

bool excluded(const std::string& line, const std::string& entry) {
  return line.find("backend=system") != std::string::npos &&
         line.find("excluded by entry " + entry) != std::string::npos;
}

TEST(PreloadTest, NewProcessesRouteByTheReloadedFile) {
  TempDir dir;
  std::string config = dir / "memproxy.conf", table = dir / "run/table";
  write_file(config, "true\n");
  Daemon daemon(dir, {"-c", config, "-t", table});
  ASSERT_TRUE(wait_until([&] { return excluded(decision(table, "/bin/true"), "true"); }))
      << decision(table, "/bin/true") << daemon.log();
  EXPECT_FALSE(excluded(decision(table, "/bin/echo"), "echo"));

  std::string staged = dir / "memproxy.conf.new";
  write_file(staged, "echo\n");
  ASSERT_EQ(::rename(staged.c_str(), config.c_str()), 0);
  ASSERT_TRUE(wait_until([&] { return excluded(decision(table, "/bin/echo"), "echo"); }))
      << decision(table, "/bin/echo") << daemon.log();
  EXPECT_FALSE(excluded(decision(table, "/bin/true"), "true")) << decision(table, "/bin/true");
  EXPECT_EQ(daemon.stop(), 0);
}

}  // namespace
}  // namespace memproxyd_test
