// The exhaustion forecast end to end: a leaking program in a memory cgroup
// of its own, limited to 256 MiB, is forecast to reach that limit by the
// real daemon, and top, leaks and the metrics say when.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "capability.hpp"
#include "e2e_support.hpp"

namespace {

using namespace heapwatch_e2e;
using nlohmann::json;

constexpr uint64_t kLimit = 256u << 20;

// A memory cgroup below this process's, limited to `bytes` (cgroup v1's
// memory.limit_in_bytes, or v2's memory.max), removed when done. Empty
// `missing()` when it could be made.
class MemoryCgroup {
 public:
  explicit MemoryCgroup(uint64_t bytes) {
    std::ifstream in("/proc/self/cgroup");
    std::string line, v1, v2;
    while (std::getline(in, line)) {
      if (line.find(":memory:") != std::string::npos) v1 = line.substr(line.rfind(':') + 1);
      if (line.rfind("0::", 0) == 0) v2 = line.substr(3);
    }
    std::string parent;
    if (!v1.empty()) {
      parent = "/sys/fs/cgroup/memory" + (v1 == "/" ? "" : v1);
      limit_file_ = "memory.limit_in_bytes";
      source_ = "cgroup memory.limit_in_bytes";
    } else if (!v2.empty()) {
      parent = "/sys/fs/cgroup" + (v2 == "/" ? "" : v2);
      limit_file_ = "memory.max";
      source_ = "cgroup memory.max";
    } else {
      missing_ = "this process has no memory cgroup";
      return;
    }
    dir_ = parent + "/memproxy-forecast-" + std::to_string(::getpid());
    if (::mkdir(dir_.c_str(), 0755) != 0) {
      missing_ = "cannot make a memory cgroup under " + parent + ": " + std::strerror(errno);
      dir_.clear();
      return;
    }
    std::ofstream(dir_ + "/" + limit_file_) << bytes;
    std::ifstream check(dir_ + "/" + limit_file_);
    uint64_t set = 0;
    if (!(check >> set) || set != bytes) missing_ = "cannot limit the memory cgroup " + dir_;
  }
  ~MemoryCgroup() {
    // Its processes have been reaped by then; the kernel removes it empty.
    if (!dir_.empty()) ::rmdir(dir_.c_str());
  }
  const std::string& missing() const { return missing_; }
  std::string procs() const { return dir_ + "/cgroup.procs"; }
  const std::string& source() const { return source_; }

 private:
  std::string dir_, limit_file_, source_, missing_;
};

class DaemonForecastTest : public ::testing::Test {
 protected:
  memproxy::testing::TempDir dir_{0755};
};

TEST_F(DaemonForecastTest, ALeakInALimitedCgroupIsForecastToReachItsLimit) {
  MemoryCgroup cgroup(kLimit);
  MEMPROXY_REQUIRE(cgroup.missing());
  const std::string textfile = dir_ / "memproxy.prom";
  Daemon daemon(dir_, {"--verdict-time-scale", "60", "--prometheus-textfile", textfile});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  // Into the cgroup before it execs, so it is identified there: 800 KiB a
  // second at most, so the limit is 330 s away at that pace. A loaded
  // machine slows the grower and the forecast rightly moves out with it;
  // twice that still tells a forecast from its absence or a wrong limit.
  Process grower({"/bin/sh", "-c", "echo $$ > " + cgroup.procs() + " && exec " MP_GROWER " 16384 20"},
                 {std::string("LD_PRELOAD=") + MEMPROXY_LIB, "MEMPROXY_TABLE=" + daemon.table()});
  ASSERT_EQ(grower.read_line(), std::optional<std::string>("growing"));
  const pid_t pid = grower.pid();

  json verdict;
  Outcome top;
  ASSERT_TRUE(wait_until(
      [&] {
        top = memproxyctl(daemon.table(), {"top", "--json"});
        if (!top.ok()) return false;
        const json answer = json::parse(top.out);
        for (const json& v : answer["processes"]) {
          if (v["process"]["pid"] == pid && v["verdict"]["exhaustion_unix_ns"].get<int64_t>() != 0) {
            verdict = v["verdict"];
          }
        }
        return !verdict.is_null();
      },
      std::chrono::seconds(90)))
      << top.describe() << daemon.log();
  EXPECT_EQ(verdict["memory_limit_bytes"].get<uint64_t>(), kLimit) << verdict.dump();
  EXPECT_EQ(verdict["memory_limit_source"], cgroup.source()) << verdict.dump();
  const int64_t in_s = verdict["exhaustion_in_s"].get<int64_t>();
  EXPECT_GT(in_s, 0) << verdict.dump();
  EXPECT_LE(in_s, 2 * 330) << verdict.dump();

  Outcome table = memproxyctl(daemon.table(), {"top", "--once"});
  EXPECT_NE(table.out.find("EXHAUSTS"), std::string::npos) << table.out;
  const std::string row = line_of(table.out, pid);
  EXPECT_TRUE(row.find("m ") != std::string::npos || row.find("s ") != std::string::npos) << table.out;
  EXPECT_TRUE(wait_until([&] {
    return read_file(textfile).find("memproxy_heap_exhaustion_seconds{pid=\"" + std::to_string(pid) + "\"") !=
           std::string::npos;
  })) << read_file(textfile);
  Outcome history = memproxyctl(daemon.table(), {"history", std::to_string(pid)});
  EXPECT_NE(history.out.find("reaches what it may use, 256 MiB (" + cgroup.source() + ")"), std::string::npos)
      << history.describe();
  // The log says it once, as the forecast comes under the alert's hour.
  const std::string warned = "pid " + std::to_string(pid) +
                             " mp-grower: at its present growth its memory reaches what it may use, 268435456 bytes (" +
                             cgroup.source() + "), in ";
  EXPECT_NE(daemon.log().find(warned), std::string::npos) << daemon.log();
  EXPECT_EQ(daemon.log().find(warned), daemon.log().rfind(warned)) << daemon.log();
  grower.signal(SIGKILL);
  grower.finish();
}

}  // namespace
