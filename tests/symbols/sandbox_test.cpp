// The worker really is sandboxed: it runs as the monitored process's user
// (nobody for root's processes; from wherever the daemon can reach it),
// with no groups, no capabilities,
// no_new_privs and its rlimits; it reads only what that user can read;
// and it dies with the process that started it, or is killed when it does
// not reach the worker.
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "capability.hpp"
#include "symbols/sandbox.hpp"
#include "symbols/symbolizer.hpp"
#include "symbols_test_support.hpp"
#include "staged.hpp"
#include "temp_dir.hpp"

namespace memproxy::testing {
namespace {

using symbols::SymbolizerClient;

struct Nobody {
  uid_t uid = 65534;
  gid_t gid = 65534;
};

Nobody nobody() {
  Nobody who;
  if (const passwd* p = getpwnam("nobody")) {
    who.uid = p->pw_uid;
    who.gid = p->pw_gid;
  }
  return who;
}

// The "Name:\tvalue" line of /proc/PID/status, or the "Max ..." line of limits.
std::string proc_line(pid_t pid, const std::string& file, const std::string& prefix) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return line;
  }
  return "";
}

std::string squeeze(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '\t' || c == ' ') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MEMPROXY_REQUIRE(missing_unprivileged_runner());
    MEMPROXY_REQUIRE(staged_.missing());
  }
  StagedForOtherUser staged_;  // the worker, and what the target's user runs
};

TEST_F(SandboxTest, TheWorkerRunsAsTheTargetsUserWithNothingElse) {
  const Nobody who = nobody();
  staged_.library(SYM_LIB);
  Target target(as_nobody({staged_.program(SYM_TARGET)}), {staged_.library_path_variable()});
  ASSERT_TRUE(target.stopped()) << target.output();
  SymbolizerClient client(worker_options(staged_));
  const std::vector<uint64_t> addresses = {target.call("plain").address, target.call("library").address};
  auto result = client.symbolize(target.pid(), who.uid, who.gid, addresses, std::chrono::seconds(30));
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_EQ(result.locations[0].frames.at(0).function, "plain_function()") << describe_all(result.locations);
  EXPECT_EQ(result.locations[1].frames.at(0).function, "library_function") << describe_all(result.locations);

  ASSERT_EQ(client.worker_pids().size(), 1u);
  const pid_t worker = client.worker_pids()[0];
  const std::string u = std::to_string(who.uid), g = std::to_string(who.gid);
  EXPECT_EQ(squeeze(proc_line(worker, "status", "Uid:")), "Uid: " + u + " " + u + " " + u + " " + u);
  EXPECT_EQ(squeeze(proc_line(worker, "status", "Gid:")), "Gid: " + g + " " + g + " " + g + " " + g);
  EXPECT_EQ(squeeze(proc_line(worker, "status", "Groups:")), "Groups:");
  for (const char* set : {"CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"}) {
    EXPECT_EQ(squeeze(proc_line(worker, "status", set)), std::string(set) + " 0000000000000000");
  }
  EXPECT_EQ(squeeze(proc_line(worker, "status", "NoNewPrivs:")), "NoNewPrivs: 1");
  EXPECT_EQ(squeeze(proc_line(worker, "limits", "Max core file size")), "Max core file size 0 0 bytes");
  EXPECT_EQ(squeeze(proc_line(worker, "limits", "Max cpu time")), "Max cpu time 120 120 seconds");
  EXPECT_EQ(squeeze(proc_line(worker, "limits", "Max file size")), "Max file size 0 0 bytes");
  EXPECT_EQ(squeeze(proc_line(worker, "limits", "Max processes")), "Max processes 0 0 processes");
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_EQ(squeeze(proc_line(worker, "limits", "Max address space")), "Max address space 4294967296 4294967296 bytes");
#endif
  // Not dumpable: its /proc files belong to root, not to the user.
  std::filesystem::path status = "/proc/" + std::to_string(worker) + "/status";
  struct stat st;
  ASSERT_EQ(::stat(status.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
}

TEST_F(SandboxTest, RootsProcessesAreSymbolizedAsNobody) {
  Target target({SYM_TARGET});
  ASSERT_TRUE(target.stopped()) << target.output();
  SymbolizerClient client(worker_options(staged_));
  const std::vector<uint64_t> addresses = {target.call("plain").address};
  auto result = client.symbolize(target.pid(), 0, 0, addresses, std::chrono::seconds(30));
  ASSERT_TRUE(result.ok()) << result.error;
  ASSERT_EQ(client.worker_pids().size(), 1u);
  EXPECT_EQ(squeeze(proc_line(client.worker_pids()[0], "status", "Uid:")).substr(0, 10), "Uid: " + std::to_string(nobody().uid));
}

// A worker in a directory its user cannot enter, as in a build tree under
// a 0700 home: it still starts and names the function, since the daemon
// opens it and its user needs only the right to execute the file.
TEST_F(SandboxTest, AWorkerInADirectoryItsUserCannotEnterStillRuns) {
  TempDir hidden;  // 0700, root's
  const std::string worker = hidden.path() + "/" + std::filesystem::path(MEMPROXY_SYMBOLIZE_WORKER_BIN).filename().string();
  std::filesystem::copy_file(MEMPROXY_SYMBOLIZE_WORKER_BIN, worker);
  ASSERT_EQ(::chmod(worker.c_str(), 0755), 0);
  Target target({SYM_TARGET});
  ASSERT_TRUE(target.stopped()) << target.output();
  symbols::ClientOptions options = worker_options(staged_);
  options.worker_command = {worker};
  SymbolizerClient client(options);
  const std::vector<uint64_t> addresses = {target.call("plain").address};
  auto result = client.symbolize(target.pid(), 0, 0, addresses, std::chrono::seconds(30));
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_EQ(result.locations.at(0).frames.at(0).function, "plain_function()") << describe_all(result.locations);
  ASSERT_EQ(client.worker_pids().size(), 1u);
  EXPECT_EQ(squeeze(proc_line(client.worker_pids()[0], "status", "Uid:")).substr(0, 10),
            "Uid: " + std::to_string(nobody().uid));
}

// An execute-only binary: nobody can run it but not read it, so the worker
// (as nobody) must not read it either, although the daemon could.
TEST_F(SandboxTest, AFileTheUserCannotReadIsNotRead) {
  const Nobody who = nobody();
  const std::string program = staged_.add(SYM_TARGET, 0711, "program");
  staged_.library(SYM_LIB);
  Target target(as_nobody({program}), {staged_.library_path_variable()});
  ASSERT_TRUE(target.stopped()) << target.output();
  const std::vector<uint64_t> addresses = {target.call("plain").address, target.call("library").address};

  SymbolizerClient client(worker_options(staged_));
  auto result = client.symbolize(target.pid(), who.uid, who.gid, addresses, std::chrono::seconds(30));
  ASSERT_TRUE(result.ok()) << result.error;
  const auto& unreadable = result.locations[0];
  EXPECT_TRUE(unreadable.mapped);
  EXPECT_EQ(unreadable.object, program);
  EXPECT_TRUE(unreadable.frames.empty()) << describe_all(result.locations);
  EXPECT_TRUE(unreadable.build_id.empty());
  EXPECT_NE(unreadable.note.find("Permission denied"), std::string::npos) << unreadable.note;
  EXPECT_EQ(result.locations[1].frames.at(0).function, "library_function") << describe_all(result.locations);

  // Root, in process, can: the difference is the worker's user.
  symbols::Symbolizer as_root;
  std::string why;
  auto by_root = as_root.symbolize_process(target.pid(), addresses, &why);
  ASSERT_TRUE(by_root) << why;
  EXPECT_EQ((*by_root)[0].frames.at(0).function, "plain_function()");
}

// A daemon that dies, however it dies, leaves no worker behind.
TEST_F(SandboxTest, TheWorkerDiesWithItsParent) {
  Target target({SYM_TARGET});
  ASSERT_TRUE(target.stopped()) << target.output();
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    SymbolizerClient client(worker_options(staged_));
    const std::vector<uint64_t> addresses = {target.call("plain").address};
    auto result = client.symbolize(target.pid(), 0, 0, addresses, std::chrono::seconds(30));
    pid_t worker = result.ok() && client.worker_pids().size() == 1 ? client.worker_pids()[0] : -1;
    ssize_t ignored = ::write(report[1], &worker, sizeof worker);
    (void)ignored;
    _exit(0);  // no destructor: the client never stops its worker
  }
  ::close(report[1]);
  pid_t worker = -1;
  ASSERT_EQ(::read(report[0], &worker, sizeof worker), static_cast<ssize_t>(sizeof worker));
  ::close(report[0]);
  ASSERT_GT(worker, 0);
  ::waitpid(child, nullptr, 0);
  bool gone = false;
  for (int i = 0; i < 500 && !gone; ++i) {
    std::string state = proc_line(worker, "status", "State:");
    gone = state.empty() || state.find("zombie") != std::string::npos;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone) << "worker " << worker << " outlived its parent";
}

// Once the child runs as the target's user, that user may stop it before it
// executes the worker. The thread starting it gives up at the start deadline
// and kills it, instead of waiting for ever (and holding the daemon's
// shutdown). The stop is made certain here by tracing the starting process's
// forks and never resuming the child.
TEST_F(SandboxTest, AChildStoppedBeforeItExecutesIsKilledNotWaitedFor) {
  int go[2], report[2];
  ASSERT_EQ(::pipe(go), 0);
  ASSERT_EQ(::pipe(report), 0);
  const pid_t starter = ::fork();
  ASSERT_GE(starter, 0);
  if (starter == 0) {
    char c;
    if (::read(go[0], &c, 1) != 1) _exit(2);
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) _exit(3);
    symbols::SandboxLimits limits;
    limits.start_timeout_ms = 300;
    std::string why;
    const Nobody who = nobody();
    const pid_t pid = symbols::spawn_sandboxed({"/bin/true"}, pair[1], {who.uid, who.gid}, limits, &why);
    if (pid > 0) why = "started " + std::to_string(pid);
    ssize_t ignored = ::write(report[1], why.data(), why.size());
    (void)ignored;
    _exit(pid < 0 ? 0 : 1);
  }
  ::close(go[0]);
  ::close(report[1]);
  ASSERT_EQ(::ptrace(PTRACE_SEIZE, starter, nullptr, PTRACE_O_TRACEFORK), 0) << std::strerror(errno);
  ASSERT_EQ(::write(go[1], "g", 1), 1);

  // As the tracer, this process sees the starter's fork and the child's
  // stops and death first: the child is never resumed, the starter always.
  pid_t child = -1;
  int starter_status = -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (starter_status < 0 && std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    const pid_t who = ::waitpid(-1, &status, __WALL | WNOHANG);
    if (who <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (who != starter) continue;
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      starter_status = status;
    } else if (WIFSTOPPED(status)) {
      int signal = WSTOPSIG(status);
      if (status >> 16 == PTRACE_EVENT_FORK) {
        unsigned long forked = 0;
        ::ptrace(PTRACE_GETEVENTMSG, starter, nullptr, &forked);
        child = static_cast<pid_t>(forked);
        signal = 0;
      } else if (signal == SIGTRAP || status >> 16 != 0) {
        signal = 0;
      }
      ::ptrace(PTRACE_CONT, starter, nullptr, signal);
    }
  }
  if (starter_status < 0) {
    ::kill(starter, SIGKILL);
    if (child > 0) ::kill(child, SIGKILL);
    while (::waitpid(-1, nullptr, __WALL | WNOHANG) > 0) {
    }
    FAIL() << "the starting process still waits for a child stopped before exec";
  }
  char text[256] = {};
  ssize_t got = ::read(report[0], text, sizeof text - 1);
  ::close(report[0]);
  ::close(go[1]);
  const std::string why(text, got > 0 ? static_cast<size_t>(got) : 0);
  ASSERT_GT(child, 0) << "the starter never forked";
  EXPECT_TRUE(WIFEXITED(starter_status) && WEXITSTATUS(starter_status) == 0) << why;
  EXPECT_NE(why.find("did not execute within 300 ms"), std::string::npos) << why;
  EXPECT_TRUE(::kill(child, 0) != 0 && errno == ESRCH) << "the stopped child " << child << " was left behind";
}

}  // namespace
}  // namespace memproxy::testing
