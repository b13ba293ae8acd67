// Integration: no config can stop, hang or flood the daemon. One too large
// is refused unread, one that exhausts memory is refused, a FIFO in its
// place is refused without waiting, and a flood of warnings is cut short;
// each time the daemon keeps running and the last good table stays.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "memproxy/config.hpp"
#include "memproxy/table_format.h"
#include "test_support.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define MEMPROXY_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEMPROXY_TEST_ASAN 1
#endif
#endif

namespace memproxyd_test {
namespace {

constexpr unsigned kExclude = memproxy::table::kFlagExclude;

// Waits until the status record counts more than `before` rejections.
bool rejected_after(const std::string& table, uint64_t before) {
  return wait_until([&] {
    auto s = status_of(table);
    return s && s->rejected_count > before;
  });
}

// Replaces `config` by `content` the way editors do (a new file renamed over it).
void replace(const std::string& config, const std::string& content) {
  write_file(config + ".tmp", content);
  ASSERT_EQ(::rename((config + ".tmp").c_str(), config.c_str()), 0);
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

TEST(ConfigLimitsTest, AConfigOverTheSizeCapIsRefusedUnread) {
  TempDir dir;
  std::string config = dir / "memproxy.conf", table = dir / "run/table";
  write_file(config, "alpha\n");
  Daemon daemon(dir, {"-c", config, "-t", table});
  ASSERT_TRUE(wait_until([&] { return probe(table, {"alpha"}).flags["alpha"] == kExclude; })) << daemon.log();

  // Valid text, only too much of it: without the cap it would be published.
  const std::string line = "# " + std::string(61, 'x') + "\n";
  std::string big;
  big.reserve(memproxy::config::kMaxConfigBytes + line.size());
  while (big.size() <= memproxy::config::kMaxConfigBytes) big += line;
  replace(config, big);
  big.clear();
  big.shrink_to_fit();
  ASSERT_TRUE(rejected_after(table, 0)) << daemon.log();
  const std::string error = status_of(table)->last_error;
  EXPECT_NE(error.find(config + ": error: too large"), std::string::npos) << error;
  EXPECT_NE(error.find("64 MiB"), std::string::npos) << error;
  EXPECT_EQ(probe(table, {"alpha"}).flags["alpha"], kExclude);
  EXPECT_EQ(probe(table).generation, 1u);
  EXPECT_TRUE(running(daemon.pid()));

  replace(config, "beta\n");
  EXPECT_TRUE(wait_until([&] { return probe(table, {"beta"}).flags["beta"] == kExclude; })) << daemon.log();
  EXPECT_EQ(daemon.stop(), 0);
}

TEST(ConfigLimitsTest, AFloodOfWarningsIsCutShort) {
  TempDir dir;
  std::string config = dir / "memproxy.conf", table = dir / "run/table";
  constexpr int kLines = 100'000;  // each with a CR: one warning per line
  std::string text;
  for (int i = 0; i < kLines; ++i) text += "program-" + std::to_string(i) + "\r\n";
  write_file(config, text);
  RunResult r = run({MEMPROXYD_BIN, "--once", "-c", config, "-t", table});
  ASSERT_EQ(r.exit_code, 0) << r.err.substr(0, 2000);
  EXPECT_EQ(count(r.err, "line ends with CR"), memproxy::config::kMaxWarnings);
  EXPECT_NE(r.err.find(config + ": warning: " + std::to_string(kLines - memproxy::config::kMaxWarnings) +
                       " more warnings not shown"),
            std::string::npos)
      << r.err.substr(r.err.size() > 2000 ? r.err.size() - 2000 : 0);
  Probe p = probe(table, {"program-0", "program-99999"});
  EXPECT_EQ(p.entries, static_cast<uint64_t>(kLines));
  EXPECT_EQ(p.flags["program-99999"], kExclude);
}

TEST(ConfigLimitsTest, AFifoInPlaceOfTheConfigNeverHangsTheDaemon) {
  TempDir dir;
  std::string config = dir / "memproxy.conf", table = dir / "run/table";
  ASSERT_EQ(::mkfifo(config.c_str(), 0644), 0);
  RunResult once = run({MEMPROXYD_BIN, "--once", "-c", config, "-t", table});
  EXPECT_EQ(once.exit_code, 1) << "-1: it hung on the FIFO; " << once.err;
  EXPECT_NE(once.err.find("not a regular file"), std::string::npos) << once.err;
  ASSERT_EQ(::unlink(config.c_str()), 0);

  write_file(config, "alpha\n");
  Daemon daemon(dir, {"-c", config, "-t", table});
  ASSERT_TRUE(wait_until([&] { return probe(table, {"alpha"}).flags["alpha"] == kExclude; })) << daemon.log();
  ASSERT_EQ(::unlink(config.c_str()), 0);
  ASSERT_EQ(::mkfifo(config.c_str(), 0644), 0);
  daemon.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] {
    auto s = status_of(table);
    return s && s->last_error.find("not a regular file") != std::string::npos;
  })) << daemon.log();
  EXPECT_EQ(probe(table, {"alpha"}).flags["alpha"], kExclude);
  // Still serving: the next good config is published.
  ASSERT_EQ(::unlink(config.c_str()), 0);
  write_file(config, "beta\n");
  EXPECT_TRUE(wait_until([&] { return probe(table, {"beta"}).flags["beta"] == kExclude; })) << daemon.log();
  EXPECT_EQ(daemon.stop(), 0);
}

TEST(ConfigLimitsTest, RunningOutOfMemoryInAReloadKeepsTheDaemonAndTheTable) {
#if defined(MEMPROXY_TEST_ASAN)
  GTEST_SKIP() << "AddressSanitizer reserves terabytes of address space: an address-space limit cannot apply";
#endif
  MEMPROXY_REQUIRE(memproxy::testing::missing_program("/usr/bin/prlimit", "util-linux"));
  TempDir dir;
  std::string config = dir / "memproxy.conf", table = dir / "run/table";
  write_file(config, "alpha\n");
  // Room for the daemon and small tables, not for parsing 48 MB of entries.
  Daemon daemon(dir, {"-c", config, "-t", table, "--watch", "none"},
                {"/usr/bin/prlimit", "--as=" + std::to_string(256u << 20), "--"});
  ASSERT_TRUE(wait_until([&] { return probe(table, {"alpha"}).flags["alpha"] == kExclude; })) << daemon.log();

  {
    std::string text;
    text.reserve(48u << 20);
    for (int i = 0; text.size() < (48u << 20); ++i) text += "a-program-named-" + std::to_string(i) + "\n";
    replace(config, text);
  }
  daemon.signal(SIGHUP);
  ASSERT_TRUE(rejected_after(table, 0)) << daemon.log();
  EXPECT_TRUE(running(daemon.pid())) << daemon.log();
  const std::string error = status_of(table)->last_error;
  EXPECT_NE(error.find(config), std::string::npos) << error;
  EXPECT_NE(error.find("out of memory"), std::string::npos) << error;
  Probe p = probe(table, {"alpha"});
  EXPECT_EQ(p.generation, 1u);
  EXPECT_EQ(p.flags["alpha"], kExclude);

  replace(config, "beta\n");
  daemon.signal(SIGHUP);
  EXPECT_TRUE(wait_until([&] { return probe(table, {"beta"}).flags["beta"] == kExclude; })) << daemon.log();
  EXPECT_EQ(daemon.stop(), 0);
}

}  // namespace
}  // namespace memproxyd_test
