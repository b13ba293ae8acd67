// The daemon finds the worker it was built or installed with: beside
// itself, in ../libexec/memproxy/ from itself, then at the install
// prefix; a worker it cannot find is a warning at start, and every
// symbolizing error names the worker's path and --symbolizer.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "process.hpp"
#include "symbols/symbolizer_client.hpp"
#include "symbols/worker_path.hpp"
#include "symbols_test_support.hpp"
#include "temp_dir.hpp"

namespace memproxy::testing {
namespace {

namespace fs = std::filesystem;

__attribute__((noinline)) void some_function() { asm volatile(""); }

constexpr const char* kRunning = " running (pid ";

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void copy_executable(const std::string& from, const std::string& to) {
  fs::create_directories(fs::path(to).parent_path());
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  fs::permissions(to, fs::perms(0755));
}

// The log of `daemon` (the built one, or a copy) started without
// --symbolizer, up to its "running (pid N)" line (not the history line's
// "history of running processes only", which comes before the symbolizer's).
std::string start_log(const TempDir& dir, const std::string& daemon) {
  const std::string config = dir.write("memproxy.conf", "alpha\n");
  const std::string log = dir / "daemon.log";
  std::ofstream(log, std::ios::trunc).close();
  const pid_t pid = spawn_logged({daemon, "-f", "--no-history", "-c", config, "-t", dir / "run/table"},
                                 inherited_environment(), log, log);
  std::string text;
  // Bounded: a daemon that never says it runs fails the test, it does not hang it.
  for (int i = 0; i < 4000 && text.find(kRunning) == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    text = read_text(log);
  }
  ::kill(pid, SIGKILL);
  wait_exit(pid, std::chrono::seconds(20));
  return text;
}

class WorkerPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (fs::exists(symbols::installed_worker_path())) {
      GTEST_SKIP() << "a worker is installed at " << symbols::installed_worker_path()
                   << ": a daemon away from its build would find it";
    }
  }
};

TEST_F(WorkerPathTest, CandidatesAreBesideTheDaemonThenLibexecThenTheInstallPrefix) {
  const std::vector<std::string> expected = {"/opt/mp/sbin/memproxyd-symbolize",
                                             "/opt/mp/libexec/memproxy/memproxyd-symbolize",
                                             symbols::installed_worker_path()};
  EXPECT_EQ(symbols::worker_candidates("/opt/mp/sbin/memproxyd"), expected);
  EXPECT_EQ(symbols::worker_candidates("memproxyd"), std::vector<std::string>{symbols::installed_worker_path()});
}

TEST_F(WorkerPathTest, AMissingWorkerIsReportedWithEveryPathTriedAndTheOption) {
  TempDir dir;
  const std::string daemon = dir / "sbin/memproxyd";
  symbols::WorkerChoice none = symbols::choose_worker("", daemon);
  EXPECT_EQ(none.tried.size(), 3u);
  for (const std::string& path : none.tried) EXPECT_NE(none.problem.find(path), std::string::npos) << none.problem;
  EXPECT_NE(none.problem.find("--symbolizer"), std::string::npos) << none.problem;

  const std::string in_libexec = dir / "libexec/memproxy/memproxyd-symbolize";
  copy_executable(MEMPROXY_SYMBOLIZE_WORKER_BIN, in_libexec);
  fs::permissions(in_libexec, fs::perms(0644));
  symbols::WorkerChoice not_executable = symbols::choose_worker("", daemon);
  EXPECT_NE(not_executable.problem.find(in_libexec + " (not executable)"), std::string::npos)
      << not_executable.problem;

  fs::permissions(in_libexec, fs::perms(0755));
  symbols::WorkerChoice found = symbols::choose_worker("", daemon);
  EXPECT_EQ(found.path, in_libexec);
  EXPECT_EQ(found.problem, "");

  symbols::WorkerChoice configured = symbols::choose_worker(dir / "elsewhere", daemon);
  EXPECT_EQ(configured.path, dir / "elsewhere");
  EXPECT_NE(configured.problem.find(dir / "elsewhere"), std::string::npos) << configured.problem;
  EXPECT_NE(configured.problem.find("--symbolizer"), std::string::npos) << configured.problem;
}

// What `memproxyctl leaks PID` repeats when symbolizing fails.
TEST_F(WorkerPathTest, ASymbolizingErrorNamesTheWorkerAndTheOption) {
  const std::vector<uint64_t> addresses = {reinterpret_cast<uintptr_t>(&some_function) + 1};
  symbols::ClientOptions options;
  options.worker_command = {"/nonexistent/memproxyd-symbolize"};
  symbols::SymbolizerClient configured(options);
  auto result = configured.symbolize(::getpid(), ::getuid(), ::getgid(), addresses, std::chrono::seconds(30));
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error.find("/nonexistent/memproxyd-symbolize"), std::string::npos) << result.error;
  EXPECT_NE(result.error.find("--symbolizer"), std::string::npos) << result.error;

  // This test program has no worker beside it.
  options.worker_command.clear();
  symbols::SymbolizerClient searching(options);
  result = searching.symbolize(::getpid(), ::getuid(), ::getgid(), addresses, std::chrono::seconds(30));
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error.find(symbols::installed_worker_path()), std::string::npos) << result.error;
  EXPECT_NE(result.error.find("--symbolizer"), std::string::npos) << result.error;
}

TEST_F(WorkerPathTest, TheBuiltDaemonFindsTheBuiltWorker) {
  TempDir dir(0755);
  const std::string log = start_log(dir, MEMPROXYD_BIN);
  ASSERT_NE(log.find(kRunning), std::string::npos) << log;
  EXPECT_NE(log.find("symbolizer: " + fs::canonical(MEMPROXY_SYMBOLIZE_WORKER_BIN).string()), std::string::npos)
      << log;
  EXPECT_EQ(log.find("no symbolizer worker"), std::string::npos) << log;
}

TEST_F(WorkerPathTest, ADaemonFindsTheWorkerBesideItAndInItsLibexec) {
  TempDir dir(0755);
  copy_executable(MEMPROXYD_BIN, dir / "sbin/memproxyd");
  copy_executable(MEMPROXY_SYMBOLIZE_WORKER_BIN, dir / "libexec/memproxy/memproxyd-symbolize");
  std::string log = start_log(dir, dir / "sbin/memproxyd");
  EXPECT_NE(log.find("symbolizer: " + dir / "libexec/memproxy/memproxyd-symbolize"), std::string::npos) << log;

  copy_executable(MEMPROXY_SYMBOLIZE_WORKER_BIN, dir / "sbin/memproxyd-symbolize");
  log = start_log(dir, dir / "sbin/memproxyd");
  EXPECT_NE(log.find("symbolizer: " + dir / "sbin/memproxyd-symbolize"), std::string::npos) << log;
}

TEST_F(WorkerPathTest, ADaemonWithoutItsWorkerWarnsAtStart) {
  TempDir dir(0755);
  copy_executable(MEMPROXYD_BIN, dir / "sbin/memproxyd");
  const std::string log = start_log(dir, dir / "sbin/memproxyd");
  ASSERT_NE(log.find(kRunning), std::string::npos) << log;
  EXPECT_NE(log.find("warning"), std::string::npos) << log;
  EXPECT_NE(log.find(dir / "sbin/memproxyd-symbolize"), std::string::npos) << log;
  EXPECT_NE(log.find(dir / "libexec/memproxy/memproxyd-symbolize"), std::string::npos) << log;
  EXPECT_NE(log.find(symbols::installed_worker_path()), std::string::npos) << log;
  EXPECT_NE(log.find("--symbolizer"), std::string::npos) << log;
}

// A backgrounded daemon logs to syslog once it has detached: the warning
// must come from the detached daemon's own logger (the process that says
// "running (pid N)"), not from the process that exits once it has started.
TEST_F(WorkerPathTest, ABackgroundedDaemonWithoutItsWorkerWarnsInItsOwnLog) {
  TempDir dir(0755);
  copy_executable(MEMPROXYD_BIN, dir / "sbin/memproxyd");
  const std::string config = dir.write("memproxy.conf", "alpha\n");
  const std::string log = dir / "daemon.log";
  const pid_t starter = spawn_logged({dir / "sbin/memproxyd", "--no-history", "-c", config, "-t", dir / "run/table"},
                                     inherited_environment(), log, log);
  ASSERT_EQ(wait_exit(starter, std::chrono::seconds(60)), std::optional<int>(0)) << read_text(log);
  const std::string text = read_text(log);
  const size_t running = text.find("running (pid ");
  ASSERT_NE(running, std::string::npos) << text;
  const pid_t daemon = static_cast<pid_t>(std::stol(text.substr(running + 13)));
  ::kill(daemon, SIGTERM);
  EXPECT_NE(text.find("memproxyd[" + std::to_string(daemon) + "] warning: no symbolizer worker found at " +
                      (dir / "sbin/memproxyd-symbolize")),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("--symbolizer"), std::string::npos) << text;
  for (int i = 0; i < 2000 && ::kill(daemon, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

}  // namespace
}  // namespace memproxy::testing
