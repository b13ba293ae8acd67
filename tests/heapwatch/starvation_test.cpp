// No user starves another's monitoring at the daemon's sockets: nobody,
// holding connections up to and beyond every limit and opening new ones
// as fast as the daemon closes them, keeps neither root nor another user
// from asking the query socket, nor any process of another user from being
// watched; its idle connections are closed, its refusals logged with a
// count. A process whose own hand-over was refused is found by the rescan.
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "capability.hpp"
#include "e2e_support.hpp"
#include "top_entries.hpp"

namespace {

using namespace heapwatch_e2e;
using nlohmann::json;

constexpr uid_t kNobody = 65534;
// A second unprivileged user, with no passwd entry: the kernel's uid is all
// the daemon goes by.
constexpr uid_t kOtherUser = 65533;
// The daemon's default per-user limit of hand-overs waiting for their hello
// (kPendingHandOverLimits, user_limits.hpp).
constexpr int kPendingPerUser = 16;

std::string beside_table(const std::string& table, const char* name) {
  return table.substr(0, table.rfind('/') + 1) + name;
}

// What the attacker saw, shared with the test.
struct Counters {
  std::atomic<uint64_t> opened{0};
  std::atomic<uint64_t> told_no{0};        // sent an error line, then closed: refused
  std::atomic<uint64_t> closed_silent{0};  // closed without a word: timed out, or refused at accept
};

// A child, dropped to `uid`, that keeps `count` connections to `path` open,
// sending nothing: those the daemon closes are opened again after `pause`
// (0: at once).
class Attacker {
 public:
  Attacker(uid_t uid, const std::string& path, int type, int count, std::chrono::milliseconds pause) {
    void* shared = ::mmap(nullptr, sizeof(Counters), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) return;
    counters_ = new (shared) Counters;
    pid_ = ::fork();
    if (pid_ == 0) run(uid, path, type, count, static_cast<useconds_t>(pause.count() * 1000));
  }
  ~Attacker() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (counters_ != nullptr) ::munmap(counters_, sizeof(Counters));
  }
  bool started() const { return pid_ > 0; }
  const Counters& seen() const { return *counters_; }

 private:
  [[noreturn]] void run(uid_t uid, const std::string& path, int type, int count, useconds_t pause) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0) ::_exit(2);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    constexpr int kMax = 512;
    if (count > kMax) ::_exit(2);
    int fds[kMax];
    bool spoke[kMax];
    for (int i = 0; i < count; ++i) fds[i] = -1;
    for (;;) {
      bool missing = false;
      for (int i = 0; i < count; ++i) {
        if (fds[i] >= 0) continue;
        fds[i] = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
        if (fds[i] >= 0 && ::connect(fds[i], reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
          ::close(fds[i]);
          fds[i] = -1;
        }
        spoke[i] = false;
        if (fds[i] < 0) {
          missing = true;
        } else {
          counters_->opened++;
        }
      }
      pollfd polled[kMax];
      for (int i = 0; i < count; ++i) polled[i] = {fds[i], POLLIN, 0};
      if (::poll(polled, static_cast<nfds_t>(count), missing ? 10 : -1) < 0) continue;
      bool closed = false;
      for (int i = 0; i < count; ++i) {
        if (fds[i] < 0 || polled[i].revents == 0) continue;
        char buffer[1024];
        ssize_t n = ::recv(fds[i], buffer, sizeof buffer, MSG_DONTWAIT);
        if (n > 0) {
          spoke[i] = true;
          continue;
        }
        if (n < 0 && errno == EAGAIN) continue;
        (spoke[i] ? counters_->told_no : counters_->closed_silent)++;
        closed = true;
        ::close(fds[i]);
        fds[i] = -1;
      }
      if (closed && pause != 0) ::usleep(pause);
    }
  }

  pid_t pid_ = -1;
  Counters* counters_ = nullptr;
};

std::vector<std::string> as_user(uid_t uid, std::vector<std::string> argv) {
  std::vector<std::string> full{"/usr/bin/setpriv", "--reuid=" + std::to_string(uid), "--regid=" + std::to_string(uid),
                                "--clear-groups", "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  return full;
}

// How a child of the test stands, for a failure's message: "runs", or how
// it ended (the child is left to be reaped by its owner).
std::string fate_of(pid_t child) {
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return std::strerror(errno);
  if (info.si_pid == 0) return "runs";
  if (info.si_code == CLD_EXITED) return "exited with " + std::to_string(info.si_status);
  return "was killed by signal " + std::to_string(info.si_status) + " (" + ::strsignal(info.si_status) + ")";
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class StarvationTest : public ::testing::Test {
 protected:
  memproxy::testing::TempDir dir_{0755};
};

TEST_F(StarvationTest, OneUsersQueryConnectionsLockNoOneOutAndIdleOnesAreClosed) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_unprivileged_runner());
  memproxy::testing::StagedForOtherUser staged;
  MEMPROXY_REQUIRE(staged.missing());
  Daemon daemon(dir_, {"--no-history"});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  auto grower = start_grower(daemon.table());
  ASSERT_TRUE(wait_until([&] { return watches(daemon.table(), grower->pid()); })) << daemon.log();

  // More than the daemon serves at once in all (64).
  Attacker nobody(kNobody, beside_table(daemon.table(), "query.sock"), SOCK_STREAM, 70, 50ms);
  ASSERT_TRUE(nobody.started());
  ASSERT_TRUE(wait_until([&] { return nobody.seen().told_no > 0; })) << "nobody is refused beyond its limit";

  Outcome root_top = memproxyctl(daemon.table(), {"top", "--json"});
  ASSERT_TRUE(root_top.ok()) << root_top.describe();
  EXPECT_FALSE(json::parse(root_top.out)["processes"].empty()) << root_top.out;
  Outcome other_top = memproxy::testing::run(
      as_user(kOtherUser, {staged.program(MEMPROXYCTL_BIN), "-t", daemon.table(), "top", "--json"}),
      {"COLUMNS=100", "LINES=30"});
  ASSERT_TRUE(other_top.ok()) << other_top.describe();
  EXPECT_TRUE(json::parse(other_top.out)["processes"].empty()) << "root's grower is not theirs: " << other_top.out;

  // The connections nobody got and never asked on are closed, without a
  // word, at the daemon's timeout for a first request.
  EXPECT_TRUE(wait_until([&] { return nobody.seen().closed_silent > 0; })) << daemon.log();
  EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

TEST_F(StarvationTest, OneUsersSilentHandOversKeepNoOtherProcessFromBeingWatched) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_root("the attacker drops to nobody"));
  // No rescan during the test: every watch comes from the process's own
  // hand-over.
  Daemon daemon(dir_, {"--no-history", "--rescan-interval", "3600000"});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  const auto attack_started = std::chrono::steady_clock::now();
  // More than the daemon takes waiting in all (256).
  Attacker nobody(kNobody, beside_table(daemon.table(), "heap.sock"), SOCK_SEQPACKET, 300, 100ms);
  ASSERT_TRUE(nobody.started());
  ASSERT_TRUE(wait_until([&] { return nobody.seen().closed_silent > 300; })) << daemon.log();

  std::vector<std::unique_ptr<Process>> programs;
  for (int i = 0; i < 20; ++i) {
    programs.push_back(std::make_unique<Process>(
        std::vector<std::string>{MP_GROWER, "4096", "100"},
        std::vector<std::string>{std::string("LD_PRELOAD=") + MEMPROXY_LIB, "MEMPROXY_TABLE=" + daemon.table()}));
  }
  std::vector<pid_t> unwatched;
  wait_until([&] {
    std::vector<pid_t> pids = watched_pids(daemon.table());
    unwatched.clear();
    for (const auto& p : programs) {
      if (std::count(pids.begin(), pids.end(), p->pid()) == 0) unwatched.push_back(p->pid());
    }
    return unwatched.empty();
  });
  for (pid_t pid : unwatched) ADD_FAILURE() << "root's program " << pid << " is not shown; it " << fate_of(pid);
  if (!unwatched.empty()) std::cerr << daemon.log();

  // Thousands refused, a few lines said so: per period of 10 s, one line at
  // its first refusal and one with the count at its end.
  ASSERT_TRUE(wait_until([&] { return nobody.seen().closed_silent > 3000; })) << daemon.log();
  const std::string log = daemon.log();
  const auto periods =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - attack_started).count() / 10 + 2;
  const size_t lines = count_of(log, "heap socket: refused");
  EXPECT_GE(lines, 1u) << log;
  EXPECT_LE(lines, static_cast<size_t>(2 * periods)) << log;
  EXPECT_EQ(daemon.stop(), 0) << log;
}

TEST_F(StarvationTest, AProcessWhoseHandOverWasRefusedIsWatchedAfterTheRescan) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_unprivileged_runner());
  memproxy::testing::StagedForOtherUser staged;
  MEMPROXY_REQUIRE(staged.missing());
  const std::string grower = staged.program(MP_GROWER);
  const std::string library = staged.library(MEMPROXY_LIB);
  Daemon daemon(dir_, {"--no-history", "--rescan-interval", "500"});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  // nobody's own hand-overs find its waiting slots taken, all of them, all
  // the time: each one the daemon times out is taken again at once.
  Attacker nobody(kNobody, beside_table(daemon.table(), "heap.sock"), SOCK_SEQPACKET, kPendingPerUser, 0ms);
  ASSERT_TRUE(nobody.started());
  ASSERT_TRUE(wait_until([&] { return nobody.seen().closed_silent >= kPendingPerUser; })) << daemon.log();

  // A slot freed by a timeout is open for the moment the attacker takes to
  // take it again: a program whose hand-over slipped in proves nothing, and
  // the next one is started.
  bool found_by_rescan = false;
  std::vector<std::unique_ptr<Process>> programs;
  for (int attempt = 0; attempt < 3 && !found_by_rescan; ++attempt) {
    programs.push_back(std::make_unique<Process>(
        memproxy::testing::as_nobody({grower, "4096", "100"}),
        std::vector<std::string>{"LD_PRELOAD=" + library, "MEMPROXY_TABLE=" + daemon.table()}));
    const pid_t pid = programs.back()->pid();
    ASSERT_TRUE(wait_until([&] { return watches(daemon.table(), pid); })) << daemon.log();
    found_by_rescan = daemon.log().find("watching the heap of pid " + std::to_string(pid) + " (uid 65534), found running") !=
                      std::string::npos;
  }
  EXPECT_TRUE(found_by_rescan) << daemon.log();
  EXPECT_NE(daemon.log().find("rescan found 1 monitored process not handed over"), std::string::npos) << daemon.log();
  EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

}  // namespace
