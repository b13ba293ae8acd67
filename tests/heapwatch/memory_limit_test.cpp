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
