// How a watched process ended: the wait status read from a pidfd the
// reader did not fork, its words, the kernel log's OOM killer record, and
// the exit watch that asks, whoever saw the end first.
#include "heapwatch/intake/process_exit.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <poll.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>

#include "heapwatch/intake/exit_watch.hpp"
#include "heapwatch/intake/process_handle.hpp"
#include "memproxy/unique_fd.hpp"
#include "platform/process_exit_status.hpp"

namespace process_exit_test {
namespace {

using namespace memproxy::heapwatch;
using memproxy::platform::exit_status_of;
using memproxy::platform::ExitQuery;

TEST(ProcessExit, TheEndInWords) {
  EXPECT_EQ(end_words(3 << 8, OomEvidence::none), "exited with status 3");
  EXPECT_EQ(end_words(0, OomEvidence::kernel_log), "exited with status 0");
  EXPECT_EQ(end_words(SIGSEGV, OomEvidence::none), "killed by SIGSEGV");
  EXPECT_EQ(end_words(SIGSEGV | 0x80, OomEvidence::none), "killed by SIGSEGV (core dumped)");
  EXPECT_EQ(end_words(SIGKILL, OomEvidence::none), "killed by SIGKILL");
  EXPECT_EQ(end_words(SIGKILL, OomEvidence::kernel_log), "killed by the OOM killer (SIGKILL)");
  // The cgroup's count may be another of its processes': said as what it is.
  EXPECT_EQ(end_words(SIGKILL, OomEvidence::cgroup_count), "killed by SIGKILL as its memory cgroup's OOM killer struck");
  EXPECT_EQ(end_words(SIGTERM, OomEvidence::kernel_log), "killed by SIGTERM");
  EXPECT_EQ(end_words(SIGTERM, OomEvidence::cgroup_count), "killed by SIGTERM");
}

TEST(ProcessExit, TheKernelLogsOomRecordNamesThePidSinceItsStart) {
  const std::string cgroup =
      "3,420,2090223716,-;Memory cgroup out of memory: Killed process 12250 (grow) total-vm:35372kB, UID:0\n";
  const std::string global = "3,9,5000000,-;Out of memory: Killed process 77 (leaker) total-vm:1kB\n SUBSYSTEM=x\n";
  EXPECT_TRUE(record_says_oom_killed(cgroup, 12250, 2'000'000'000));
  EXPECT_TRUE(record_says_oom_killed(global, 77, 0));
  // Another pid, one whose digits end or begin the same, or an earlier
  // holder of the pid (the record is older than the process).
  EXPECT_FALSE(record_says_oom_killed(cgroup, 1225, 0));
  EXPECT_FALSE(record_says_oom_killed(cgroup, 2250, 0));
  EXPECT_FALSE(record_says_oom_killed(cgroup, 12250, 2'090'223'717));
  // Not the OOM killer, a line after the message, or no record at all.
  EXPECT_FALSE(record_says_oom_killed("6,1,5,-;oom-kill:constraint=CONSTRAINT_MEMCG,task=grow,pid=12250,uid=0\n", 12250, 0));
  EXPECT_FALSE(record_says_oom_killed("6,1,5,-;started\n Killed process 12250 (x)\n", 12250, 0));
  EXPECT_FALSE(record_says_oom_killed("Killed process 12250 (grow)", 12250, 0));
  EXPECT_FALSE(record_says_oom_killed("6,1,x,-;Killed process 12250 (grow)", 12250, 0));
}

// A process the reader did not fork: its parent reaps it, and the reader's
// pidfd then tells how it ended; before, that it is not reaped yet.
TEST(ProcessExit, APidfdTellsTheStatusOnceTheParentReaped) {
  int pid_channel[2];
  int reap[2];
  ASSERT_EQ(::pipe(pid_channel), 0);
  ASSERT_EQ(::pipe(reap), 0);
  const pid_t parent = ::fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    const pid_t child = ::fork();
    if (child == 0) ::_exit(7);
    (void)!::write(pid_channel[1], &child, sizeof child);
    char go;
    (void)!::read(reap[0], &go, 1);  // ended, not reaped, until the reader has asked
    int status = 0;
    ::waitpid(child, &status, 0);
    ::_exit(0);
  }
  ::close(pid_channel[1]);
  ::close(reap[0]);
  pid_t child = 0;
  ASSERT_EQ(::read(pid_channel[0], &child, sizeof child), static_cast<ssize_t>(sizeof child));
  ::close(pid_channel[0]);
  // A zombie still has its pid: the pidfd can be had until it is reaped.
  memproxy::UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, child, 0)));
  const int open_errno = errno;
  int status = -1;
  const ExitQuery before = pidfd ? exit_status_of(pidfd.get(), &status) : ExitQuery::unsupported;
  (void)!::write(reap[1], "x", 1);
  ::close(reap[1]);
  int parent_status = 0;
  ASSERT_EQ(::waitpid(parent, &parent_status, 0), parent);
  ASSERT_TRUE(pidfd) << std::strerror(open_errno);
  if (before == ExitQuery::unsupported) {
    GTEST_SKIP() << "this kernel does not tell how a process ended through its pidfd (PIDFD_GET_INFO, Linux 6.13)";
  }
  EXPECT_EQ(before, ExitQuery::not_reaped);
  const ExitQuery reaped = exit_status_of(pidfd.get(), &status);
  if (reaped == ExitQuery::not_reaped) {
    GTEST_SKIP() << "this kernel does not keep the status of a reaped process (PIDFD_INFO_EXIT, Linux 6.15)";
  }
  ASSERT_EQ(reaped, ExitQuery::known);
  EXPECT_EQ(end_words(status, OomEvidence::none), "exited with status 7");
}

// A child of this test that exits with `code` once told to (tell()), and
// an ExitWatch over it recording what it says.
class WatchedChild {
 public:
  explicit WatchedChild(int code) {
    if (::pipe(go_) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(go_[1]);
      char c;
      (void)!::read(go_[0], &c, 1);
      ::_exit(code);
    }
    ::close(go_[0]);
    memproxy::UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
    if (!pidfd) return;
    handle_ = std::make_shared<ProcessHandle>(std::move(pidfd), ProcessId{pid_, 1}, ::getuid(), ::getgid());
    watch_.watch(*handle_);
  }
  ~WatchedChild() {
    if (go_[1] >= 0) ::close(go_[1]);
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return handle_ != nullptr; }
  // Ends it, and waits until it has ended (its pidfd readable), unreaped.
  bool end() {
    ::close(go_[1]);
    go_[1] = -1;
    pollfd readable{handle_->pidfd(), POLLIN, 0};
    return ::poll(&readable, 1, 10'000) == 1;
  }
  void reap() {
    ::waitpid(pid_, nullptr, 0);
    reaped_ = true;
  }
  // Runs the loop until the end is known or a few seconds have passed.
  void run() {
    for (int i = 0; i < 50 && !how_; ++i) io_.run_for(std::chrono::milliseconds(100));
  }
  ExitWatch& watch() { return watch_; }
  const ProcessId& id() const { return handle_->id(); }
  const std::optional<std::string>& how() const { return how_; }
  int ended_seen() const { return ended_seen_; }

 private:
  boost::asio::io_context io_;
  int ended_seen_ = 0;
  std::optional<std::string> how_;
  ExitWatch watch_{io_, [this](const ProcessId&) { ++ended_seen_; },
                   [this](const ProcessId&, const std::string& words) { how_ = words; }};
  int go_[2] = {-1, -1};
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::shared_ptr<ProcessHandle> handle_;
};

std::string kernel_cannot_tell() {
  WatchedChild probe(0);
  if (!probe.started() || !probe.end()) return "cannot start and end a child";
  probe.reap();
  probe.run();
  return probe.how() ? "" : "this kernel does not tell how a process it did not fork ended (PIDFD_INFO_EXIT, Linux 6.15)";
}

TEST(ExitWatch, SaysThatAndHowAWatchedProcessEnded) {
  if (const std::string why = kernel_cannot_tell(); !why.empty()) GTEST_SKIP() << why;
  WatchedChild child(5);
  ASSERT_TRUE(child.started());
  ASSERT_TRUE(child.end());
  child.reap();
  child.run();
  EXPECT_EQ(child.ended_seen(), 1);
  EXPECT_EQ(child.how(), std::optional<std::string>("exited with status 5"));
  EXPECT_EQ(child.watch().asking(), 0u);
}

// The poller may see a process gone, and the registry drop it, in the loop
// turn before the wait's handler runs: how it ended is still asked, once.
TEST(ExitWatch, AProcessForgottenAfterItEndedIsStillAskedHowItEnded) {
  if (const std::string why = kernel_cannot_tell(); !why.empty()) GTEST_SKIP() << why;
  WatchedChild child(6);
  ASSERT_TRUE(child.started());
  ASSERT_TRUE(child.end());
  child.watch().forget(child.id());
  EXPECT_EQ(child.watch().watching(), 0u);
  child.reap();
  child.run();
  EXPECT_EQ(child.how(), std::optional<std::string>("exited with status 6"));
  EXPECT_EQ(child.ended_seen(), 0) << "the registry had already ended it";
  EXPECT_EQ(child.watch().asking(), 0u);
}

// One forgotten while it runs (no longer to be shown) is let go entirely.
TEST(ExitWatch, AProcessForgottenWhileItRunsIsLetGo) {
  WatchedChild child(7);
  ASSERT_TRUE(child.started());
  child.watch().forget(child.id());
  EXPECT_EQ(child.watch().watching(), 0u);
  ASSERT_TRUE(child.end());
  child.reap();
  child.run();
  EXPECT_EQ(child.how(), std::nullopt);
  EXPECT_EQ(child.ended_seen(), 0);
  EXPECT_EQ(child.watch().asking(), 0u);
}

}  // namespace
}  // namespace process_exit_test
