// How a watched process ended: the wait status read from a pidfd the
// reader did not fork, its words, and the kernel log's OOM killer record.
#include "heapwatch/intake/process_exit.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

}  // namespace
}  // namespace process_exit_test
