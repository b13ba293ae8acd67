// The attacks an unprivileged user of the host can make on a library loaded
// into every process, root's included, each performed and shown to fail
// safely: the process runs, on the system allocator, and runs no code of
// the attacker's.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness.hpp"
#include "staged.hpp"

namespace mptest {
namespace {

namespace fs = std::filesystem;
using memproxy::testing::missing_program;
using memproxy::testing::missing_unprivileged_runner;

struct Nobody {
  uid_t uid = 65534;
  gid_t gid = 65534;
  Nobody() {
    if (const passwd* p = getpwnam("nobody")) {
      uid = p->pw_uid;
      gid = p->pw_gid;
    }
  }
};

using memproxy::testing::as_nobody;

class TrustAttack : public testing::Test {
 protected:
  void SetUp() override {
    MEMPROXY_REQUIRE(missing_unprivileged_runner());
    MEMPROXY_REQUIRE(staged.missing());
  }

  // The attacker's corner: a directory nobody owns, with a table that does
  // not exclude the probe and names an "allocator" of the attacker's.
  void make_attacker_files() {
    ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
    fs::create_directory(user_dir);
    fs::copy_file(MP_MARKER_LIB, evil_lib);
    std::string made = make_table(dir, "some-other-program\n", evil_lib);
    fs::rename(made, user_table);
    for (const std::string& path : {user_dir, evil_lib, user_table}) {
      ASSERT_EQ(::chown(path.c_str(), nobody.uid, nobody.gid), 0) << path;
    }
  }
  bool evil_loaded() const { return fs::exists(evil_lib + ".loaded"); }

  // A setuid-root copy of the wrapper, as an administrator installs su.
  std::string setuid_wrapper() {
    std::string copy = dir.file("mp-setuid-exec");
    fs::copy_file(MP_SETUID_EXEC, copy);
    EXPECT_EQ(::chmod(copy.c_str(), 04755), 0);
    return copy;
  }

  TempDir dir;
  // The probes and the library nobody runs: the build tree may be out of its reach.
  memproxy::testing::StagedForOtherUser staged;
  Nobody nobody;
  std::string user_dir = dir.file("user");
  std::string evil_lib = dir.file("user/libevil.so");
  std::string user_table = dir.file("user/table");
};

// su without '-' / sudo -E: a user's MEMPROXY_TABLE reaching a root child.
TEST_F(TrustAttack, ASetuidWrapperDoesNotPassAUsersTableToItsRootChild) {
  make_attacker_files();
  std::string wrapper = setuid_wrapper();
  Result r = run(as_nobody({wrapper, MP_PROBE_LINKED, "env"}),
                 {"PATH=/usr/bin:/bin", "MEMPROXY_TABLE=" + user_table, "MEMPROXY_DEBUG=1"});
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  auto kv = parse(r.out);
  EXPECT_EQ(kv["uid"], "0 euid=0") << "the child must really be root: " << r.out;
  EXPECT_EQ(kv["memproxy_variables"], "0") << "the setuid wrapper passed MEMPROXY_* on: " << r.out;
  EXPECT_EQ(kv["backend"], "system") << r.describe();
  EXPECT_FALSE(evil_loaded()) << "root ran the user's library";
}

// sudo -E keeps what the caller set: the root child has MEMPROXY_TABLE after
// all, and must still refuse a table that root does not own.
TEST_F(TrustAttack, ARootProcessRefusesAnEnvironmentTableRootDoesNotOwn) {
  make_attacker_files();
  std::string wrapper = setuid_wrapper();
  Result r = run(as_nobody({wrapper, "--setenv", "MEMPROXY_TABLE=" + user_table, "--setenv", "MEMPROXY_DEBUG=1",
                            MP_PROBE_LINKED, "env"}),
                 {"PATH=/usr/bin:/bin"});
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  auto kv = parse(r.out);
  EXPECT_EQ(kv["memproxy_variables"], "2") << r.out;
  EXPECT_EQ(kv["backend"], "system") << r.describe();
  EXPECT_NE(r.err.find("table is not trusted"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(user_dir + " is owned by another user, not root"), std::string::npos) << r.err;
  EXPECT_FALSE(evil_loaded()) << "root ran the user's library";
}

// A table root trusts, naming an allocator by a path a user can write.
TEST_F(TrustAttack, NoAllocatorIsLoadedFromAPathAUserCanWrite) {
  make_attacker_files();
  std::string table = make_table(dir, "some-other-program\n", evil_lib);  // root's, 0644
  staged.library(MP_LIB64);
  const std::string probe = staged.program(MP_PROBE_LINKED);
  for (bool as_root : {true, false}) {
    std::vector<std::string> argv{probe, "route"};
    Result r = run(as_root ? argv : as_nobody(argv), {"PATH=/usr/bin:/bin", "MEMPROXY_TABLE=" + table,
                                                      "MEMPROXY_DEBUG=1", staged.library_path_variable()});
    ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
    EXPECT_EQ(parse(r.out)["backend"], "system") << r.describe();
    EXPECT_NE(r.err.find("the path is not trusted"), std::string::npos) << r.err;
    EXPECT_FALSE(evil_loaded()) << (as_root ? "root" : "nobody") << " ran a library from a user-writable path";
  }
}

// What a user can put where a table is expected, for their own processes and
// for root's: nothing hangs, crashes or is believed.
TEST_F(TrustAttack, HostileFilesInTheTablesPlaceNeverHangOrCrash) {
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  fs::create_directory(user_dir);
  ASSERT_EQ(::chown(user_dir.c_str(), nobody.uid, nobody.gid), 0);
  std::string valid = make_table(dir, "some-other-program\n");
  std::string fifo = user_dir + "/fifo", sock = user_dir + "/socket", link = user_dir + "/link";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock.c_str());
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::symlink(valid.c_str(), link.c_str()), 0);
  const Arch a = arches()[0];
  MEMPROXY_REQUIRE(a.missing(backend("jemalloc")));
  const std::string probe = staged.program(a.probe), lib = staged.library(a.lib);
  for (const std::string& hostile : {fifo, sock, link, std::string("/dev/zero"), std::string("/dev/tty"), user_dir}) {
    for (bool as_root : {true, false}) {
      std::vector<std::string> argv{probe, "route"};
      Result r = run(as_root ? argv : as_nobody(argv), env_with(lib + ":" + a.jemalloc(), hostile), 20);
      ASSERT_FALSE(r.timed_out) << hostile << " hung the process";
      ASSERT_TRUE(r.exited && r.code == 0) << hostile << ": " << r.describe();
      EXPECT_EQ(parse(r.out)["backend"], "system") << hostile << ": " << r.describe();
      EXPECT_NE(r.err.find("table is not trusted"), std::string::npos) << hostile << ": " << r.err;
    }
  }
  ::close(s);
}

// `cp` over a table truncates it and writes it again in place: a process
// starting meanwhile reads a short or changing file. Mapped, the short file
// raised SIGBUS; read block by block it is a short read, a bad checksum or a
// different answer, and the process runs.
TEST(TableRewrittenInPlace, ProcessesStartingDuringTheRewriteRun) {
  TempDir dir;
  const Arch a = arches()[0];
  MEMPROXY_REQUIRE(a.missing(backend("jemalloc")));
  std::string config;
  for (int i = 0; i < 50000; ++i) config += "program-" + std::to_string(i) + "\n";
  std::string big = make_table(dir, config + "mp-probe\n");
  std::string small = make_table(dir, "mp-probe\n");
  std::string table = dir.file("live");
  fs::copy_file(big, table);
  pid_t writer = fork();
  if (writer == 0) {
    for (;;) {
      // In place, as cp does: same inode, truncated, then written.
      for (const std::string& source : {small, big}) {
        std::ifstream in(source, std::ios::binary);
        std::ofstream out(table, std::ios::binary | std::ios::trunc);
        out << in.rdbuf();
      }
    }
  }
  int signals = 0, runs = 0;
  for (; runs < 300; ++runs) {
    Result r = run({a.probe, "route"}, env_with(a.lib + ":" + a.jemalloc(), table, false), 20);
    if (!r.exited) {
      ++signals;
      ADD_FAILURE() << "run " << runs << ": " << r.describe();
      if (signals > 3) break;
    }
  }
  ::kill(writer, SIGKILL);
  ::waitpid(writer, nullptr, 0);
  EXPECT_EQ(signals, 0) << "of " << runs << " runs";
}

}  // namespace
}  // namespace mptest

namespace mptest {
namespace {

// The standard table, /run/memproxy/table, in a private mount namespace
// (a tmpfs over /run, so the host's is untouched): what root or a broken
// deployment may leave there, and what libmemproxy and `memproxyctl doctor`
// each make of it. They must agree: doctor reports the table as fine exactly
// when the library believes it.
struct StandardTableCase {
  const char* name;
  const char* setup;  // shell commands run in the namespace, $VALID is a valid table
  bool believed;
};

class StandardTable : public testing::TestWithParam<StandardTableCase> {
 protected:
  void SetUp() override {
    MEMPROXY_REQUIRE(memproxy::testing::missing_root("make a private mount namespace"));
    MEMPROXY_REQUIRE(memproxy::testing::missing_program("/usr/bin/unshare", "util-linux"));
    MEMPROXY_REQUIRE(arches()[0].missing(backend("jemalloc")));
  }
};

TEST_P(StandardTable, LibraryAndDoctorAgree) {
  const StandardTableCase& c = GetParam();
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  std::string valid = make_table(dir, "some-other-program\n");
  const Arch a = arches()[0];
  std::string script =
      "set -e; mount -t tmpfs -o mode=0755 memproxy-test /run; mkdir -m 0755 /run/memproxy; VALID=" + valid + "; " +
      c.setup + "; cd /; " + MP_PROBE64 + " route; " + MEMPROXYCTL + " --json doctor -t /run/memproxy/table -c " +
      dir.file("none.conf") + " --preload-file " + dir.file("none") + " || true";
  Result r = run({"/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script},
                 env_with(a.lib + ":" + a.jemalloc(), "", true), 30);
  ASSERT_FALSE(r.timed_out) << c.name << " hung";
  ASSERT_TRUE(r.exited && r.code == 0) << c.name << ": " << r.describe();
  auto kv = parse(r.out);
  EXPECT_EQ(kv["backend"].rfind("custom:", 0) == 0, c.believed) << c.name << ": " << r.err;
  EXPECT_EQ(r.err.find("table is not trusted") != std::string::npos, !c.believed) << c.name << ": " << r.err;
  // doctor's table finding: "ok" exactly when the library believed the table.
  size_t at = r.out.find("\"check\": \"table\"");
  ASSERT_NE(at, std::string::npos) << r.out;
  size_t severity = r.out.find("\"severity\": ", at);
  ASSERT_NE(severity, std::string::npos) << r.out;
  EXPECT_EQ(r.out.compare(severity + 13, 2, "ok") == 0, c.believed) << c.name << ": " << r.out.substr(at, 600);
}

INSTANTIATE_TEST_SUITE_P(
    Every, StandardTable,
    testing::Values(StandardTableCase{"valid", "cp $VALID /run/memproxy/table; chmod 0644 /run/memproxy/table", true},
                    StandardTableCase{"fifo", "mkfifo -m 0644 /run/memproxy/table", false},
                    StandardTableCase{"symlink", "ln -s $VALID /run/memproxy/table", false},
                    StandardTableCase{"device", "mknod -m 0644 /run/memproxy/table c 1 5", false},
                    StandardTableCase{"owned_by_nobody", "cp $VALID /run/memproxy/table; chown nobody /run/memproxy/table",
                                      false},
                    StandardTableCase{"group_writable", "cp $VALID /run/memproxy/table; chmod 0664 /run/memproxy/table",
                                      false},
                    StandardTableCase{"directory_world_writable",
                                      "cp $VALID /run/memproxy/table; chmod 0777 /run/memproxy", false},
                    StandardTableCase{"directory_owned_by_nobody",
                                      "cp $VALID /run/memproxy/table; chown nobody /run/memproxy", false},
                    StandardTableCase{"run_world_writable_sticky",
                                      "cp $VALID /run/memproxy/table; chmod 1777 /run", true}),
    [](const testing::TestParamInfo<StandardTableCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace mptest
