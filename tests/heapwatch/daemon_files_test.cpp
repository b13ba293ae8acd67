// The files the daemon writes as root, the history database and the
// Prometheus textfile, only where no other user can redirect the writes:
// a symbolic link planted by nobody in a directory nobody can write, on
// the way to either, makes the real daemon refuse to start, naming the
// option, the path and the directory; a safe path is written, the textfile
// with the mode and group configured (0640 and root's group by default).
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "capability.hpp"
#include "e2e_support.hpp"

namespace {

using namespace heapwatch_e2e;
using memproxy::testing::TempDir;

class DaemonFilesTest : public ::testing::Test {
 protected:
  // A directory nobody can reach (0755, like every one above it) holding a
  // root-only directory `safe` and a directory `pub` everyone can write,
  // where nobody plants `pub/sub` -> `safe`.
  void plant_link() {
    MEMPROXY_REQUIRE(memproxy::testing::missing_unprivileged_runner());
    ASSERT_EQ(::mkdir(safe_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(pub_.c_str(), 0777), 0);
    ASSERT_EQ(::chmod(pub_.c_str(), 0777), 0);
    Outcome planted = memproxy::testing::run(memproxy::testing::as_nobody({"/bin/ln", "-s", safe_, pub_ + "/sub"}), {});
    ASSERT_TRUE(planted.ok()) << planted.describe();
    struct stat st {};
    ASSERT_EQ(::lstat((pub_ + "/sub").c_str(), &st), 0);
    ASSERT_TRUE(S_ISLNK(st.st_mode));
    ASSERT_NE(st.st_uid, 0u);
  }

  // The daemon with `extra`, expected to exit at once; a daemon that starts
  // instead is killed at the deadline, which fails the test.
  Outcome run_daemon(const std::vector<std::string>& extra) {
    dir_.write("memproxy.conf", "[monitor]\nmp-grower\n");
    std::vector<std::string> argv{MEMPROXYD_BIN, "-f", "-c", dir_ / "memproxy.conf", "-t", dir_ / "run/table"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    memproxy::testing::Options options;
    options.timeout = std::chrono::seconds(20);
    return memproxy::testing::run(argv, {"PATH=/usr/bin:/bin"}, options);
  }

  TempDir dir_{0755};
  const std::string safe_ = dir_ / "safe";
  const std::string pub_ = dir_ / "pub";
};

TEST_F(DaemonFilesTest, ATextfileThroughALinkPlantedByNobodyIsRefused) {
  plant_link();
  if (HasFatalFailure() || IsSkipped()) return;
  const std::string path = pub_ + "/sub/memproxy.prom";
  Outcome o = run_daemon({"--prometheus-textfile", path, "--no-history"});
  EXPECT_TRUE(o.exited && o.code == 1) << o.describe();
  EXPECT_NE(o.err.find("--prometheus-textfile " + path + ": " + pub_ + " is writable by others"), std::string::npos)
      << o.err;
  EXPECT_FALSE(std::filesystem::exists(safe_ + "/memproxy.prom"));
}

TEST_F(DaemonFilesTest, AHistoryThroughALinkPlantedByNobodyIsRefused) {
  plant_link();
  if (HasFatalFailure() || IsSkipped()) return;
  const std::string path = pub_ + "/sub/history.sqlite";
  Outcome o = run_daemon({"--history", path});
  EXPECT_TRUE(o.exited && o.code == 1) << o.describe();
  EXPECT_NE(o.err.find("--history " + path + ": " + pub_ + " is writable by others"), std::string::npos) << o.err;
  EXPECT_FALSE(std::filesystem::exists(safe_ + "/history.sqlite"));
}

// A directory nobody owns is as good as one nobody can write: nobody can
// chmod it whenever it likes.
TEST_F(DaemonFilesTest, ADirectoryOwnedByNobodyIsRefused) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_unprivileged_runner());
  const std::string owned = dir_ / "owned";
  ASSERT_EQ(::mkdir(owned.c_str(), 0755), 0);
  ASSERT_EQ(::chown(owned.c_str(), 65534, 65534), 0);
  Outcome o = run_daemon({"--prometheus-textfile", owned + "/memproxy.prom", "--no-history"});
  EXPECT_TRUE(o.exited && o.code == 1) << o.describe();
  EXPECT_NE(o.err.find(owned + " is owned by uid 65534"), std::string::npos) << o.err;
}

// The file itself is never followed.
TEST_F(DaemonFilesTest, ATextfileThatIsALinkIsRefused) {
  ASSERT_EQ(::mkdir(safe_.c_str(), 0755), 0);
  ASSERT_EQ(::symlink("/etc/passwd", (safe_ + "/memproxy.prom").c_str()), 0);
  Outcome o = run_daemon({"--prometheus-textfile", safe_ + "/memproxy.prom", "--no-history"});
  EXPECT_TRUE(o.exited && o.code == 1) << o.describe();
  EXPECT_NE(o.err.find(safe_ + "/memproxy.prom is a symbolic link"), std::string::npos) << o.err;
}

struct stat textfile_written_by(const TempDir& dir, const std::vector<std::string>& extra) {
  const std::string path = dir / "memproxy.prom";
  std::vector<std::string> args{"--prometheus-textfile", path};
  args.insert(args.end(), extra.begin(), extra.end());
  Daemon daemon(dir, args);
  EXPECT_TRUE(daemon.ready()) << daemon.log();
  EXPECT_TRUE(wait_until([&] { return std::filesystem::exists(path); })) << daemon.log();
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(daemon.stop(), 0) << daemon.log();
  return st;
}

TEST_F(DaemonFilesTest, ASafeTextfileIsWrittenReadableByRootsGroupOnly) {
  struct stat st = textfile_written_by(dir_, {});
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_gid, 0u);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "history.sqlite"));
}

TEST_F(DaemonFilesTest, TheTextfilesModeAndGroupAreAsConfigured) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_root("the textfile's group is set with fchown"));
  const group* nogroup = ::getgrnam("nogroup");
  if (nogroup == nullptr) GTEST_SKIP() << "no group nogroup";
  struct stat st = textfile_written_by(dir_, {"--prometheus-textfile-mode", "0604", "--prometheus-textfile-group",
                                               "nogroup"});
  EXPECT_EQ(st.st_mode & 07777, 0604u);
  EXPECT_EQ(st.st_gid, nogroup->gr_gid);
}

TEST_F(DaemonFilesTest, AWritableTextfileModeIsAUsageError) {
  Outcome o = run_daemon({"--prometheus-textfile", dir_ / "m.prom", "--prometheus-textfile-mode", "0666"});
  EXPECT_TRUE(o.exited && o.code == 2) << o.describe();
}

}  // namespace
