// A watch ends with its process, and a recycled pid shows its owner
// nothing: nobody's monitored program forks a child (by the raw system
// call, so that no fork handler drops what it inherited: the heap socket's
// connection included) and exits; root at once starts a program of its own
// under the very same pid (clone3's set_tid, which the kernel grants root).
// The real daemon ends nobody's watch, and neither `memproxyctl top` nor
// `leaks PID --stack` run by nobody ever shows root's new process: not its
// name, not its mappings, not its functions.
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "capability.hpp"
#include "e2e_support.hpp"
#include "top_entries.hpp"

namespace {

using namespace heapwatch_e2e;
using nlohmann::json;

// Starts `program` (no arguments, no environment: not monitored) as a child
// of this process under exactly `pid`; -1 with `why` when the kernel would
// not give that pid.
pid_t start_with_pid(pid_t pid, const std::string& program, std::string* why) {
  clone_args args{};
  args.exit_signal = SIGCHLD;
  pid_t wanted[1] = {pid};
  args.set_tid = reinterpret_cast<uint64_t>(wanted);
  args.set_tid_size = 1;
  const long child = ::syscall(SYS_clone3, &args, sizeof args);
  if (child == 0) {
    char* const argv[] = {const_cast<char*>(program.c_str()), nullptr};
    char* const env[] = {nullptr};
    // Its output would reach the test's; the program needs none.
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::execve(argv[0], argv, env);
    ::_exit(127);
  }
  if (child < 0) *why = std::string("clone3 with set_tid ") + std::to_string(pid) + ": " + std::strerror(errno);
  return static_cast<pid_t>(child);
}

// What of root's program could reach nobody: its name, its file, its functions.
bool names_roots_program(const std::string& text) {
  return text.find("site_leak") != std::string::npos || text.find("leak_block") != std::string::npos ||
         text.find("fill_cache") != std::string::npos;
}

// Whether `top --json`'s answer lists `pid`.
bool lists(const Outcome& top, pid_t pid) {
  const json answer = json::parse(top.out, nullptr, false);
  if (!answer.is_object() || !answer.contains("processes")) return false;
  for (const json& entry : answer["processes"]) {
    if (entry["process"]["pid"] == pid) return true;
  }
  return false;
}

class PidReuseTest : public ::testing::Test {
 protected:
  memproxy::testing::TempDir dir_{0755};
};

TEST_F(PidReuseTest, ARecycledPidShowsTheOldOwnerNothingOfTheNewProcess) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_unprivileged_runner());
  memproxy::testing::StagedForOtherUser staged;
  MEMPROXY_REQUIRE(staged.missing());
  Daemon daemon(dir_, {"--no-history", "--symbolizer", staged.program(MEMPROXY_SYMBOLIZE_WORKER_BIN)},
                {"mp-descriptors"});
  ASSERT_TRUE(daemon.ready()) << daemon.log();

  Process parent(memproxy::testing::as_nobody({staged.program(MP_DESCRIPTORS), "rawfork"}),
                 {"LD_PRELOAD=" + staged.library(MEMPROXY_LIB), "MEMPROXY_TABLE=" + daemon.table()});
  auto line = parent.read_line();
  ASSERT_TRUE(line && line->rfind("child ", 0) == 0) << parent.finish().describe();
  const pid_t child = std::stoi(line->substr(6));
  struct Reaper {
    pid_t pid;
    ~Reaper() { ::kill(pid, SIGKILL); }
  } reaper{child};
  ASSERT_TRUE(parent.wait_stopped()) << parent.finish().describe();
  const pid_t pid = parent.pid();
  const std::string pid_text = std::to_string(pid);
  ASSERT_TRUE(wait_until([&] { return watches(daemon.table(), pid); })) << daemon.log();
  Outcome own = memproxyctl_as_nobody(staged, daemon.table(), {"top", "--json"});
  ASSERT_TRUE(lists(own, pid)) << "nobody sees its own program\n" << own.describe();

  // The program exits, is reaped, and its pid is root's at once; the child
  // still holds everything it inherited.
  parent.resume();
  ASSERT_EQ(parent.finish().code, 0);
  std::string why;
  const pid_t reused = start_with_pid(pid, HEAPWATCH_SITE_LEAK, &why);
  ASSERT_EQ(reused, pid) << why;
  struct Ender {
    pid_t pid;
    ~Ender() {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } ender{reused};
  ASSERT_EQ(::kill(child, 0), 0) << "the child still runs";
  ASSERT_TRUE(wait_until([&] { return read_file("/proc/" + pid_text + "/maps").find("site_leak") != std::string::npos; }))
      << "root's program runs under the recycled pid";

  // Until the watch is seen ended, and a while after, nobody asks.
  auto nobody_sees_nothing_of_root = [&] {
    Outcome top = memproxyctl_as_nobody(staged, daemon.table(), {"top", "--json"});
    EXPECT_FALSE(names_roots_program(top.out)) << top.describe();
    EXPECT_FALSE(lists(top, pid)) << top.describe();
    Outcome leaks = memproxyctl_as_nobody(staged, daemon.table(), {"leaks", pid_text, "--stack", "--json"});
    EXPECT_FALSE(names_roots_program(leaks.out)) << leaks.describe();
    EXPECT_FALSE(names_roots_program(leaks.err)) << leaks.describe();
    Outcome text = memproxyctl_as_nobody(staged, daemon.table(), {"leaks", pid_text, "--stack"});
    EXPECT_FALSE(names_roots_program(text.out)) << text.describe();
    return !::testing::Test::HasFailure();
  };
  wait_until([&] { return !nobody_sees_nothing_of_root() || !watches(daemon.table(), pid); });
  EXPECT_FALSE(watches(daemon.table(), pid)) << "the watch outlived its process\n" << daemon.log();
  for (int i = 0; i < 5; ++i) nobody_sees_nothing_of_root();
  Outcome gone = memproxyctl_as_nobody(staged, daemon.table(), {"leaks", pid_text, "--stack"});
  EXPECT_NE(gone.err.find("no watched process has pid " + pid_text), std::string::npos) << gone.describe();
  EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

}  // namespace
