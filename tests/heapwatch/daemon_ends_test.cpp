// How a watched process ended, end to end: the real daemon learns it from
// the kernel, keeps it in the history, and history, report and the log say
// it: a signal, and the OOM killer taking a leak in a memory cgroup.
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include <gtest/gtest.h>

#include "capability.hpp"
#include "e2e_support.hpp"
#include "memproxy/unique_fd.hpp"
#include "platform/process_exit_status.hpp"

namespace daemon_ends_test {
namespace {

using namespace heapwatch_e2e;
using nlohmann::json;

// "" when this kernel tells the holder of a pidfd how its process ended,
// once reaped; else why not.
std::string kernel_cannot_tell() {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  memproxy::UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, child, 0)));
  ::waitpid(child, nullptr, 0);
  int status = 0;
  if (pidfd && memproxy::platform::exit_status_of(pidfd.get(), &status) == memproxy::platform::ExitQuery::known) {
    return "";
  }
  return "this kernel does not tell how a process it did not fork ended (PIDFD_INFO_EXIT, Linux 6.15)";
}

// How `pid` ended as `history --json` says, "" until it is known.
std::string ended_how(const std::string& table, pid_t pid) {
  const Outcome history = memproxyctl(table, {"history", std::to_string(pid), "--json"});
  if (!history.ok()) return "";
  const json answer = json::parse(history.out, nullptr, false);
  if (answer.is_discarded()) return "";
  return answer["process"].value("ended_how", std::string());
}

// A memory cgroup of this machine's (v2, else v1) holding at most `bytes`,
// removed at the end; why_not() says why none could be made.
class MemoryCgroup {
 public:
  explicit MemoryCgroup(uint64_t bytes) {
    const std::string name = "memproxy-test-" + std::to_string(::getpid());
    std::ifstream controllers("/sys/fs/cgroup/cgroup.controllers");
    std::string available((std::istreambuf_iterator<char>(controllers)), std::istreambuf_iterator<char>());
    if (available.find("memory") != std::string::npos) {
      path_ = "/sys/fs/cgroup/" + name;
      limit_ = "memory.max";
    } else if (std::filesystem::exists("/sys/fs/cgroup/memory/memory.limit_in_bytes")) {
      path_ = "/sys/fs/cgroup/memory/" + name;
      limit_ = "memory.limit_in_bytes";
    } else {
      why_not_ = "this machine has no memory cgroup controller (v2 or v1) mounted";
      return;
    }
    if (::mkdir(path_.c_str(), 0755) != 0) {
      why_not_ = "cannot make " + path_ + ": " + std::strerror(errno);
      path_.clear();
      return;
    }
    if (!write(limit_, std::to_string(bytes))) why_not_ = "cannot write " + path_ + "/" + limit_;
    // No swap to escape to: the limit is what the process may use.
    if (std::filesystem::exists(path_ + "/memory.swap.max")) write("memory.swap.max", "0");
    if (std::filesystem::exists(path_ + "/memory.swappiness")) write("memory.swappiness", "0");
  }
  ~MemoryCgroup() {
    for (int i = 0; !path_.empty() && ::rmdir(path_.c_str()) != 0 && errno == EBUSY && i < 50; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  const std::string& why_not() const { return why_not_; }
  std::string procs() const { return path_ + "/cgroup.procs"; }

 private:
  bool write(const std::string& file, const std::string& value) {
    std::ofstream out(path_ + "/" + file);
    out << value;
    out.flush();
    return static_cast<bool>(out);
  }
  std::string path_;
  std::string limit_;
  std::string why_not_;
};

class DaemonEndsTest : public ::testing::Test {
 protected:
  // The shell moves itself into `cgroup`, then becomes the leak: 1 MiB
  // every `interval_ms`, taken within seconds, sampled by the daemon many
  // times before (one that ends before its first sample is kept has no
  // history). Its pid once killed by SIGKILL; 0 (and a failure) otherwise.
  pid_t leak_until_killed(const Daemon& daemon, const MemoryCgroup& cgroup, const std::string& interval_ms) {
    Process leak({"/bin/sh", "-c", "echo $$ > \"$0\" && exec \"$@\"", cgroup.procs(), MP_GROWER, "1048576", interval_ms},
                 {std::string("LD_PRELOAD=") + MEMPROXY_LIB, "MEMPROXY_TABLE=" + daemon.table()});
    const Outcome outcome = leak.finish(std::chrono::seconds(60));
    EXPECT_EQ(outcome.signal, SIGKILL) << outcome.describe();
    return outcome.signal == SIGKILL ? leak.pid() : 0;
  }

  memproxy::testing::TempDir dir_{0755};
};

// Killed by a signal: history (both forms), the report and the log say so
// once its parent reaped it, and leaks PID says when and how it ended.
TEST_F(DaemonEndsTest, HowAProcessEndedIsKeptAndShownOnceItsParentReapedIt) {
  MEMPROXY_REQUIRE(kernel_cannot_tell());
  Daemon daemon(dir_, {});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  auto grower = start_grower(daemon.table());
  ASSERT_EQ(grower->read_line(), std::optional<std::string>("growing"));
  const pid_t pid = grower->pid();
  // Kept in the history: a few ticks, each handed to the history before
  // the end is (a process that ends before its first tick has none).
  ASSERT_TRUE(wait_until([&] {
    const Outcome history = memproxyctl(daemon.table(), {"history", std::to_string(pid), "--json"});
    if (!history.ok()) return false;
    const json answer = json::parse(history.out, nullptr, false);
    return !answer.is_discarded() && answer["samples"].size() >= 3;
  })) << daemon.log();
  grower->signal(SIGTERM);
  const Outcome outcome = grower->finish();
  ASSERT_EQ(outcome.signal, SIGTERM) << outcome.describe();

  std::string how;
  EXPECT_TRUE(wait_until([&] { return !(how = ended_how(daemon.table(), pid)).empty(); })) << daemon.log();
  EXPECT_EQ(how, "killed by SIGTERM");
  const Outcome history = memproxyctl(daemon.table(), {"history", std::to_string(pid)});
  EXPECT_NE(history.out.find(", ended: killed by SIGTERM): "), std::string::npos) << history.describe();
  const std::string page = dir_ / "report.html";
  const Outcome report = memproxyctl(daemon.table(), {"report", std::to_string(pid), "-o", page});
  ASSERT_TRUE(report.ok()) << report.describe();
  EXPECT_NE(read_file(page).find("; killed by SIGTERM)"), std::string::npos);
  EXPECT_NE(daemon.log().find("pid " + std::to_string(pid) + " ended: killed by SIGTERM"), std::string::npos)
      << daemon.log();
  EXPECT_NE(daemon.log().find("heap watch: pid " + std::to_string(pid) + " (uid 0) is no longer watched"),
            std::string::npos)
      << "the watch's end is said as its start is\n" << daemon.log();
  // It ran too briefly for its call sites to be kept (every five minutes
  // at this time scale): leaks PID says so, and where the rest is.
  const std::string number = std::to_string(pid);
  const Outcome leaks = memproxyctl(daemon.table(), {"leaks", number});
  EXPECT_FALSE(leaks.ok()) << leaks.describe();
  EXPECT_NE(leaks.err.find("pid " + number + " (mp-grower) ended at "), std::string::npos) << leaks.describe();
  EXPECT_NE(leaks.err.find(", killed by SIGTERM: its trace ended with it, and no call sites of it were kept (the "
                           "daemon keeps them every few minutes while a process runs); memproxyctl history " +
                           number + " and report " + number + " show its samples and its last verdict"),
            std::string::npos)
      << leaks.describe();
}

// A leak in a memory cgroup grows until the OOM killer takes it: the
// history says that, not a bare SIGKILL, as the kernel log does.
TEST_F(DaemonEndsTest, ALeakTheOomKillerTookIsSaidToHaveBeenTakenByIt) {
  MEMPROXY_REQUIRE(kernel_cannot_tell());
  MEMPROXY_REQUIRE(memproxy::testing::missing_root("a memory cgroup, and the daemon reading the kernel log, need root"));
  MemoryCgroup cgroup(uint64_t{64} << 20);
  MEMPROXY_REQUIRE(cgroup.why_not());
  // Call sites are kept every five seconds at this time scale.
  Daemon daemon(dir_, {"--verdict-time-scale", "60"});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  // 1 MiB every 200 ms: its call sites are kept at least once.
  const pid_t pid = leak_until_killed(daemon, cgroup, "200");
  ASSERT_NE(pid, 0);
  std::string how;
  EXPECT_TRUE(wait_until([&] { return !(how = ended_how(daemon.table(), pid)).empty(); })) << daemon.log();
  EXPECT_EQ(how, "killed by the OOM killer (SIGKILL)") << daemon.log();
  // What held its memory can still be examined: the call sites kept while
  // it ran, each 1 MiB block sampled at the default mean.
  const Outcome leaks = memproxyctl(daemon.table(), {"leaks", std::to_string(pid), "--json"});
  ASSERT_TRUE(leaks.code == 0 || leaks.code == 1) << leaks.describe() << daemon.log();
  const json answer = json::parse(leaks.out);
  EXPECT_NE(answer["process"]["ended_unix_ns"].get<int64_t>(), 0) << leaks.out;
  EXPECT_EQ(answer["process"]["ended_how"], "killed by the OOM killer (SIGKILL)") << leaks.out;
  ASSERT_FALSE(answer["sites"].empty()) << leaks.out;
  EXPECT_GE(answer["sites"][0]["estimated_bytes"].get<uint64_t>(), uint64_t{8} << 20) << leaks.out;
  const Outcome text = memproxyctl(daemon.table(), {"leaks", std::to_string(pid)});
  EXPECT_NE(text.out.find("killed by the OOM killer (SIGKILL); these are its call sites as the daemon kept them at "),
            std::string::npos)
      << text.describe();
}

// Where the daemon cannot read the kernel log (no CAP_SYSLOG, with
// kernel.dmesg_restrict on), the OOM kill its memory cgroup counted while
// the process ran is said as what it is.
TEST_F(DaemonEndsTest, WithoutTheKernelLogTheCgroupsOomKillCountSpeaks) {
  MEMPROXY_REQUIRE(kernel_cannot_tell());
  MEMPROXY_REQUIRE(memproxy::testing::missing_root("a memory cgroup needs root"));
  MEMPROXY_REQUIRE(read_file("/proc/sys/kernel/dmesg_restrict") == "1\n"
                       ? std::string()
                       : std::string("kernel.dmesg_restrict is off: any process may read the kernel log"));
  MEMPROXY_REQUIRE(std::filesystem::exists("/usr/bin/setpriv") ? std::string() : std::string("no /usr/bin/setpriv"));
  MemoryCgroup cgroup(uint64_t{64} << 20);
  MEMPROXY_REQUIRE(cgroup.why_not());
  Daemon daemon(dir_, {}, {"mp-grower"}, {"/usr/bin/setpriv", "--bounding-set=-syslog", "--inh-caps=-syslog"});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  const pid_t pid = leak_until_killed(daemon, cgroup, "100");
  ASSERT_NE(pid, 0);
  std::string how;
  EXPECT_TRUE(wait_until([&] { return !(how = ended_how(daemon.table(), pid)).empty(); })) << daemon.log();
  EXPECT_EQ(how, "killed by SIGKILL as its memory cgroup's OOM killer struck") << daemon.log();
}

}  // namespace
}  // namespace daemon_ends_test
