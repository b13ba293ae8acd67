// The trust rule (common/include/memproxy/trust.hpp) on real files: owners,
// modes, sticky directories, links, and what must never be opened as a file.
#include <fcntl.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "capability.hpp"
#include "memproxy/trust.hpp"
#include "temp_dir.hpp"

namespace trust = memproxy::trust;
using trust::Verdict;

namespace {

class Trust : public testing::Test {
 protected:
  // The tree must be root's: chown below needs root.
  void SetUp() override { MEMPROXY_REQUIRE(memproxy::testing::missing_root("create files owned by others")); }

  std::string mkdir(const std::string& name, mode_t mode = 0755) {
    std::string path = dir.file(name);
    EXPECT_EQ(::mkdir(path.c_str(), 0700), 0) << path;
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }
  std::string file(const std::string& name, mode_t mode = 0644) {
    std::string path = dir.write(name, "content");
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }
  Verdict check(const std::string& path, uid_t other = trust::kRootOnly) {
    where[0] = '\0';
    trust::Finding f;
    f.where = where;
    f.where_size = sizeof where;
    Verdict v = trust::check_file_path(path.c_str(), other, &f);
    EXPECT_EQ(v, f.verdict);
    return v;
  }
  uid_t nobody() const {
    const passwd* p = getpwnam("nobody");
    return p != nullptr ? p->pw_uid : 65534;
  }

  memproxy::testing::TempDir dir{0755};
  char where[4096];
};

TEST_F(Trust, RootOwnedPathIsTrusted) {
  std::string f = file("lib.so");
  EXPECT_EQ(check(f), Verdict::ok) << where;
  EXPECT_EQ(check("/usr/lib/x86_64-linux-gnu/libc.so.6"), Verdict::ok) << where;  // through the /lib links
}

TEST_F(Trust, TheStickyTmpAboveIsAccepted) {
  // TempDir lives under /tmp: world-writable, but sticky.
  struct stat st;
  ASSERT_EQ(::stat(std::filesystem::temp_directory_path().c_str(), &st), 0);
  ASSERT_TRUE((st.st_mode & S_ISVTX) != 0 || (st.st_mode & S_IWOTH) == 0);
  EXPECT_EQ(check(file("x")), Verdict::ok) << where;
}

TEST_F(Trust, GroupOrWorldWritableFileOrDirectoryIsRefused) {
  EXPECT_EQ(check(file("g", 0664)), Verdict::writable_by_others);
  EXPECT_EQ(check(file("o", 0646)), Verdict::writable_by_others);
  std::string d = mkdir("open", 0777);
  std::string inside = d + "/lib.so";
  ASSERT_TRUE(std::ofstream(inside) << "x");
  EXPECT_EQ(check(inside), Verdict::writable_by_others);
  EXPECT_EQ(std::string(where), d) << "the finding names the directory";
  // The same directory with the sticky bit is accepted (as /tmp is).
  ASSERT_EQ(::chmod(d.c_str(), 01777), 0);
  EXPECT_EQ(check(inside), Verdict::ok) << where;
}

TEST_F(Trust, AnotherOwnerIsRefusedUnlessNamed) {
  std::string f = file("lib.so");
  ASSERT_EQ(::chown(f.c_str(), nobody(), 0), 0);
  EXPECT_EQ(check(f), Verdict::bad_owner);
  EXPECT_EQ(check(f, nobody()), Verdict::ok) << where;
  std::string d = mkdir("theirs");
  ASSERT_EQ(::chown(d.c_str(), nobody(), 0), 0);
  std::string inside = dir.write("theirs/lib.so", "x");
  EXPECT_EQ(check(inside), Verdict::bad_owner);
  EXPECT_EQ(std::string(where), d);
}

TEST_F(Trust, LinksAreFollowedAndTheirTargetsChecked) {
  std::string real = file("real.so");
  std::string untrusted_dir = mkdir("untrusted", 0777);
  std::string bad = dir.write("untrusted/evil.so", "x");
  ASSERT_EQ(::symlink(real.c_str(), dir.file("abs-link").c_str()), 0);
  ASSERT_EQ(::symlink("real.so", dir.file("rel-link").c_str()), 0);
  mkdir("sub");
  ASSERT_EQ(::symlink("../real.so", dir.file("sub/up-link").c_str()), 0);
  ASSERT_EQ(::symlink(bad.c_str(), dir.file("to-untrusted").c_str()), 0);
  EXPECT_EQ(check(dir.file("abs-link")), Verdict::ok) << where;
  EXPECT_EQ(check(dir.file("rel-link")), Verdict::ok) << where;
  EXPECT_EQ(check(dir.file("sub/up-link")), Verdict::ok) << where;
  EXPECT_EQ(check(dir.file("to-untrusted")), Verdict::writable_by_others);
  EXPECT_EQ(std::string(where), untrusted_dir);
  // A link inside an untrusted directory is never followed.
  ASSERT_EQ(::symlink(real.c_str(), (untrusted_dir + "/to-real").c_str()), 0);
  EXPECT_EQ(check(untrusted_dir + "/to-real"), Verdict::writable_by_others);
}

// A library path may be a link (libjemalloc.so.2 is); the table may not.
TEST_F(Trust, TheLastLinkIsFollowedForALibraryButRefusedForTheTable) {
  std::string real = file("real.so");
  ASSERT_EQ(::symlink("real.so", dir.file("link.so").c_str()), 0);
  EXPECT_EQ(check(dir.file("link.so")), Verdict::ok) << where;
  trust::Finding f;
  struct stat st;
  EXPECT_EQ(trust::open_trusted_file(dir.file("link.so").c_str(), trust::kRootOnly, &st, &f), -1);
  EXPECT_EQ(f.verdict, Verdict::not_regular);
  int fd = trust::open_trusted_file(real.c_str(), trust::kRootOnly, &st, &f);
  EXPECT_GE(fd, 0) << trust::describe(f.verdict);
  ::close(fd);
}

TEST_F(Trust, LinkLoopsEnd) {
  ASSERT_EQ(::symlink("b", dir.file("a").c_str()), 0);
  ASSERT_EQ(::symlink("a", dir.file("b").c_str()), 0);
  EXPECT_EQ(check(dir.file("a")), Verdict::too_many_links);
}

TEST_F(Trust, OnlyRegularFilesAreFiles) {
  ASSERT_EQ(::mkfifo(dir.file("fifo").c_str(), 0644), 0);
  EXPECT_EQ(check(dir.file("fifo")), Verdict::not_regular);  // and returns: O_NONBLOCK
  EXPECT_EQ(check("/dev/null"), Verdict::not_regular);
  EXPECT_EQ(check(mkdir("adir")), Verdict::not_regular);
  int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string sock = dir.file("sock");
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock.c_str());
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(check(sock), Verdict::not_regular);
  ::close(s);
}

TEST_F(Trust, MissingRelativeAndNotADirectory) {
  EXPECT_EQ(check(dir.file("absent")), Verdict::missing);
  EXPECT_EQ(check("relative/lib.so"), Verdict::not_absolute);
  EXPECT_EQ(check(file("plain") + "/below"), Verdict::not_a_directory);
  EXPECT_EQ(check("/" + std::string(5000, 'x')), Verdict::too_long);
}

TEST_F(Trust, OpenRegularFileNeverFollowsOrBlocks) {
  std::string d = mkdir("run");
  ASSERT_EQ(::mkfifo((d + "/table").c_str(), 0644), 0);
  trust::Finding f;
  int dir_fd = trust::open_trusted_directory(d.c_str(), trust::kRootOnly, &f);
  ASSERT_GE(dir_fd, 0) << trust::describe(f.verdict);
  struct stat st;
  EXPECT_EQ(trust::open_regular_file(dir_fd, "table", true, trust::kRootOnly, &st, &f), -1);
  EXPECT_EQ(f.verdict, Verdict::not_regular);
  ASSERT_EQ(::unlink((d + "/table").c_str()), 0);
  ASSERT_EQ(::symlink(file("elsewhere").c_str(), (d + "/table").c_str()), 0);
  EXPECT_EQ(trust::open_regular_file(dir_fd, "table", true, trust::kRootOnly, &st, &f), -1);
  EXPECT_EQ(f.verdict, Verdict::not_regular) << "a link in the table's place is refused, not followed";
  ASSERT_EQ(::unlink((d + "/table").c_str()), 0);
  ASSERT_TRUE(std::ofstream(d + "/table") << "t");
  int fd = trust::open_regular_file(dir_fd, "table", true, trust::kRootOnly, &st, &f);
  EXPECT_GE(fd, 0);
  ::close(fd);
  ASSERT_EQ(::chown((d + "/table").c_str(), nobody(), 0), 0);
  EXPECT_EQ(trust::open_regular_file(dir_fd, "table", true, trust::kRootOnly, &st, &f), -1);
  EXPECT_EQ(f.verdict, Verdict::bad_owner);
  fd = trust::open_regular_file(dir_fd, "table", false, trust::kRootOnly, &st, &f);
  EXPECT_GE(fd, 0) << "without the owner check a user's own file opens";
  ::close(fd);
  ::close(dir_fd);
}

TEST_F(Trust, UntrustedDirectoryDoesNotOpen) {
  std::string d = mkdir("open", 0777);
  trust::Finding f;
  EXPECT_EQ(trust::open_trusted_directory(d.c_str(), trust::kRootOnly, &f), -1);
  EXPECT_EQ(f.verdict, Verdict::writable_by_others);
  EXPECT_GE(trust::open_trusted_directory("/", trust::kRootOnly, &f), 0);
}

TEST(TrustSplit, SplitsAtTheLastSlash) {
  char dir[64];
  EXPECT_STREQ(trust::split_directory("/run/memproxy/table", dir, sizeof dir), "table");
  EXPECT_STREQ(dir, "/run/memproxy");
  EXPECT_STREQ(trust::split_directory("/table", dir, sizeof dir), "table");
  EXPECT_STREQ(dir, "/");
  EXPECT_EQ(trust::split_directory("relative", dir, sizeof dir), nullptr);
  EXPECT_EQ(trust::split_directory("/dir/", dir, sizeof dir), nullptr);
  EXPECT_EQ(trust::split_directory(("/" + std::string(100, 'd') + "/f").c_str(), dir, sizeof dir), nullptr);
}

}  // namespace
