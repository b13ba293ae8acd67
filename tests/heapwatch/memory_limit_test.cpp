// What a watched process may use: its memory cgroup read from
// /proc/PID/cgroup, the lowest limit of that cgroup and those above it (on a
// cgroup tree made in a temporary directory), else the host's available
// memory plus what the process holds.
#include "heapwatch/intake/memory_limit.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "temp_dir.hpp"

namespace memproxy::heapwatch {
namespace {

void write(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

TEST(MemoryCgroup, ReadsTheUnifiedOrTheV1MemoryHierarchy) {
  EXPECT_EQ(memory_cgroup_in("0::/system.slice/db.service\n"), "v2:/system.slice/db.service");
  EXPECT_EQ(memory_cgroup_in("12:pids:/a\n7:cpu,cpuacct:/b\n4:memory:/user/1000\n0::/c\n"), "v1:/user/1000");
  EXPECT_EQ(memory_cgroup_in("3:name=systemd:/x\n"), "");
  EXPECT_EQ(memory_cgroup_in("0::/../../etc\n"), "") << "a path that climbs is refused";
  EXPECT_EQ(memory_cgroup_in(""), "");
  // This process has one on Linux, of either kind.
  const std::string mine = memory_cgroup_of(::getpid());
  EXPECT_TRUE(mine.starts_with("v1:/") || mine.starts_with("v2:/")) << mine;
}

TEST(MemoryLimit, TheLowestLimitOfTheCgroupAndItsParentsCounts) {
  memproxy::testing::TempDir dir;
  const std::filesystem::path root(dir.path());
  MemoryLimitPaths paths{root.string(), (root / "meminfo").string()};
  write(root / "meminfo", "MemTotal: 100 kB\nMemAvailable: 2048 kB\n");
  write(root / "a/memory.max", "max\n");
  write(root / "a/memory.high", "1073741824\n");
  write(root / "a/b/memory.max", "2147483648\n");
  write(root / "a/b/memory.high", "max\n");
  MemoryLimit v2 = memory_limit("v2:/a/b", 5000, paths);
  EXPECT_EQ(v2.bytes, 1073741824u);
  EXPECT_EQ(v2.source, "cgroup memory.high");
  write(root / "a/b/memory.max", "536870912\n");
  EXPECT_EQ(memory_limit("v2:/a/b", 5000, paths).source, "cgroup memory.max") << "read again at each forecast";

  write(root / "memory/u/memory.limit_in_bytes", "268435456\n");
  write(root / "memory/memory.limit_in_bytes", "9223372036854771712\n");
  MemoryLimit v1 = memory_limit("v1:/u", 5000, paths);
  EXPECT_EQ(v1.bytes, 268435456u);
  EXPECT_EQ(v1.source, "cgroup memory.limit_in_bytes");
}

// The OOM kill count a SIGKILL is judged against: v2's memory.events, v1's
// memory.oom_control, none where the file or the key is missing or junk.
TEST(MemoryCgroup, TheOomKillCountOfEitherHierarchy) {
  memproxy::testing::TempDir dir;
  const std::filesystem::path root = dir.path();
  memproxy::heapwatch::MemoryLimitPaths paths{root.string(), (root / "meminfo").string()};
  write(root / "a/b/memory.events", "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n");
  write(root / "memory/u/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 5\n");
  write(root / "old/memory.events", "low 0\nhigh 0\nmax 0\noom 0\n");
  write(root / "junk/memory.events", "oom_kill lots\n");
  write(root / "memory.events", "oom_kill 9\n");
  EXPECT_EQ(memproxy::heapwatch::cgroup_oom_kills("v2:/a/b", paths), std::optional<uint64_t>(2));
  EXPECT_EQ(memproxy::heapwatch::cgroup_oom_kills("v1:/u", paths), std::optional<uint64_t>(5));
  EXPECT_EQ(memproxy::heapwatch::cgroup_oom_kills("v2:/", paths), std::optional<uint64_t>(9));
  EXPECT_EQ(memproxy::heapwatch::cgroup_oom_kills("v2:/old", paths), std::nullopt);
  EXPECT_EQ(memproxy::heapwatch::cgroup_oom_kills("v2:/junk", paths), std::nullopt);
  EXPECT_EQ(memproxy::heapwatch::cgroup_oom_kills("v2:/missing", paths), std::nullopt);
  EXPECT_EQ(memproxy::heapwatch::cgroup_oom_kills("", paths), std::nullopt);
}

TEST(MemoryLimit, WithoutACgroupLimitTheHostsAvailableMemoryPlusWhatItHolds) {
  memproxy::testing::TempDir dir;
  const std::filesystem::path root(dir.path());
  MemoryLimitPaths paths{root.string(), (root / "meminfo").string()};
  write(root / "meminfo", "MemTotal: 100 kB\nMemFree: 10 kB\nMemAvailable: 2048 kB\n");
  write(root / "memory/memory.limit_in_bytes", "9223372036854771712\n");  // v1's "no limit"
  MemoryLimit host = memory_limit("v1:/", 5000, paths);
  EXPECT_EQ(host.bytes, 2048u * 1024 + 5000);
  EXPECT_EQ(host.source, "host");
  EXPECT_EQ(memory_limit("", 1, paths).bytes, 2048u * 1024 + 1);
  write(root / "junk/memory.max", "12abc\n");
  EXPECT_EQ(memory_limit("v2:/junk", 1, paths).source, "host") << "a value that is not a number is no limit";
  paths.meminfo = (root / "absent").string();
  EXPECT_EQ(memory_limit("", 1, paths).bytes, 0u) << "unknown";
}

}  // namespace
}  // namespace memproxy::heapwatch
