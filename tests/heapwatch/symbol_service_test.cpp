// The symbol service on the daemon's loop: a running process's return
// addresses come back as locations through the sandboxed worker, in the
// order asked, each distinct address symbolized once (a second request is
// answered from the cache without waiting), forgotten when the process
// ends; a full queue answers at once with an error; a process that ended is
// not read at all; a user who stops their own worker and fills their own
// queue delays nobody else.
#include "heapwatch/serve/symbol_service.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>

#include "capability.hpp"
#include "memproxy/process_info.hpp"
#include "process.hpp"
#include "staged.hpp"

namespace memproxy::heapwatch {
namespace {

using namespace std::chrono_literals;

struct Answer {
  std::vector<symbols::Location> locations;
  std::string error;
};

class SymbolServiceTest : public ::testing::Test {
 protected:
  boost::asio::io_context io;
  // The daemon's loop never runs out of work; without this guard the test's
  // would stop when idle and miss the answers posted to it.
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> busy = boost::asio::make_work_guard(io);
  // The worker runs as nobody for root's processes: from its staged copy.
  testing::StagedForOtherUser staged_;

  void SetUp() override { MEMPROXY_REQUIRE(staged_.missing()); }

  SymbolServiceOptions options() {
    SymbolServiceOptions o;
    o.client.worker_command = {staged_.program(MEMPROXY_SYMBOLIZE_WORKER_BIN)};
    return o;
  }

  std::optional<Answer> ask(SymbolService& service, const Handle& handle, const WatchedProcess& p,
                            std::vector<uint64_t> addresses, bool run_loop = true) {
    std::optional<Answer> answer;
    service.symbolize(handle, p, std::move(addresses), [&](std::vector<symbols::Location> l, std::string e) {
      answer = Answer{std::move(l), std::move(e)};
    });
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (run_loop && !answer && std::chrono::steady_clock::now() < deadline) io.run_for(10ms);
    return answer;
  }
};

// mp-heap-sites stopped after printing its traced function's address, and
// the handle the daemon would hold for it.
struct Target {
  std::unique_ptr<testing::Process> process;
  Handle handle;
  WatchedProcess watched;
  uint64_t function = 0;
};

void start(std::vector<std::string> argv, Target* t) {
  t->process = std::make_unique<testing::Process>(argv, std::vector<std::string>{});
  auto line = t->process->read_line();
  ASSERT_TRUE(line && t->process->wait_stopped()) << t->process->finish().describe();
  t->function = std::stoull(line->substr(line->find('=') + 1), nullptr, 0);
  std::string why;
  t->handle = ProcessHandle::of_pid(t->process->pid(), &why);
  ASSERT_TRUE(t->handle) << why;
  t->watched.set_id(t->handle->id());
  t->watched.uid = t->handle->uid();
}

TEST_F(SymbolServiceTest, AddressesOfARunningProcessOnceEach) {
  Target t;
  ASSERT_NO_FATAL_FAILURE(start({MP_HEAP_SITES, "trace"}, &t));
  const Handle& handle = t.handle;
  const WatchedProcess& p = t.watched;
  const uint64_t function = t.function;

  SymbolService service(io, options());
  // A return address just past the function's first instruction is looked
  // up at the instruction itself.
  auto answer = ask(service, handle, p, {function + 1, 0x10, function + 1});
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->error, "");
  ASSERT_EQ(answer->locations.size(), 3u);
  ASSERT_FALSE(answer->locations[0].frames.empty()) << symbols::describe(answer->locations[0]);
  EXPECT_NE(answer->locations[0].frames.back().function.find("traced_calls"), std::string::npos)
      << symbols::describe(answer->locations[0]);
  EXPECT_FALSE(answer->locations[1].mapped);
  EXPECT_EQ(answer->locations[2], answer->locations[0]);
  EXPECT_EQ(service.cached(), 2u);

  // Known addresses: answered before the loop runs again.
  auto again = ask(service, handle, p, {0x10, function + 1}, /*run_loop=*/false);
  ASSERT_TRUE(again) << "a cached answer must not wait for the worker";
  EXPECT_EQ(again->locations[1], answer->locations[0]);

  service.forget(id_of(p));
  EXPECT_EQ(service.cached(), 0u);
}

TEST_F(SymbolServiceTest, AFullQueueAnswersAtOnce) {
  auto o = options();
  o.max_pending = 0;
  SymbolService service(io, o);
  std::string why;
  Handle handle = ProcessHandle::of_pid(::getpid(), &why);
  ASSERT_TRUE(handle) << why;
  WatchedProcess p;
  p.set_id(handle->id());
  auto answer = ask(service, handle, p, {0x1234}, /*run_loop=*/false);
  ASSERT_TRUE(answer);
  EXPECT_NE(answer->error, "");
  EXPECT_TRUE(answer->locations.empty());
}

TEST_F(SymbolServiceTest, AProcessThatEndedIsNotRead) {
  Target t;
  ASSERT_NO_FATAL_FAILURE(start({MP_HEAP_SITES, "trace"}, &t));
  t.process->signal(SIGKILL);
  t.process->finish();

  SymbolService service(io, options());
  auto answer = ask(service, t.handle, t.watched, {t.function + 1});
  ASSERT_TRUE(answer);
  EXPECT_NE(answer->error.find("may not be shown: it is gone"), std::string::npos) << answer->error;
  EXPECT_TRUE(answer->locations.empty());
  EXPECT_EQ(service.cached(), 0u);
}

TEST_F(SymbolServiceTest, AProcessNotWatchedIsNotRead) {
  SymbolService service(io, options());
  WatchedProcess p;
  p.set_id({::getpid(), process::start_ticks(::getpid()).value_or(0)});
  auto answer = ask(service, nullptr, p, {0x1234}, /*run_loop=*/false);
  ASSERT_TRUE(answer);
  EXPECT_NE(answer->error.find("is no longer watched"), std::string::npos) << answer->error;
}

// This process's children running the worker (the name as the kernel
// keeps it: 15 characters).
std::vector<pid_t> worker_children() {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const size_t open = text.find('('), close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close + 4 >= text.size()) continue;
    const std::string comm = text.substr(open + 1, close - open - 1);
    const pid_t ppid = static_cast<pid_t>(std::strtol(text.c_str() + close + 4, nullptr, 10));
    if (ppid == ::getpid() && comm == "memproxyd-symbo") pids.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return pids;
}

TEST_F(SymbolServiceTest, AUserWhoStopsTheirWorkerDelaysOnlyThemselves) {
  MEMPROXY_REQUIRE(testing::missing_unprivileged_runner());
  Target theirs, root;
  ASSERT_NO_FATAL_FAILURE(start(testing::as_nobody({staged_.program(MP_HEAP_SITES), "trace"}), &theirs));
  ASSERT_NE(theirs.handle->uid(), 0u);
  ASSERT_NO_FATAL_FAILURE(start({MP_HEAP_SITES, "trace"}, &root));

  auto o = options();
  o.max_pending_per_user = 4;
  // Long enough that nobody's stuck requests cannot have ended when root's
  // is answered, unless root's waited for them.
  o.timeout = 20s;
  SymbolService service(io, o);

  // Nobody's worker, started by a first request, then stopped by nobody.
  auto first = ask(service, theirs.handle, theirs.watched, {theirs.function + 1});
  ASSERT_TRUE(first);
  ASSERT_EQ(first->error, "");
  const std::vector<pid_t> workers = worker_children();
  ASSERT_EQ(workers.size(), 1u);
  auto stopped = testing::run(testing::as_nobody({"/bin/kill", "-STOP", std::to_string(workers[0])}), {});
  ASSERT_TRUE(stopped.exited && stopped.code == 0) << stopped.describe();

  // Nobody fills their own queue (each address new, so each needs the
  // worker); one more is refused at once.
  size_t theirs_answered = 0;
  for (uint64_t i = 0; i < o.max_pending_per_user; ++i) {
    service.symbolize(theirs.handle, theirs.watched, {theirs.function + 2 + i},
                      [&](std::vector<symbols::Location>, std::string) { ++theirs_answered; });
  }
  auto refused = ask(service, theirs.handle, theirs.watched, {theirs.function + 100}, /*run_loop=*/false);
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->error.find("busy"), std::string::npos) << refused->error;

  // Root's request for root's process is taken and answered while every
  // one of nobody's still waits.
  auto answer = ask(service, root.handle, root.watched, {root.function + 1});
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->error, "");
  ASSERT_EQ(answer->locations.size(), 1u);
  ASSERT_FALSE(answer->locations[0].frames.empty()) << symbols::describe(answer->locations[0]);
  EXPECT_NE(answer->locations[0].frames.back().function.find("traced_calls"), std::string::npos)
      << symbols::describe(answer->locations[0]);
  EXPECT_EQ(theirs_answered, 0u) << "root's request waited for nobody's stuck worker";

  // Nobody's requests drain once their worker is gone (a fresh one each).
  ::kill(workers[0], SIGKILL);
  auto deadline = std::chrono::steady_clock::now() + o.timeout * (o.max_pending_per_user + 1);
  while (theirs_answered < o.max_pending_per_user && std::chrono::steady_clock::now() < deadline) {
    io.run_for(10ms);
  }
  EXPECT_EQ(theirs_answered, o.max_pending_per_user);
}

}  // namespace
}  // namespace memproxy::heapwatch
