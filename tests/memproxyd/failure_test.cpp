// Integration: what the daemon refuses to do, and how it says so.
#include <gtest/gtest.h>
#include <pwd.h>

#include "memproxy/status_record.hpp"
#include "memproxy/table_format.h"
#include "test_support.hpp"

namespace memproxyd_test {
namespace {

constexpr unsigned kExclude = memproxy::table::kFlagExclude;

// The detached daemon is not our child: whoever reaps it (init, a subreaper, or
// nobody in a bare container) decides how long its zombie lingers.
bool gone_or_zombie(pid_t pid) {
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return true;
  auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
}

TEST(BadConfigTest, IsNotPublishedOldDecisionsHoldFixingPublishes) {
  TempDir dir;
  std::string config = dir / "memproxy.conf", table = dir / "run/table";
  write_file(config, "alpha\n");
  Daemon daemon(dir, {"-c", config, "-t", table});
  ASSERT_TRUE(wait_until([&] { return probe(table, {"alpha"}).flags["alpha"] == kExclude; })) << daemon.log();
  const uint64_t good_generation = probe(table).generation;

  write_file(config, "beta\nrelative/path\n");
  ASSERT_TRUE(wait_until([&] {
    auto s = status_of(table);
    return s && s->rejected_count >= 1;
  })) << daemon.log();
  auto rejected = status_of(table);
  ASSERT_TRUE(rejected);
  EXPECT_GT(rejected->last_rejection_unix_ns, 0);
  EXPECT_NE(rejected->last_error.find(config + ":2:"), std::string::npos) << rejected->last_error;
  EXPECT_EQ(rejected->generation, good_generation);
  EXPECT_TRUE(daemon.log_contains(config + ":2: error:")) << daemon.log();
  EXPECT_TRUE(daemon.log_contains("rejected")) << daemon.log();

  Probe p = probe(table, {"alpha", "beta"});
  EXPECT_EQ(p.generation, good_generation);
  EXPECT_EQ(p.flags["alpha"], kExclude);
  EXPECT_EQ(p.flags["beta"], 0u);

  write_file(config, "beta\n");
  ASSERT_TRUE(wait_until([&] {
    Probe q = probe(table, {"alpha", "beta"});
    return q.flags["beta"] == kExclude && q.flags["alpha"] == 0;
  })) << daemon.log();
  EXPECT_EQ(probe(table).generation, good_generation + 1);
  EXPECT_EQ(daemon.stop(), 0);
}

TEST(BadConfigTest, AtStartPublishesNothingAndKeepsRunning) {
  TempDir dir;
  std::string config = dir / "memproxy.conf", table = dir / "run/table";
  write_file(config, "bad/entry\n");
  Daemon daemon(dir, {"-c", config, "-t", table});
  ASSERT_TRUE(daemon.ready(table)) << daemon.log();
  EXPECT_EQ(probe(table).exit_code, 4) << "no table may exist";
  write_file(config, "good\n");
  ASSERT_TRUE(wait_until([&] { return probe(table, {"good"}).flags["good"] == kExclude; })) << daemon.log();
  EXPECT_EQ(daemon.stop(), 0);
}

TEST(SingleInstanceTest, SecondDaemonNamesTheFirstsPid) {
  TempDir dir;
  std::string config = dir / "memproxy.conf", table = dir / "run/table";
  write_file(config, "alpha\n");
  Daemon first(dir, {"-c", config, "-t", table});
  ASSERT_TRUE(first.ready(table)) << first.log();
  const uint64_t generation = probe(table).generation;

  RunResult second = run({MEMPROXYD_BIN, "--no-history", "-f", "-c", config, "-t", table});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("pid " + std::to_string(first.pid())), std::string::npos) << second.err;
  // --once is a publisher too and must not race the daemon's staging file.
  RunResult once = run({MEMPROXYD_BIN, "--once", "-c", config, "-t", table});
  EXPECT_EQ(once.exit_code, 1);
  EXPECT_NE(once.err.find("pid " + std::to_string(first.pid())), std::string::npos) << once.err;
  EXPECT_EQ(probe(table).generation, generation);

  EXPECT_EQ(first.stop(), 0);
  // The kernel released the lock with the process: a new daemon starts.
  RunResult after = run({MEMPROXYD_BIN, "--once", "-c", config, "-t", table});
  EXPECT_EQ(after.exit_code, 0) << after.err;
}

TEST(RuntimeDirTest, RefusesAWorldWritableDirectory) {
  TempDir dir;
  std::string config = dir / "memproxy.conf";
  write_file(config, "alpha\n");
  fs::create_directory(dir / "run");
  ASSERT_EQ(::chmod((dir / "run").c_str(), 0777), 0);
  std::string table = dir / "run/table";
  for (std::vector<std::string> mode : {std::vector<std::string>{"--once"}, std::vector<std::string>{"-f"}}) {
    std::vector<std::string> argv{MEMPROXYD_BIN, "--no-history", "-c", config, "-t", table};
    argv.insert(argv.end(), mode.begin(), mode.end());
    RunResult r = run(argv);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("writable by others"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(table));
  }
}

TEST(RuntimeDirTest, RefusesAGroupWritableDirectory) {
  TempDir dir;
  std::string config = dir / "memproxy.conf";
  write_file(config, "alpha\n");
  fs::create_directory(dir / "run");
  ASSERT_EQ(::chmod((dir / "run").c_str(), 0775), 0);
  RunResult r = run({MEMPROXYD_BIN, "--once", "-c", config, "-t", dir / "run/table"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("writable by its group"), std::string::npos) << r.err;
}

TEST(RuntimeDirTest, IsCreated0755AndTheTable0644WhateverTheUmask) {
  TempDir dir;
  std::string config = dir / "memproxy.conf", table = dir / "a/b/table";
  write_file(config, "alpha\n");
  std::string command = std::string("umask 077 && exec ") + MEMPROXYD_BIN + " --once -c " + config + " -t " + table;
  RunResult r = run({"/bin/sh", "-c", command});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(::stat((dir / "a/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(st.st_uid, ::geteuid());
  ASSERT_EQ(::stat(table.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  ASSERT_EQ(::stat((table + ".status").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  EXPECT_FALSE(fs::exists(table + ".new"));
}

TEST(MissingConfigTest, PublishesAnEmptyTableWithAWarning) {
  TempDir dir;
  std::string table = dir / "run/table";
  RunResult r = run({MEMPROXYD_BIN, "--once", "-c", dir / "absent.conf", "-t", table});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("absent.conf"), std::string::npos) << r.err;
  Probe p = probe(table, {"anything"});
  EXPECT_EQ(p.exit_code, 0);
  EXPECT_EQ(p.entries, 0u);
  EXPECT_EQ(p.flags["anything"], 0u);
}

TEST(MissingConfigTest, AppearingLaterIsPublished) {
  TempDir dir;
  std::string config = dir / "memproxy.conf", table = dir / "run/table";
  Daemon daemon(dir, {"-c", config, "-t", table});
  ASSERT_TRUE(wait_until([&] { return probe(table).exit_code == 0; })) << daemon.log();
  write_file(config, "alpha\n");
  ASSERT_TRUE(wait_until([&] { return probe(table, {"alpha"}).flags["alpha"] == kExclude; })) << daemon.log();
  EXPECT_EQ(daemon.stop(), 0);
}

TEST(UnreadableConfigTest, ADirectoryInPlaceOfTheFileIsAnError) {
  TempDir dir;
  std::string config = dir / "memproxy.conf", table = dir / "run/table";
  fs::create_directory(config);
  RunResult r = run({MEMPROXYD_BIN, "--once", "-c", config, "-t", table});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("error"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(table)) << "an unreadable config must not publish an empty table";
  RunResult check = run({MEMPROXYD_BIN, "--check", "-c", config});
  EXPECT_EQ(check.exit_code, 1);
}

TEST(UnreadableConfigTest, PermissionDeniedForAnUnprivilegedDaemon) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_unprivileged_runner());
  memproxy::testing::StagedForOtherUser staged;
  MEMPROXY_REQUIRE(staged.missing());
  const std::string daemon = staged.program(MEMPROXYD_BIN);
  struct passwd* nobody = ::getpwnam("nobody");
  TempDir dir;
  std::string config = dir / "memproxy.conf", table = dir / "run/table";
  write_file(config, "alpha\n");
  ASSERT_EQ(::chmod(config.c_str(), 0600), 0);
  fs::create_directory(dir / "run");
  ASSERT_EQ(::chown((dir / "run").c_str(), nobody->pw_uid, nobody->pw_gid), 0);
  // The daemon runs as nobody, which owns its runtime directory but cannot read root's 0600 config.
  std::string command = "exec setpriv --reuid=" + std::to_string(nobody->pw_uid) + " --regid=" +
                        std::to_string(nobody->pw_gid) + " --clear-groups " + daemon + " --once -c " + config +
                        " -t " + table;
  RunResult r = run({"/bin/sh", "-c", command});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find(config), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(table));
}

TEST(CheckTest, ExitCodes) {
  TempDir dir;
  std::string good = dir / "good.conf", bad = dir / "bad.conf", warned = dir / "warned.conf";
  write_file(good, "alpha\n/usr/bin/beta\n[monitor]\ngamma\n");
  write_file(bad, "alpha\nrelative/path\n");
  write_file(warned, "alpha\nalpha\n");

  RunResult ok = run({MEMPROXYD_BIN, "--check", "-c", good});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("ok"), std::string::npos);

  RunResult failed = run({MEMPROXYD_BIN, "--check", "-c", bad});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_NE(failed.err.find(bad + ":2: error:"), std::string::npos) << failed.err;

  RunResult warnings = run({MEMPROXYD_BIN, "--check", "-c", warned});
  EXPECT_EQ(warnings.exit_code, 0) << "duplicates are warnings";
  EXPECT_NE(warnings.err.find(warned + ":2:"), std::string::npos) << warnings.err;

  EXPECT_EQ(run({MEMPROXYD_BIN, "--check", "-c", dir / "absent.conf"}).exit_code, 1);
  EXPECT_EQ(run({MEMPROXYD_BIN, "--check", "--once", "-c", good}).exit_code, 2);
  EXPECT_EQ(run({MEMPROXYD_BIN, "--no-such-option"}).exit_code, 2);

  RunResult help = run({MEMPROXYD_BIN, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--check"), std::string::npos);
  RunResult version = run({MEMPROXYD_BIN, "--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.out.find("memproxyd"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir / "run")) << "--check publishes nothing";
}

TEST(OnceTest, ContinuesTheLiveGenerationAndNamesTheAllocator) {
  TempDir dir;
  std::string config = dir / "memproxy.conf", table = dir / "run/table";
  write_file(config, "alpha\n");
  for (int i = 0; i < 3; ++i) {
    RunResult r = run({MEMPROXYD_BIN, "--once", "-c", config, "-t", table, "--allocator", "libjemalloc.so.2"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("published generation " + std::to_string(i + 1)), std::string::npos) << r.err;
  }
  EXPECT_EQ(probe(table).generation, 3u);
  auto s = status_of(table);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->allocator, "libjemalloc.so.2");
  EXPECT_EQ(s->generation, 3u);
  EXPECT_EQ(s->state, "stopped");
  EXPECT_EQ(s->config_path, config);
}

TEST(BackgroundTest, DetachesAfterStartupAndReportsStartupFailure) {
  TempDir dir;
  std::string config = dir / "memproxy.conf", table = dir / "run/table";
  write_file(config, "alpha\n");
  RunResult started = run({MEMPROXYD_BIN, "--no-history", "-c", config, "-t", table});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  // The parent returned only after the first publish.
  EXPECT_EQ(probe(table, {"alpha"}).flags["alpha"], kExclude);
  auto s = status_of(table);
  ASSERT_TRUE(s);
  ASSERT_GT(s->pid, 0);
  EXPECT_EQ(s->state, "running");
  const pid_t daemon = static_cast<pid_t>(s->pid);
  EXPECT_EQ(::kill(daemon, 0), 0);

  RunResult second = run({MEMPROXYD_BIN, "--no-history", "-c", config, "-t", table});
  EXPECT_EQ(second.exit_code, 1) << "the parent reports the child's start-up failure";
  EXPECT_NE(second.err.find("pid " + std::to_string(daemon)), std::string::npos) << second.err;

  write_file(config, "beta\n");
  EXPECT_TRUE(wait_until([&] { return probe(table, {"beta"}).flags["beta"] == kExclude; }));
  ASSERT_EQ(::kill(daemon, SIGTERM), 0);
  EXPECT_TRUE(wait_until([&] {
    auto t = status_of(table);
    return t && t->state == "stopped";
  }));
  EXPECT_TRUE(wait_until([&] { return gone_or_zombie(daemon); }));
}

}  // namespace
}  // namespace memproxyd_test
