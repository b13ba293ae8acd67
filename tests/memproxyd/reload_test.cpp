// Integration: a running daemon republishes after every way a config gets
// changed, and a newly started process (the probe) routes by the new content.
#include <gtest/gtest.h>

#include "memproxy/table_format.h"
#include "test_support.hpp"

namespace memproxyd_test {
namespace {

constexpr unsigned kExclude = memproxy::table::kFlagExclude;

class ReloadTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    config_ = dir_ / "memproxy.conf";
    table_ = dir_ / "run/table";
  }

  std::vector<std::string> daemon_args() const {
    std::vector<std::string> args{"-c", config_, "-t", table_, "--watch", GetParam()};
    if (std::string(GetParam()) == "poll") {
      args.push_back("--poll-interval");
      args.push_back("20");
    }
    return args;
  }

  // Waits until a new process sees `excluded` listed and `gone` not listed.
  ::testing::AssertionResult routes(const std::string& excluded, const std::string& gone) {
    Probe last;
    bool ok = wait_until([&] {
      last = probe(table_, {excluded, gone});
      return last.exit_code == 0 && last.flags[excluded] == kExclude && last.flags[gone] == 0;
    });
    if (ok) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "a new process never saw " << excluded << " excluded and " << gone
                                         << " unlisted; last probe exit " << last.exit_code << ", generation "
                                         << last.generation;
  }

  uint64_t generation() { return probe(table_).generation; }

  TempDir dir_;
  std::string config_;
  std::string table_;
};

TEST_P(ReloadTest, InPlaceEdit) {
  write_file(config_, "alpha\n");
  Daemon daemon(dir_, daemon_args());
  ASSERT_TRUE(routes("alpha", "beta")) << daemon.log();
  uint64_t before = generation();
  write_file(config_, "beta\n");  // O_TRUNC on the same inode
  ASSERT_TRUE(routes("beta", "alpha")) << daemon.log();
  EXPECT_GT(generation(), before);
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_P(ReloadTest, RenameReplace) {
  write_file(config_, "alpha\n");
  Daemon daemon(dir_, daemon_args());
  ASSERT_TRUE(routes("alpha", "beta")) << daemon.log();
  for (const char* next : {"beta", "gamma"}) {  // twice: the second replaces a file that was itself renamed in
    std::string staged = dir_ / "memproxy.conf.tmp";
    write_file(staged, std::string(next) + "\n");
    ASSERT_EQ(::rename(staged.c_str(), config_.c_str()), 0);
    ASSERT_TRUE(routes(next, "alpha")) << daemon.log();
  }
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_P(ReloadTest, DeleteAndRecreate) {
  write_file(config_, "alpha\n");
  Daemon daemon(dir_, daemon_args());
  ASSERT_TRUE(routes("alpha", "beta")) << daemon.log();
  ASSERT_EQ(::unlink(config_.c_str()), 0);
  std::this_thread::sleep_for(50ms);  // let the watcher see the gap; correctness does not depend on it
  // While the file is gone, the last good table stays in force.
  EXPECT_TRUE(routes("alpha", "beta"));
  write_file(config_, "beta\n");
  ASSERT_TRUE(routes("beta", "alpha")) << daemon.log();
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_P(ReloadTest, SymlinkSwapAndTargetEdit) {
  fs::create_directory(dir_ / "versions");
  write_file(dir_ / "versions/a.conf", "alpha\n");
  write_file(dir_ / "versions/b.conf", "beta\n");
  ASSERT_EQ(::symlink("versions/a.conf", config_.c_str()), 0);
  Daemon daemon(dir_, daemon_args());
  ASSERT_TRUE(routes("alpha", "beta")) << daemon.log();

  // Atomic swap, as deployment tools do it: a new link renamed over the old.
  std::string staged = dir_ / "memproxy.conf.new";
  ASSERT_EQ(::symlink("versions/b.conf", staged.c_str()), 0);
  ASSERT_EQ(::rename(staged.c_str(), config_.c_str()), 0);
  ASSERT_TRUE(routes("beta", "alpha")) << daemon.log();

  // An edit of the file the link now points to, in its own directory.
  write_file(dir_ / "versions/b.conf", "gamma\n");
  ASSERT_TRUE(routes("gamma", "beta")) << daemon.log();

  // `ln -sfn`: unlink, then a new link.
  ASSERT_EQ(::unlink(config_.c_str()), 0);
  ASSERT_EQ(::symlink("versions/a.conf", config_.c_str()), 0);
  ASSERT_TRUE(routes("alpha", "gamma")) << daemon.log();
  EXPECT_EQ(daemon.stop(), 0);
}

TEST_P(ReloadTest, BurstOfEditsEndsWithTheLastContent) {
  write_file(config_, "alpha\n");
  Daemon daemon(dir_, daemon_args());
  ASSERT_TRUE(routes("alpha", "edit-49")) << daemon.log();
  // Edits faster than a publish: coalesced, but the last one must always win,
  // including one that lands while a reload of an earlier one is under way.
  for (int i = 0; i < 50; ++i) {
    std::string staged = dir_ / "memproxy.conf.tmp";
    write_file(staged, "edit-" + std::to_string(i) + "\n");
    ASSERT_EQ(::rename(staged.c_str(), config_.c_str()), 0);
  }
  ASSERT_TRUE(routes("edit-49", "alpha")) << daemon.log();
  Probe final_state = probe(table_, {"edit-48"});
  EXPECT_EQ(final_state.flags["edit-48"], 0u);
  std::printf("50 edits in a burst led to %llu publishes\n",
              static_cast<unsigned long long>(final_state.generation - 1));
  EXPECT_EQ(daemon.stop(), 0);
}

INSTANTIATE_TEST_SUITE_P(Watchers, ReloadTest, ::testing::Values("inotify", "poll"));

TEST(SighupTest, ReloadsWithoutWatcher) {
  TempDir dir;
  std::string config = dir / "memproxy.conf", table = dir / "run/table";
  write_file(config, "alpha\n");
  Daemon daemon(dir, {"-c", config, "-t", table, "--watch", "none"});
  ASSERT_TRUE(wait_until([&] { return probe(table, {"alpha"}).flags["alpha"] == kExclude; })) << daemon.log();
  ASSERT_TRUE(wait_until([&] { return daemon.log_contains("reloads on SIGHUP only"); })) << daemon.log();
  write_file(config, "beta\n");
  // Without a watcher nothing else can cause a reload: SIGHUP is what publishes.
  daemon.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] {
    Probe p = probe(table, {"alpha", "beta"});
    return p.flags["beta"] == kExclude && p.flags["alpha"] == 0;
  })) << daemon.log();
  EXPECT_TRUE(daemon.log_contains("SIGHUP"));
  // A second SIGHUP is handled too (the signal wait is re-armed).
  uint64_t before = probe(table).generation;
  daemon.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return probe(table).generation > before; })) << daemon.log();
  EXPECT_EQ(daemon.stop(), 0);
}

TEST(SigtermTest, LeavesTheTableAndSaysStopped) {
  TempDir dir;
  std::string config = dir / "memproxy.conf", table = dir / "run/table";
  write_file(config, "alpha\n");
  Daemon daemon(dir, {"-c", config, "-t", table});
  ASSERT_TRUE(daemon.ready(table)) << daemon.log();
  EXPECT_EQ(daemon.stop(), 0);
  Probe p = probe(table, {"alpha"});
  EXPECT_EQ(p.exit_code, 0);
  EXPECT_EQ(p.flags["alpha"], kExclude);
  EXPECT_NE(read_file(table + ".status").find("state=stopped"), std::string::npos);
}

TEST(SigintTest, ExitsCleanly) {
  TempDir dir;
  std::string config = dir / "memproxy.conf", table = dir / "run/table";
  write_file(config, "alpha\n");
  Daemon daemon(dir, {"-c", config, "-t", table});
  ASSERT_TRUE(daemon.ready(table)) << daemon.log();
  daemon.signal(SIGINT);
  EXPECT_EQ(daemon.wait(), 0);
  EXPECT_EQ(probe(table, {"alpha"}).flags["alpha"], kExclude);
}

}  // namespace
}  // namespace memproxyd_test
