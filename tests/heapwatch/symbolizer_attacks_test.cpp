// The symbolizer against nobody, with the real daemon and its sandboxed
// worker: the worker that names root's processes runs as a user of its own
// (--symbolizer-user, memproxy-symbols by default), so nobody may not stop
// it; without that user the daemon falls back to nobody and says so; and
// nobody, stopping every worker of its own the moment it starts and
// keeping its queue full, does not keep root's `leaks PID --stack` from
// naming root's frames.
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <sstream>
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "capability.hpp"
#include "e2e_support.hpp"
#include "top_entries.hpp"

namespace {

using namespace heapwatch_e2e;
using nlohmann::json;

constexpr uid_t kNobody = 65534;
constexpr const char* kWorkerComm = "memproxyd-symbo";  // the worker's name, as the kernel cuts it
constexpr const char* kSymbolsUser = "memproxy-symbols";

struct Worker {
  pid_t pid = 0;
  uid_t uid = 0;
  char state = '?';
};

// The symbolizer workers the daemon `parent` runs now.
std::vector<Worker> workers_of(pid_t parent) {
  std::vector<Worker> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = read_file(entry.path() / "stat");
    const size_t open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close + 4 >= stat.size()) continue;
    if (stat.substr(open + 1, close - open - 1) != kWorkerComm) continue;
    if (std::strtol(stat.c_str() + close + 4, nullptr, 10) != parent) continue;
    Worker w;
    w.pid = std::stoi(name);
    w.state = stat[close + 2];
    std::smatch m;
    const std::string status = read_file(entry.path() / "status");
    if (!std::regex_search(status, m, std::regex(R"(\nUid:\s+(\d+))"))) continue;
    w.uid = static_cast<uid_t>(std::stoul(m[1]));
    found.push_back(w);
  }
  return found;
}

// What `leaks PID --stack --json` said of the leaking function.
struct Named {
  bool answered = false;
  bool leak_block = false;  // a frame named leak_block, in site_leak.c
  std::string symbols_error;
  std::string raw;
};

Named ask_leaks(const std::function<Outcome(std::vector<std::string>)>& ctl, pid_t pid) {
  Named named;
  Outcome out = ctl({"leaks", std::to_string(pid), "--stack", "--json"});
  named.raw = out.describe();
  if (!out.exited || (out.code != 0 && out.code != 1)) return named;
  const json answer = json::parse(out.out, nullptr, false);
  if (!answer.is_object() || !answer.contains("sites")) return named;
  named.answered = true;
  named.symbols_error = answer.value("symbols_error", "");
  for (const json& site : answer["sites"]) {
    for (const json& frame : site["frames"]) {
      if (frame.value("function", "") == "leak_block" && frame.value("file", "").ends_with("site_leak.c")) {
        named.leak_block = true;
      }
    }
  }
  return named;
}

// The pids of `parent`'s children, from each of its threads' children
// list (which every user may read): a scan cheap enough to repeat every
// fraction of a millisecond.
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> children;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(parent) + "/task", ec)) {
    std::istringstream list(read_file(task.path() / "children"));
    for (pid_t pid; list >> pid;) children.push_back(pid);
  }
  return children;
}

// A child, dropped to nobody, that sends SIGSTOP to every symbolizer worker
// of `daemon` as soon as it sees one, again and again: a fresh worker the
// daemon starts after killing a stuck one is stopped too, mostly before it
// answered anything. It counts the signals the kernel let through.
// Only workers (their own name, after exec): a child stopped between fork
// and exec is another attack, on the daemon's start of a worker.
class WorkerStopper {
 public:
  explicit WorkerStopper(pid_t daemon) {
    void* shared = ::mmap(nullptr, sizeof(std::atomic<uint64_t>), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                          -1, 0);
    if (shared == MAP_FAILED) return;
    stopped_ = new (shared) std::atomic<uint64_t>(0);
    pid_ = ::fork();
    if (pid_ == 0) run(daemon);
  }
  ~WorkerStopper() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (stopped_ != nullptr) ::munmap(stopped_, sizeof(std::atomic<uint64_t>));
  }
  bool started() const { return pid_ > 0; }
  uint64_t stopped() const { return stopped_->load(); }

 private:
  [[noreturn]] void run(pid_t daemon) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(kNobody, kNobody, kNobody) != 0 ||
        ::setresuid(kNobody, kNobody, kNobody) != 0) {
      ::_exit(2);
    }
    std::set<pid_t> done;
    for (;;) {
      for (pid_t child : children_of(daemon)) {
        if (done.count(child) != 0) continue;
        const std::string stat = read_file("/proc/" + std::to_string(child) + "/stat");
        if (stat.find(std::string("(") + kWorkerComm + ")") == std::string::npos) continue;
        if (::kill(child, SIGSTOP) == 0) (*stopped_)++;
        done.insert(child);
      }
      ::usleep(200);
    }
  }

  pid_t pid_ = -1;
  std::atomic<uint64_t>* stopped_ = nullptr;
};

class SymbolizerAttacksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MEMPROXY_REQUIRE(memproxy::testing::missing_unprivileged_runner());
    MEMPROXY_REQUIRE(staged_.missing());
  }

  memproxy::testing::TempDir dir_{0755};
  memproxy::testing::StagedForOtherUser staged_;

  std::unique_ptr<Daemon> start_daemon(std::vector<std::string> extra = {}) {
    extra.insert(extra.end(), {"--no-history", "--symbolizer", staged_.program(MEMPROXY_SYMBOLIZE_WORKER_BIN)});
    return std::make_unique<Daemon>(dir_, extra, std::vector<std::string>{"", "[monitor sample=64K]",
                                                                           "heapwatch-site_leak"});
  }
  // heapwatch-site_leak, root's, or nobody's from its staged copy.
  std::unique_ptr<Process> start_program(const std::string& table, bool as_nobody) {
    std::vector<std::string> argv{HEAPWATCH_SITE_LEAK};
    std::string library = MEMPROXY_LIB;
    if (as_nobody) {
      argv = memproxy::testing::as_nobody({staged_.program(HEAPWATCH_SITE_LEAK)});
      library = staged_.library(MEMPROXY_LIB);
    }
    auto p = std::make_unique<Process>(argv, std::vector<std::string>{"LD_PRELOAD=" + library, "MEMPROXY_TABLE=" + table});
    EXPECT_EQ(p->read_line().value_or(""), "ready");
    return p;
  }
  Outcome as_root(const Daemon& daemon, std::vector<std::string> args) { return memproxyctl(daemon.table(), args); }
  Outcome as_nobody(const Daemon& daemon, std::vector<std::string> args) {
    return memproxyctl_as_nobody(staged_, daemon.table(), args);
  }
};

TEST_F(SymbolizerAttacksTest, NobodyCannotStopTheWorkerThatNamesRootsFrames) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_user(kSymbolsUser));
  const passwd* symbols_user = ::getpwnam(kSymbolsUser);
  ASSERT_NE(symbols_user, nullptr);
  const uid_t symbols_uid = symbols_user->pw_uid;
  ASSERT_NE(symbols_uid, kNobody);
  auto daemon = start_daemon();
  ASSERT_TRUE(daemon->ready()) << daemon->log();
  const pid_t daemon_id = daemon->pid();
  ASSERT_NE(daemon_id, 0) << daemon->log();
  auto program = start_program(daemon->table(), false);

  Named named;
  ASSERT_TRUE(wait_until([&] {
    named = ask_leaks([&](auto args) { return as_root(*daemon, args); }, program->pid());
    return named.leak_block;
  })) << named.raw << daemon->log();
  std::vector<Worker> workers = workers_of(daemon_id);
  ASSERT_EQ(workers.size(), 1u) << "root's worker, and no other";
  EXPECT_EQ(workers[0].uid, symbols_uid) << "root's worker runs as " << kSymbolsUser;

  for (const char* signal : {"-STOP", "-KILL"}) {
    Outcome kill = memproxy::testing::run(
        memproxy::testing::as_nobody({"/bin/kill", signal, std::to_string(workers[0].pid)}), {});
    EXPECT_TRUE(kill.exited && kill.code != 0) << kill.describe();
    EXPECT_NE(kill.err.find("Operation not permitted"), std::string::npos) << kill.describe();
  }
  workers = workers_of(daemon_id);
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_NE(workers[0].state, 'T') << "root's worker was stopped";
  EXPECT_NE(daemon->log().find(std::string("worker running as ") + kSymbolsUser), std::string::npos) << daemon->log();
  program->signal(SIGKILL);
  program->finish();
  EXPECT_EQ(daemon->stop(), 0) << daemon->log();
}

TEST_F(SymbolizerAttacksTest, WithoutItsUserRootsWorkerIsNobodysAndTheDaemonSaysSo) {
  const std::string user = "memproxy-no-such-user";
  ASSERT_NE(memproxy::testing::missing_user(user), "");
  auto daemon = start_daemon({"--symbolizer-user", user});
  ASSERT_TRUE(daemon->ready()) << daemon->log();
  const pid_t daemon_id = daemon->pid();
  auto program = start_program(daemon->table(), false);
  Named named;
  ASSERT_TRUE(wait_until([&] {
    named = ask_leaks([&](auto args) { return as_root(*daemon, args); }, program->pid());
    return named.leak_block;
  })) << named.raw << daemon->log();
  const std::vector<Worker> workers = workers_of(daemon_id);
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_EQ(workers[0].uid, kNobody);
  EXPECT_NE(daemon->log().find("no user " + user + " (--symbolizer-user): root's call sites are named by a worker "
                               "running as nobody"),
            std::string::npos)
      << daemon->log();
  program->signal(SIGKILL);
  program->finish();
  EXPECT_EQ(daemon->stop(), 0) << daemon->log();
}

// nobody stops each of its workers as it starts and keeps asking for the
// sites of its own programs; the daemon lets a request take 10 minutes, so
// none of nobody's ends while the test runs. Root's request goes to root's
// own worker, through a queue of its own, and is answered with names: had
// it waited behind nobody's, it would not be within the test's minute.
TEST_F(SymbolizerAttacksTest, NobodysStoppedWorkersAndFullQueueLeaveRootsLeaksNamed) {
  // Without it root's worker is nobody's, which nobody stops too (the
  // daemon warns of that fallback).
  MEMPROXY_REQUIRE(memproxy::testing::missing_user(kSymbolsUser));
  auto daemon = start_daemon({"--symbolizer-timeout", "600"});
  ASSERT_TRUE(daemon->ready()) << daemon->log();
  const pid_t daemon_id = daemon->pid();
  ASSERT_NE(daemon_id, 0) << daemon->log();
  auto root_program = start_program(daemon->table(), false);

  auto stopper = std::make_unique<WorkerStopper>(daemon_id);
  ASSERT_TRUE(stopper->started());
  std::vector<std::unique_ptr<Process>> nobodys;
  for (int i = 0; i < 4; ++i) nobodys.push_back(start_program(daemon->table(), true));
  for (const auto& p : nobodys) {
    ASSERT_TRUE(wait_until([&] { return watches(daemon->table(), p->pid()); })) << daemon->log();
  }
  // Asking without end, several at a time, for sites no worker of nobody's
  // gets to name: more than nobody may have waiting (16).
  const std::string ctl = staged_.program(MEMPROXYCTL_BIN);
  std::vector<std::unique_ptr<Process>> askers;
  for (int i = 0; i < 24; ++i) {
    const std::string pid = std::to_string(nobodys[static_cast<size_t>(i) % nobodys.size()]->pid());
    askers.push_back(std::make_unique<Process>(
        memproxy::testing::as_nobody({"/bin/sh", "-c",
                                      "while :; do \"$0\" -t \"$1\" leaks \"$2\" --stack --json >/dev/null 2>&1; done",
                                      ctl, daemon->table(), pid}),
        std::vector<std::string>{}));
  }
  // The attack holds: nobody's worker stopped, and nobody's own asking
  // answered without names.
  ASSERT_TRUE(wait_until([&] {
    for (const Worker& w : workers_of(daemon_id)) {
      if (w.uid == kNobody && w.state == 'T') return true;
    }
    return false;
  })) << daemon->log();
  Named theirs = ask_leaks([&](auto args) { return as_nobody(*daemon, args); }, nobodys[0]->pid());
  EXPECT_FALSE(theirs.leak_block) << "nobody's stopped worker named its frames: " << theirs.raw;

  Named root;
  EXPECT_TRUE(wait_until(
      [&] {
        root = ask_leaks([&](auto args) { return as_root(*daemon, args); }, root_program->pid());
        return root.leak_block && root.symbols_error.empty();
      },
      60s))
      << root.raw << daemon->log();
  EXPECT_GT(stopper->stopped(), 0u);
  for (const Worker& w : workers_of(daemon_id)) {
    if (w.uid != kNobody) {
      EXPECT_NE(w.state, 'T') << "a worker not nobody's was stopped: pid " << w.pid;
    }
  }

  // The daemon ends once its requests under way have: nobody's stopped
  // workers are killed, so that it need not wait out their 10 minutes.
  stopper.reset();
  askers.clear();
  for (const Worker& w : workers_of(daemon_id)) {
    if (w.uid == kNobody) ::kill(w.pid, SIGKILL);
  }
  root_program->signal(SIGKILL);
  root_program->finish();
  for (auto& p : nobodys) {
    p->signal(SIGKILL);
    p->finish();
  }
  EXPECT_EQ(daemon->stop(), 0) << daemon->log();
}

}  // namespace
