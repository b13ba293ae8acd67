// Integration: the daemon reads only a config that nobody but root can have
// written: owned by root and not group/other-writable, and so is every
// directory on its path, links followed (a sticky directory such as /tmp
// counts as safe). Anything else is refused with the component that failed,
// and the last good table stays.
#include <gtest/gtest.h>

#include "memproxy/table_format.h"
#include "test_support.hpp"

namespace memproxyd_test {
namespace {

constexpr unsigned kExclude = memproxy::table::kFlagExclude;

class ConfigTrustTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MEMPROXY_REQUIRE(memproxy::testing::missing_root("own the test's config as root"));
    fs::create_directory(dir_ / "etc");
    ASSERT_EQ(::chmod((dir_ / "etc").c_str(), 0755), 0);
    table_ = dir_ / "run/table";
  }

  // A daemon on `config`, which is good now: generation 1 routes alpha.
  std::unique_ptr<Daemon> start(const std::string& config) {
    auto daemon = std::make_unique<Daemon>(dir_, std::vector<std::string>{"-c", config, "-t", table_, "--watch", "none"});
    EXPECT_TRUE(wait_until([&] { return probe(table_, {"alpha"}).flags["alpha"] == kExclude; }))
        << daemon->log();
    return daemon;
  }

  // After a SIGHUP: the config was refused for `reason`, naming `component`,
  // and the first table still routes.
  ::testing::AssertionResult refused(Daemon& daemon, const std::string& component, const std::string& reason) {
    const uint64_t before = status_of(table_) ? status_of(table_)->rejected_count : 0;
    daemon.signal(SIGHUP);
    if (!wait_until([&] {
          auto s = status_of(table_);
          return s && s->rejected_count > before;
        })) {
      return ::testing::AssertionFailure() << "no rejection recorded: " << daemon.log();
    }
    const std::string error = status_of(table_)->last_error;
    if (error.find(component + " " + reason) == std::string::npos) {
      return ::testing::AssertionFailure() << "the reason does not say '" << component << " " << reason
                                           << "': " << error;
    }
    Probe p = probe(table_, {"alpha"});
    if (p.generation != 1 || p.flags["alpha"] != kExclude) {
      return ::testing::AssertionFailure() << "the last good table did not stay (generation " << p.generation << ")";
    }
    if (!running(daemon.pid())) return ::testing::AssertionFailure() << "the daemon stopped: " << daemon.log();
    return ::testing::AssertionSuccess();
  }

  ::testing::AssertionResult published_again(Daemon& daemon) {
    daemon.signal(SIGHUP);
    if (wait_until([&] { return probe(table_).generation == 2; })) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "a trusted config again was not published: " << daemon.log();
  }

  TempDir dir_;
  std::string table_;
};

TEST_F(ConfigTrustTest, AConfigInAGroupWritableDirectoryIsRefused) {
  std::string config = dir_ / "etc/memproxy.conf";
  write_file(config, "alpha\n");
  auto daemon = start(config);
  ASSERT_EQ(::chmod((dir_ / "etc").c_str(), 0775), 0);
  write_file(config, "beta\n");
  EXPECT_TRUE(refused(*daemon, dir_ / "etc", "is writable by group or others"));
  ASSERT_EQ(::chmod((dir_ / "etc").c_str(), 0755), 0);
  EXPECT_TRUE(published_again(*daemon));
}

TEST_F(ConfigTrustTest, AConfigOwnedByAnotherUserIsRefused) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_user("nobody"));
  struct passwd* nobody = ::getpwnam("nobody");
  std::string config = dir_ / "etc/memproxy.conf";
  write_file(config, "alpha\n");
  auto daemon = start(config);
  write_file(config, "beta\n");
  ASSERT_EQ(::chown(config.c_str(), nobody->pw_uid, nobody->pw_gid), 0);
  EXPECT_TRUE(refused(*daemon, config, "is owned by another user, not root"));
  ASSERT_EQ(::chown(config.c_str(), 0, 0), 0);
  EXPECT_TRUE(published_again(*daemon));
}

TEST_F(ConfigTrustTest, AGroupWritableConfigIsRefused) {
  std::string config = dir_ / "etc/memproxy.conf";
  write_file(config, "alpha\n");
  auto daemon = start(config);
  write_file(config, "beta\n");
  ASSERT_EQ(::chmod(config.c_str(), 0664), 0);
  EXPECT_TRUE(refused(*daemon, config, "is writable by group or others"));
}

TEST_F(ConfigTrustTest, ALinkInAWorldWritableDirectoryIsRefusedButStickyIsSafe) {
  // -c names a link in a directory anyone may write: anyone could point it
  // at a file of their own.
  fs::create_directory(dir_ / "shared");
  ASSERT_EQ(::chmod((dir_ / "shared").c_str(), 0755), 0);
  write_file(dir_ / "etc/memproxy.conf", "alpha\n");
  ASSERT_EQ(::symlink((dir_ / "etc/memproxy.conf").c_str(), (dir_ / "shared/memproxy.conf").c_str()), 0);
  auto daemon = start(dir_ / "shared/memproxy.conf");
  write_file(dir_ / "etc/memproxy.conf", "beta\n");
  ASSERT_EQ(::chmod((dir_ / "shared").c_str(), 0777), 0);
  EXPECT_TRUE(refused(*daemon, dir_ / "shared", "is writable by group or others"));
  // The sticky bit (as on /tmp) stops others from replacing what is not theirs.
  ASSERT_EQ(::chmod((dir_ / "shared").c_str(), 01777), 0);
  EXPECT_TRUE(published_again(*daemon));
}

TEST_F(ConfigTrustTest, OnceAndCheckRefuseAnUntrustedConfig) {
  std::string config = dir_ / "etc/memproxy.conf";
  write_file(config, "alpha\n");
  ASSERT_EQ(::chmod(config.c_str(), 0666), 0);
  RunResult once = run({MEMPROXYD_BIN, "--once", "-c", config, "-t", table_});
  EXPECT_EQ(once.exit_code, 1);
  EXPECT_NE(once.err.find(config + " is writable by group or others"), std::string::npos) << once.err;
  EXPECT_FALSE(fs::exists(table_)) << "nothing is published, not even an empty table";
  RunResult check = run({MEMPROXYD_BIN, "--check", "-c", config});
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_NE(check.err.find("refusing to read it"), std::string::npos) << check.err;
}

}  // namespace
}  // namespace memproxyd_test
