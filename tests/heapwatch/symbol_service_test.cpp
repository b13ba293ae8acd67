// The symbol service on the daemon's loop: a running process's return
// addresses come back as locations through the sandboxed worker, in the
// order asked, each distinct address symbolized once (a second request is
// answered from the cache without waiting), forgotten when the process
// ends; a full queue answers at once with an error.
#include "heapwatch/symbol_service.hpp"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>

#include "memproxy/process_info.hpp"
#include "process.hpp"

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

  SymbolServiceOptions options() {
    SymbolServiceOptions o;
    o.client.worker_command = {MEMPROXY_SYMBOLIZE_WORKER_BIN};
    return o;
  }

  std::optional<Answer> ask(SymbolService& service, const WatchedProcess& p, std::vector<uint64_t> addresses,
                            bool run_loop = true) {
    std::optional<Answer> answer;
    service.symbolize(p, std::move(addresses), [&](std::vector<symbols::Location> l, std::string e) {
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
  WatchedProcess p;
  p.id = {target.pid(), process::start_ticks(target.pid()).value_or(0)};
  p.uid = 0;

  SymbolService service(io, options());
  // A return address just past the function's first instruction is looked
  // up at the instruction itself.
  auto answer = ask(service, p, {function + 1, 0x10, function + 1});
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
  auto again = ask(service, p, {0x10, function + 1}, /*run_loop=*/false);
  ASSERT_TRUE(again) << "a cached answer must not wait for the worker";
  EXPECT_EQ(again->locations[1], answer->locations[0]);

  service.forget(p.id);
  EXPECT_EQ(service.cached(), 0u);
}

TEST_F(SymbolServiceTest, AFullQueueAnswersAtOnce) {
  auto o = options();
  o.max_pending = 0;
  SymbolService service(io, o);
  WatchedProcess p;
  p.id = {::getpid(), 0};
  auto answer = ask(service, p, {0x1234}, /*run_loop=*/false);
  ASSERT_TRUE(answer);
  EXPECT_NE(answer->error, "");
  EXPECT_TRUE(answer->locations.empty());
}

}  // namespace
}  // namespace memproxy::heapwatch
