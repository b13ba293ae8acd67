// The symbol service on the daemon's loop: a running process's return
// addresses come back as locations through the sandboxed worker, in the
// order asked, each distinct address symbolized once (a second request is
// answered from the cache without waiting), forgotten when the process
// ends; a full queue answers at once with an error; a process that ended is
// not read at all.
#include "heapwatch/symbol_service.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <csignal>
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

TEST_F(SymbolServiceTest, AddressesOfARunningProcessOnceEach) {
  testing::Process target({MP_HEAP_SITES, "trace"}, {});
  auto line = target.read_line();
  ASSERT_TRUE(line && target.wait_stopped()) << target.finish().describe();
  const uint64_t function = std::stoull(line->substr(line->find('=') + 1), nullptr, 0);
  std::string why;
  Handle handle = ProcessHandle::of_pid(target.pid(), &why);
  ASSERT_TRUE(handle) << why;
  WatchedProcess p;
  p.id = handle->id();
  p.uid = handle->uid();

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

  service.forget(p.id);
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
  p.id = handle->id();
  auto answer = ask(service, handle, p, {0x1234}, /*run_loop=*/false);
  ASSERT_TRUE(answer);
  EXPECT_NE(answer->error, "");
  EXPECT_TRUE(answer->locations.empty());
}

TEST_F(SymbolServiceTest, AProcessThatEndedIsNotRead) {
  testing::Process target({MP_HEAP_SITES, "trace"}, {});
  auto line = target.read_line();
  ASSERT_TRUE(line && target.wait_stopped()) << target.finish().describe();
  const uint64_t function = std::stoull(line->substr(line->find('=') + 1), nullptr, 0);
  std::string why;
  Handle handle = ProcessHandle::of_pid(target.pid(), &why);
  ASSERT_TRUE(handle) << why;
  WatchedProcess p;
  p.id = handle->id();
  target.signal(SIGKILL);
  target.finish();

  SymbolService service(io, options());
  auto answer = ask(service, handle, p, {function + 1});
  ASSERT_TRUE(answer);
  EXPECT_NE(answer->error.find("may not be shown: it is gone"), std::string::npos) << answer->error;
  EXPECT_TRUE(answer->locations.empty());
  EXPECT_EQ(service.cached(), 0u);
}

TEST_F(SymbolServiceTest, AProcessNotWatchedIsNotRead) {
  SymbolService service(io, options());
  WatchedProcess p;
  p.id = {::getpid(), process::start_ticks(::getpid()).value_or(0)};
  auto answer = ask(service, nullptr, p, {0x1234}, /*run_loop=*/false);
  ASSERT_TRUE(answer);
  EXPECT_NE(answer->error.find("is no longer watched"), std::string::npos) << answer->error;
}

}  // namespace
}  // namespace memproxy::heapwatch
