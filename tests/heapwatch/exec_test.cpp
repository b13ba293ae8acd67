// A monitored wrapper that execs a monitored program is one process to the
// daemon: the program's account replaces the wrapper's, the log says once
// that the pid now runs the program, and top shows one entry with the
// program's name and its own live bytes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e_support.hpp"

namespace heapwatch_e2e {
namespace {

using nlohmann::json;

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(ExecTest, AWrapperThatExecsIsWatchedOnceAsTheProgramItRunsNow) {
  memproxy::testing::TempDir dir{0755};
  Daemon daemon(dir, {"--no-history"}, {"mp-exec-wrapper", "mp-grower"});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  Process wrapper({MP_EXEC_WRAPPER, MP_GROWER, "16384", "20"},
                  {std::string("LD_PRELOAD=") + MEMPROXY_LIB, "MEMPROXY_TABLE=" + daemon.table()});
  ASSERT_EQ(wrapper.read_line(), std::optional<std::string>("wrapping"));
  ASSERT_TRUE(wrapper.wait_stopped()) << wrapper.finish().describe();
  const std::string pid = std::to_string(wrapper.pid());
  ASSERT_TRUE(wait_until([&] { return daemon.log().find("watching the heap of pid " + pid) != std::string::npos; }))
      << daemon.log();
  wrapper.resume();
  ASSERT_EQ(wrapper.read_line(), std::optional<std::string>("growing"));
  ASSERT_TRUE(wait_until([&] { return daemon.log().find("pid " + pid + " now runs mp-grower") != std::string::npos; }))
      << daemon.log();

  // The grower's bytes: far more than the wrapper's 4000.
  std::vector<json> entries;
  Outcome top;
  ASSERT_TRUE(wait_until([&] {
    top = memproxyctl(daemon.table(), {"top", "--json"});
    if (!top.ok()) return false;
    entries.clear();
    const json answer = json::parse(top.out);
    for (const json& v : answer["processes"]) {
      if (v["process"]["pid"] == wrapper.pid()) entries.push_back(v);
    }
    return entries.size() == 1 && entries[0]["latest"]["live_bytes"].get<uint64_t>() >= (1u << 20);
  })) << top.describe() << daemon.log();
  EXPECT_EQ(entries[0]["process"]["program"], "mp-grower");
  const std::string exe = entries[0]["process"]["exe"].get<std::string>();
  EXPECT_EQ(exe.substr(exe.rfind('/') + 1), "mp-grower");
  const std::string log = daemon.log();
  EXPECT_EQ(occurrences(log, "watching the heap of pid " + pid), 1u) << log;
  EXPECT_EQ(occurrences(log, "pid " + pid + " now runs mp-grower"), 1u) << log;
  EXPECT_EQ(occurrences(log, "not watching pid " + pid), 0u) << log;
}

}  // namespace
}  // namespace heapwatch_e2e
