// `memproxyctl leaks PID` ends its table with the debug package that would
// name a site's frames: a stand-in daemon answers with a site in this
// process's libc, without file:line.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "fake_daemon.hpp"
#include "memproxy/heap_query.hpp"
#include "report_test_data.hpp"

namespace {

namespace hq = memproxy::heap_query;
namespace data = report_test_data;
using memproxyctl::testing::ctl;
using memproxyctl::testing::FakeDaemon;
using memproxyctl::testing::TempDir;

std::string mapped_libc() {
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    const size_t path = line.find('/');
    if (path != std::string::npos && line.ends_with("/libc.so.6")) return line.substr(path);
  }
  return "";
}

std::string answer(const std::string& line) {
  if (nlohmann::json::parse(line)["request"] != "sites") return hq::error_line("unknown request");
  hq::SiteView s = data::site("", "", 0, 3, 4096, false);
  s.frames[0].object = mapped_libc();
  return hq::answer_line(hq::sites_answer(data::sites(data::history(3), {s})));
}

TEST(CliDebugHint, LeaksPidNamesTheDebugPackageOfAnObjectWithoutDebugInfo) {
  if (::access("/usr/bin/dpkg-query", X_OK) != 0) GTEST_SKIP() << "dpkg-query is not installed (not a dpkg system)";
  if (memproxyctl::run_program({"/usr/bin/dpkg-query", "-W", "libc6"}, {}).exit_status != 0) {
    GTEST_SKIP() << "libc6 is not a dpkg package here";
  }
  TempDir dir;
  FakeDaemon daemon(dir / "query.sock", answer);
  auto r = ctl({"--query-socket", dir / "query.sock", "leaks", "4242"});
  EXPECT_EQ(r.exit_status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("no debug info for " + mapped_libc() + " (package libc6): apt-get install libc6-dbgsym"),
            std::string::npos)
      << r.out;
  // Folded stacks stay a format of their own.
  r = ctl({"--query-socket", dir / "query.sock", "leaks", "4242", "--collapsed"});
  EXPECT_EQ(r.out.find("debug"), std::string::npos) << r.out;
}

}  // namespace
