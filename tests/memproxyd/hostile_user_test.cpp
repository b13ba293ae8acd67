// Integration: what an unprivileged user of the host can do to the daemon and
// learn from it. Nothing that keeps it from starting, and nothing from a file
// the user cannot read. The attacks run as `nobody`.
#include <gtest/gtest.h>
#include <grp.h>
#include <sys/file.h>

#include <nlohmann/json.hpp>

#include "memproxy/table_format.h"
#include "test_support.hpp"

namespace memproxyd_test {
namespace {

constexpr unsigned kExclude = memproxy::table::kFlagExclude;

std::string missing_nobody_with_root() {
  std::string why = memproxy::testing::missing_root("become 'nobody' for the attack");
  return why.empty() ? memproxy::testing::missing_user("nobody") : why;
}

// A child process that becomes `nobody`, opens `path` read-only and takes an
// exclusive flock on it, and keeps it until destroyed: what any user could
// do to a lock file they can open. result() is 0 when it holds the lock, else
// the errno of the step that failed.
class NobodyLocker {
 public:
  explicit NobodyLocker(const std::string& path) {
    struct passwd* nobody = ::getpwnam("nobody");
    if (nobody == nullptr || ::pipe(report_) != 0 || ::pipe(release_) != 0) throw std::runtime_error("setup");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(release_[1]);
      int result = 0;
      if (::setgroups(0, nullptr) != 0 || ::setresgid(nobody->pw_gid, nobody->pw_gid, nobody->pw_gid) != 0 ||
          ::setresuid(nobody->pw_uid, nobody->pw_uid, nobody->pw_uid) != 0) {
        result = errno;
      } else {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) result = errno;
      }
      (void)!::write(report_[1], &result, sizeof result);
      char byte;
      (void)!::read(release_[0], &byte, 1);  // until the parent closes its end
      ::_exit(0);
    }
    ::close(report_[1]);
    ::close(release_[0]);
    if (::read(report_[0], &result_, sizeof result_) != static_cast<ssize_t>(sizeof result_)) result_ = -1;
  }
  NobodyLocker(const NobodyLocker&) = delete;
  NobodyLocker& operator=(const NobodyLocker&) = delete;
  ~NobodyLocker() {
    ::close(release_[1]);
    ::close(report_[0]);
    wait_exit(pid_);
  }
  int result() const { return result_; }

 private:
  int report_[2] = {-1, -1};
  int release_[2] = {-1, -1};
  pid_t pid_ = -1;
  int result_ = -1;
};

mode_t mode_of(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

TEST(LockFileTest, AnotherUserCannotLockTheDaemonOut) {
  MEMPROXY_REQUIRE(missing_nobody_with_root());
  TempDir dir;
  std::string config = dir / "memproxy.conf", table = dir / "run/table", lock = table + ".lock";
  write_file(config, "alpha\n");
  RunResult first = run({MEMPROXYD_BIN, "--once", "-c", config, "-t", table});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(mode_of(lock), 0600u);

  NobodyLocker attacker(lock);
  EXPECT_EQ(attacker.result(), EACCES) << "nobody could open the lock file: " << std::strerror(attacker.result());
  RunResult again = run({MEMPROXYD_BIN, "--once", "-c", config, "-t", table});
  EXPECT_EQ(again.exit_code, 0) << again.err;
}

TEST(LockFileTest, ALockFileOthersCouldOpenIsReplacedByAPrivateOne) {
  MEMPROXY_REQUIRE(missing_nobody_with_root());
  TempDir dir;
  std::string config = dir / "memproxy.conf", table = dir / "run/table", lock = table + ".lock";
  write_file(config, "alpha\n");
  fs::create_directory(dir / "run");
  // As an older memproxyd left it: 0644, so that anyone could open it, and
  // an attacker opened it then and holds a lock through that descriptor.
  write_file(lock, "4242\n");
  ASSERT_EQ(::chmod(lock.c_str(), 0644), 0);
  NobodyLocker attacker(lock);
  ASSERT_EQ(attacker.result(), 0) << "the attack itself did not work: " << std::strerror(attacker.result());

  Daemon daemon(dir, {"-c", config, "-t", table, "--watch", "none"});
  ASSERT_TRUE(daemon.ready(table)) << daemon.log();
  EXPECT_EQ(mode_of(lock), 0600u);
  EXPECT_EQ(read_file(lock), std::to_string(daemon.pid()) + "\n");
  EXPECT_EQ(probe(table, {"alpha"}).flags["alpha"], kExclude);
  // And it is the one lock: a second daemon is still refused.
  RunResult second = run({MEMPROXYD_BIN, "--once", "-c", config, "-t", table});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("pid " + std::to_string(daemon.pid())), std::string::npos) << second.err;
  EXPECT_EQ(daemon.stop(), 0);
}

TEST(LockFileTest, ALinkOrAnotherUsersFileIsRefused) {
  MEMPROXY_REQUIRE(missing_nobody_with_root());
  TempDir dir;
  std::string config = dir / "memproxy.conf", table = dir / "run/table", lock = table + ".lock";
  write_file(config, "alpha\n");
  fs::create_directory(dir / "run");
  write_file(dir / "victim", "untouched\n");
  ASSERT_EQ(::symlink((dir / "victim").c_str(), lock.c_str()), 0);
  RunResult linked = run({MEMPROXYD_BIN, "--once", "-c", config, "-t", table});
  EXPECT_EQ(linked.exit_code, 1);
  EXPECT_NE(linked.err.find("symbolic link"), std::string::npos) << linked.err;
  EXPECT_EQ(read_file(dir / "victim"), "untouched\n");

  ASSERT_EQ(::unlink(lock.c_str()), 0);
  write_file(lock, "");
  struct passwd* nobody = ::getpwnam("nobody");
  ASSERT_EQ(::chown(lock.c_str(), nobody->pw_uid, nobody->pw_gid), 0);
  RunResult foreign = run({MEMPROXYD_BIN, "--once", "-c", config, "-t", table});
  EXPECT_EQ(foreign.exit_code, 1);
  EXPECT_NE(foreign.err.find("belongs to uid " + std::to_string(nobody->pw_uid)), std::string::npos) << foreign.err;
}

TEST(StatusAsAnotherUserTest, KnowsTheDaemonIsAliveWithoutItsLock) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_unprivileged_runner());
  memproxy::testing::StagedForOtherUser staged;
  MEMPROXY_REQUIRE(staged.missing());
  const std::string ctl = staged.program(MEMPROXYCTL_BIN);
  TempDir dir;
  std::string config = dir / "memproxy.conf", table = dir / "run/table";
  write_file(config, "alpha\n");
  Daemon daemon(dir, {"-c", config, "-t", table});
  ASSERT_TRUE(daemon.ready(table)) << daemon.log();

  RunResult alive = run(as_nobody({ctl, "status", "--json", "-t", table}));
  ASSERT_EQ(alive.exit_code, 0) << alive.out << alive.err;
  auto doc = nlohmann::json::parse(alive.out);
  EXPECT_TRUE(doc["daemon"]["alive"].get<bool>()) << alive.out;
  EXPECT_EQ(doc["daemon"]["method"], "process_check") << alive.out;
  RunResult text = run(as_nobody({ctl, "status", "-t", table}));
  EXPECT_NE(text.out.find("checked by:  status record pid, checked in /proc/" + std::to_string(daemon.pid())),
            std::string::npos)
      << text.out;

  ASSERT_EQ(daemon.stop(), 0);
  RunResult stopped = run(as_nobody({ctl, "status", "--json", "-t", table}));
  EXPECT_EQ(stopped.exit_code, 1) << stopped.out;
  EXPECT_FALSE(nlohmann::json::parse(stopped.out)["daemon"]["alive"].get<bool>()) << stopped.out;
}

TEST(RedactionTest, ARootOnlyConfigsTextNeverReachesWhatOthersCanRead) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_unprivileged_runner());
  memproxy::testing::StagedForOtherUser staged;
  MEMPROXY_REQUIRE(staged.missing());
  const std::string ctl = staged.program(MEMPROXYCTL_BIN);
  TempDir dir;
  std::string config = dir / "memproxy.conf", table = dir / "run/table";
  const std::string secret = "Hunter2-db-password";
  write_file(config, "alpha\n");
  ASSERT_EQ(::chmod(config.c_str(), 0600), 0);
  Daemon daemon(dir, {"-c", config, "-t", table, "--watch", "none"});
  ASSERT_TRUE(wait_until([&] { return probe(table, {"alpha"}).flags["alpha"] == kExclude; })) << daemon.log();

  // The admin's mistake quotes a secret: a line that is not an entry.
  write_file(config, "alpha\n" + secret + "/reporting\n");
  ASSERT_EQ(::chmod(config.c_str(), 0600), 0);
  daemon.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] {
    auto s = status_of(table);
    return s && s->rejected_count >= 1;
  })) << daemon.log();
  EXPECT_TRUE(daemon.log_contains(secret)) << "the root-only log keeps the details: " << daemon.log();

  const std::string record = read_file(memproxy::status::status_path_for(table));
  EXPECT_EQ(record.find(secret), std::string::npos) << record;
  EXPECT_NE(record.find(config + ":2: error: relative path entry"), std::string::npos) << record;

  RunResult cat = run(as_nobody({"/bin/cat", memproxy::status::status_path_for(table)}));
  EXPECT_EQ(cat.exit_code, 0) << cat.err;
  EXPECT_EQ(cat.out.find(secret), std::string::npos) << cat.out;
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{ctl, "status", "--json", "-t", table},
        std::vector<std::string>{ctl, "status", "-t", table},
        std::vector<std::string>{ctl, "list", "--json", "-t", table},
        std::vector<std::string>{ctl, "doctor", "-t", table, "-c", config}}) {
    RunResult r = run(as_nobody(command));
    EXPECT_EQ(r.out.find(secret), std::string::npos) << command[1] << ": " << r.out;
    EXPECT_EQ(r.err.find(secret), std::string::npos) << command[1] << ": " << r.err;
  }
  EXPECT_EQ(probe(table, {"alpha"}).flags["alpha"], kExclude) << "the last good table stays";

  // The same mistake in a file everyone may read is shown whole.
  ASSERT_EQ(::chmod(config.c_str(), 0644), 0);
  daemon.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] {
    auto s = status_of(table);
    return s && s->rejected_count >= 2;
  })) << daemon.log();
  EXPECT_NE(status_of(table)->last_error.find(secret), std::string::npos);
  EXPECT_EQ(daemon.stop(), 0);
}

}  // namespace
}  // namespace memproxyd_test
