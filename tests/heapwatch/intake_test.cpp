// The heap socket under attack, and whose accounts a daemon takes: a real
// daemon watching a real monitored program is sent, over its heap socket,
// every kind of bad hand-over (silence, garbage, a hello without a
// descriptor, a descriptor that is no account, an account that can still
// shrink, one that lies about its size, another format); it keeps
// sampling the program and answering, and shows none of the bad ones. A
// daemon started while monitored processes run takes the accounts meant
// for its own socket and leaves another daemon's alone.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "capability.hpp"
#include "e2e_support.hpp"
#include "forged_header.hpp"
#include "top_entries.hpp"
#include "memproxy/heap_account.h"

namespace {

using namespace heapwatch_e2e;
using nlohmann::json;

std::string heap_socket_of(const std::string& table) {
  return table.substr(0, table.rfind('/') + 1) + "heap.sock";
}

// A connection to the heap socket, as a monitored process makes it.
int connect_heap(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_hello(int socket, const void* hello, size_t size, int attached) {
  iovec iov{const_cast<void*>(hello), size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (attached >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &attached, sizeof(int));
  }
  return ::sendmsg(socket, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(size);
}

memproxy::heap::Hello good_hello() {
  memproxy::heap::Hello h{};
  std::memcpy(h.magic, "MPXHELLO", 8);
  h.format_version = memproxy::heap::kFormatVersion;
  return h;
}

// A memfd of `size` bytes starting with a plausible header that claims
// `claimed_size`; sealed against resizing when `sealed`.
int forged_account(uint64_t size, uint64_t claimed_size, bool sealed) {
  int fd = ::memfd_create("memproxy-heap-forged", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(size)) != 0) return -1;
  // The pid is a lie: the daemon believes the kernel.
  memproxy::heap::Header h = heapwatch_e2e::well_formed_header(claimed_size, 1);
  h.live_batched = uint64_t{1} << 62;  // and about its own heap, which it may
  if (::pwrite(fd, &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h)) return -1;
  if (sealed && ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0) return -1;
  return fd;
}

class IntakeTest : public ::testing::Test {
 protected:
  memproxy::testing::TempDir dir_{0755};
};

TEST_F(IntakeTest, BadHandOversAreRefusedAndTheWatchGoesOn) {
  Daemon daemon(dir_, {"--no-history"});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  auto grower = start_grower(daemon.table());
  ASSERT_TRUE(wait_until([&] { return live_bytes_of(daemon.table(), grower->pid()) > 0; })) << daemon.log();
  const std::string socket = heap_socket_of(daemon.table());
  const uint64_t page = 4096, region = memproxy::heap::region_size_for(memproxy::heap::kSlotCount);

  std::vector<int> held;  // kept open: a silent client holds its connection
  auto attack = [&](const char* what, auto&& send) {
    int s = connect_heap(socket);
    ASSERT_GE(s, 0) << what << ": " << std::strerror(errno);
    send(s);
    held.push_back(s);
  };
  attack("silence", [](int) {});
  attack("garbage", [](int s) { ASSERT_TRUE(send_hello(s, "not a hello at all", 18, -1)); });
  memproxy::heap::Hello hello = good_hello();
  attack("no descriptor", [&](int s) { ASSERT_TRUE(send_hello(s, &hello, sizeof hello, -1)); });
  attack("a pipe", [&](int s) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    ASSERT_TRUE(send_hello(s, &hello, sizeof hello, p[0]));
    ::close(p[0]);
    held.push_back(p[1]);  // a reader of it would wait forever
  });
  attack("/dev/zero", [&](int s) {
    int z = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
    ASSERT_TRUE(send_hello(s, &hello, sizeof hello, z));
    ::close(z);
  });
  attack("unsealed", [&](int s) {
    int fd = forged_account(region, region, false);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_hello(s, &hello, sizeof hello, fd));
    ::close(fd);
  });
  attack("claims more than it is", [&](int s) {
    int fd = forged_account(page, region, true);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_hello(s, &hello, sizeof hello, fd));
    ::close(fd);
  });
  memproxy::heap::Hello old = good_hello();
  old.format_version = 999;
  attack("another format", [&](int s) {
    int fd = forged_account(region, region, true);
    ASSERT_TRUE(send_hello(s, &old, sizeof old, fd));
    ::close(fd);
  });

  // Sampling goes on: the grower's live bytes keep rising, the daemon answers.
  const uint64_t before = live_bytes_of(daemon.table(), grower->pid());
  ASSERT_TRUE(wait_until([&] { return live_bytes_of(daemon.table(), grower->pid()) > before + (256u << 10); }))
      << daemon.log();
  std::vector<pid_t> pids = watched_pids(daemon.table());
  EXPECT_EQ(pids, std::vector<pid_t>{grower->pid()}) << "only the real program is watched";
  // Refusals are logged with a count, by reason, at the end of the period
  // (RefusalLog): each reason shows within one.
  for (const char* refusal : {"not a heap account hello", "no account descriptor attached", "not a memory file",
                               "not sealed against resizing", "size does not match the region"}) {
    EXPECT_TRUE(wait_until([&] { return daemon.log().find(refusal) != std::string::npos; }))
        << refusal << "\n" << daemon.log();
  }
  for (int fd : held) ::close(fd);
  EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

// An unprivileged user's forged account is taken as that user's own
// process (the kernel's pid and uid), never as the pid it claims.
TEST_F(IntakeTest, AForgedAccountIsBelievedOnlyAboutItsSender) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_root("the sender drops to nobody"));
  Daemon daemon(dir_, {"--no-history"});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  const std::string socket = heap_socket_of(daemon.table());
  // A child that drops to nobody and hands over a sealed, well-formed
  // account claiming pid 1, then waits.
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    // setuid() left it not dumpable, and the heap watch shows no process
    // its owner could not ptrace; a user's own program is dumpable.
    if (::prctl(PR_SET_DUMPABLE, 1) != 0) ::_exit(2);
    const uint64_t region = memproxy::heap::region_size_for(memproxy::heap::kSlotCount);
    int fd = forged_account(region, region, true);
    int s = connect_heap(socket);
    memproxy::heap::Hello hello = good_hello();
    if (fd < 0 || s < 0 || !send_hello(s, &hello, sizeof hello, fd)) ::_exit(3);
    (void)!::write(ready[1], "x", 1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } reaper{child};
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  ASSERT_TRUE(wait_until([&] { return watches(daemon.table(), child); })) << daemon.log();
  Outcome top = memproxyctl(daemon.table(), {"top", "--json"});
  bool seen = false;
  const json answer = json::parse(top.out);
  for (const json& v : answer["processes"]) {
    EXPECT_NE(v["process"]["pid"], 1) << v.dump();
    if (v["process"]["pid"] == child) {
      seen = true;
      EXPECT_EQ(v["process"]["uid"], 65534) << v.dump();
    }
  }
  EXPECT_TRUE(seen);
  ::kill(child, SIGKILL);
  EXPECT_TRUE(wait_until([&] { return !watches(daemon.table(), child); })) << "its end is noticed";
}

TEST_F(IntakeTest, AStartingDaemonTakesItsOwnRunningProcessesAndLeavesAnothersAlone) {
  memproxy::testing::TempDir other{0755};
  std::optional<Daemon> mine;
  mine.emplace(dir_, std::vector<std::string>{"--no-history"});
  ASSERT_TRUE(mine->ready()) << mine->log();
  auto grower = start_grower(mine->table());
  ASSERT_TRUE(wait_until([&] { return watches(mine->table(), grower->pid()); }))
      << mine->log();

  // Another daemon (another table, another heap socket) starting now finds
  // the grower's account among its mappings and leaves it alone.
  Daemon theirs(other, {"--no-history"});
  ASSERT_TRUE(theirs.ready()) << theirs.log();
  EXPECT_NE(theirs.log().find("0 monitored processes already running"), std::string::npos) << theirs.log();
  // What it shows is what its ticks sampled: once a program of its own is
  // sampled, every process it took at its start has been sampled too.
  auto own = start_grower(theirs.table());
  ASSERT_TRUE(wait_until([&] { return live_bytes_of(theirs.table(), own->pid()) > 0; })) << theirs.log();
  EXPECT_FALSE(watches(theirs.table(), grower->pid()));

  // Its own daemon, restarted, takes it back at once.
  EXPECT_EQ(mine->stop(), 0) << mine->log();
  mine.emplace(dir_, std::vector<std::string>{"--no-history"});
  ASSERT_TRUE(mine->ready()) << mine->log();
  EXPECT_NE(mine->log().find("1 monitored process already running"), std::string::npos) << mine->log();
  ASSERT_TRUE(wait_until([&] { return live_bytes_of(mine->table(), grower->pid()) > 0; })) << mine->log();
  EXPECT_FALSE(watches(theirs.table(), grower->pid()));
}

}  // namespace
