// The daemon's trace requests against a ring in memory, a stand-in
// symbolizer and a real socket pair: a trace streams its records in order
// with their callers named, then a summary saying why it ended; only the
// owner or root may trace, once per process at a time; the ring goes off
// whichever way the trace ends (time up, the client closing, the process
// ending, the daemon stopping); a client that does not read costs the
// daemon a bounded amount of memory and is told what it missed.
#include "heapwatch/serve/trace_requests.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/post.hpp>
#include <map>
#include <memory>

#include "memproxy/allocator_family.hpp"
#include "memproxy/trace_query.hpp"

namespace memproxy::heapwatch {
namespace {

using namespace std::chrono_literals;
namespace tq = memproxy::trace_query;

constexpr uint64_t kKnownCaller = 0x401234;
constexpr uint64_t kUnknownCaller = 0x10;
constexpr uid_t kOwner = 1000;

// What libmemproxy's trace::write does.
bool produce(heap::TraceSection& t, uint64_t size, uint64_t caller = kKnownCaller,
             uint16_t member = family::k_malloc) {
  if (__atomic_load_n(&t.on, __ATOMIC_ACQUIRE) == 0 || size < t.min_size) return false;
  uint64_t position = __atomic_load_n(&t.head, __ATOMIC_RELAXED);
  do {
    if (position - __atomic_load_n(&t.tail, __ATOMIC_ACQUIRE) >= heap::kTraceCapacity) {
      __atomic_fetch_add(&t.dropped, 1, __ATOMIC_RELAXED);
      return false;
    }
  } while (!__atomic_compare_exchange_n(&t.head, &position, position + 1, true, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
  heap::TraceRecord& r = t.records[position % heap::kTraceCapacity];
  r.size = size;
  r.caller = caller;
  r.member = member;
  r.thread = 77;
  r.result = 0x1000 + size;
  __atomic_store_n(&r.sequence, position + 1, __ATOMIC_RELEASE);
  return true;
}

// The client's end of a connection: reads whatever has come, without waiting.
class ClientEnd {
 public:
  explicit ClientEnd(int fd) : fd_(fd) { ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK); }
  ~ClientEnd() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  void shut_down_writing() { ::shutdown(fd_, SHUT_WR); }
  // The complete lines read so far; `eof` once the daemon closed.
  void read() {
    char buffer[65536];
    for (;;) {
      ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n > 0) {
        partial_.append(buffer, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) eof = true;
      break;
    }
    for (size_t newline; (newline = partial_.find('\n')) != std::string::npos;) {
      auto parsed = tq::parse_line(partial_.substr(0, newline));
      partial_.erase(0, newline + 1);
      ASSERT_TRUE(std::holds_alternative<tq::Line>(parsed)) << std::get<std::string>(parsed);
      lines.push_back(std::get<tq::Line>(parsed));
    }
  }
  std::vector<tq::Line> lines;
  bool eof = false;

  std::vector<tq::Record> records() const {
    std::vector<tq::Record> out;
    for (const tq::Line& l : lines) {
      if (auto* b = std::get_if<tq::Batch>(&l)) out.insert(out.end(), b->records.begin(), b->records.end());
    }
    return out;
  }
  std::optional<tq::Summary> summary() const {
    for (const tq::Line& l : lines) {
      if (auto* s = std::get_if<tq::Summary>(&l)) return *s;
    }
    return std::nullopt;
  }
  std::string refusal() const {
    for (const tq::Line& l : lines) {
      if (auto* r = std::get_if<tq::Refused>(&l)) return r->error;
    }
    return "";
  }

 private:
  int fd_;
  std::string partial_;
};

class TraceRequestsTest : public ::testing::Test {
 protected:
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> busy = boost::asio::make_work_guard(io);
  std::unique_ptr<heap::TraceSection> ring = std::make_unique<heap::TraceSection>();
  WatchedProcess process;
  bool process_gone = false;
  int symbolize_calls = 0;
  TraceRequestLimits limits;
  std::unique_ptr<TraceRequests> traces;

  void SetUp() override {
    process.set_id({4242, 99});
    process.uid = kOwner;
    process.program = "traced";
    limits.stream.drain_interval = 5ms;
    make();
  }

  void make() {
    traces = std::make_unique<TraceRequests>(
        io,
        [this](pid_t pid) -> std::optional<TraceTarget> {
          if (process_gone || pid != process.pid) return std::nullopt;
          return TraceTarget{process, ring.get(), {}};
        },
        [this](const WatchedProcess&, std::vector<uint64_t> addresses,
               std::function<void(std::vector<symbols::Location>, std::string)> done) {
          ++symbolize_calls;
          std::vector<symbols::Location> out;
          for (uint64_t a : addresses) {
            symbols::Location l;
            l.address = a;
            if (a == kKnownCaller) {
              l.mapped = true;
              l.object = "/usr/bin/traced";
              l.offset = 0x1234;
              l.frames.push_back({"traced_calls()", "heap_sites.cpp", 120, 3, false});
            }
            out.push_back(l);
          }
          // Answers come later, as the symbol service's do.
          boost::asio::post(io, [done, out] { done(out, ""); });
        },
        limits);
  }

  // A client that asked `request` as user `peer`.
  std::unique_ptr<ClientEnd> ask(const std::string& request, uid_t peer) {
    TraceRequests::Socket daemon_end(io), client_end(io);
    boost::asio::local::connect_pair(daemon_end, client_end);
    auto client = std::make_unique<ClientEnd>(client_end.release());
    auto parsed = tq::parse_trace_request(request);
    if (auto* why = std::get_if<std::string>(&parsed)) {
      traces->refuse(std::move(daemon_end), *why);
    } else {
      traces->start(std::move(daemon_end), peer, std::get<tq::TraceRequest>(parsed));
    }
    return client;
  }
  std::unique_ptr<ClientEnd> ask(uid_t peer, uint32_t seconds = 1, uint64_t min_size = 0) {
    return ask(tq::trace_request_line({process.pid, seconds, min_size}), peer);
  }

  // Runs the loop, reading as the client does, until `done` (bounded).
  void run_until(ClientEnd& client, const std::function<bool()>& done, std::chrono::seconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io.run_for(2ms);
      client.read();
    }
  }
  void run_to_end(ClientEnd& client) {
    run_until(client, [&] { return client.eof; });
  }
};

TEST_F(TraceRequestsTest, TheRecordsInOrderWithTheirCallersThenTheSummary) {
  auto client = ask(kOwner, 1, 100);
  run_until(*client, [&] { return !client->lines.empty(); });
  ASSERT_FALSE(client->lines.empty());
  auto* started = std::get_if<tq::Started>(&client->lines[0]);
  ASSERT_NE(started, nullptr) << "the first line says what is traced";
  EXPECT_EQ(started->process.pid, process.pid);
  EXPECT_EQ(started->seconds, 1u);
  EXPECT_EQ(ring->on, 1u);
  EXPECT_EQ(ring->min_size, 100u) << "the filter reaches the process";

  for (uint64_t i = 0; i < 50; ++i) produce(*ring, 100 + i, i % 2 ? kKnownCaller : kUnknownCaller);
  io.run_for(20ms);
  for (uint64_t i = 50; i < 100; ++i) produce(*ring, 100 + i, kKnownCaller, family::k_calloc);
  run_to_end(*client);

  std::vector<tq::Record> records = client->records();
  ASSERT_EQ(records.size(), 100u);
  for (uint64_t i = 0; i < 100; ++i) {
    ASSERT_EQ(records[i].size, 100 + i) << i;
    ASSERT_EQ(records[i].op, i < 50 ? "malloc" : "calloc") << i;
    ASSERT_EQ(records[i].tid, 77u);
    ASSERT_EQ(records[i].result, 0x1000 + 100 + i);
  }
  for (const tq::Line& l : client->lines) {
    auto* b = std::get_if<tq::Batch>(&l);
    if (b == nullptr) continue;
    auto callers = tq::callers_by_address(*b);
    for (const tq::Record& r : b->records) {
      ASSERT_EQ(callers.count(r.caller), 1u) << "every record's caller is in its batch";
      const tq::Caller& c = *callers.at(r.caller);
      if (r.caller == kKnownCaller) {
        ASSERT_EQ(c.frames.size(), 1u);
        EXPECT_EQ(c.frames[0].function, "traced_calls()");
        EXPECT_EQ(c.frames[0].file, "heap_sites.cpp");
        EXPECT_EQ(c.frames[0].line, 120u);
        EXPECT_EQ(c.error, "");
      } else {
        EXPECT_TRUE(c.frames.empty());
        EXPECT_NE(c.error, "") << "an address the symbolizer could not place says why";
      }
    }
  }
  auto summary = client->summary();
  ASSERT_TRUE(summary);
  EXPECT_TRUE(std::holds_alternative<tq::Summary>(client->lines.back())) << "the summary comes last";
  EXPECT_EQ(summary->records, 100u);
  EXPECT_EQ(summary->dropped, 0u);
  EXPECT_EQ(summary->undelivered, 0u);
  EXPECT_EQ(summary->reason, tq::reason::kTimeUp);
  EXPECT_EQ(ring->on, 0u);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (traces->running() != 0 && std::chrono::steady_clock::now() < deadline) io.run_for(5ms);
  EXPECT_EQ(traces->running(), 0u);
}

TEST_F(TraceRequestsTest, OnlyTheOwnerOrRootMayTrace) {
  auto stranger = ask(kOwner + 1, 1);
  run_to_end(*stranger);
  EXPECT_EQ(stranger->refusal(), "no watched process has pid 4242");
  EXPECT_EQ(ring->on, 0u);
  auto missing = ask(tq::trace_request_line({999, 1, 0}), 0);
  run_to_end(*missing);
  EXPECT_EQ(missing->refusal(), "no watched process has pid 999") << "the same answer as for a stranger";
  auto root = ask(0, 1);
  run_until(*root, [&] { return !root->lines.empty(); });
  EXPECT_EQ(ring->on, 1u);
}

TEST_F(TraceRequestsTest, ASecondTraceOfTheSameProcessIsRefusedWithTheReason) {
  auto first = ask(kOwner, 5);
  run_until(*first, [&] { return !first->lines.empty(); });
  auto second = ask(0, 5);
  run_to_end(*second);
  EXPECT_NE(second->refusal().find("being traced already"), std::string::npos) << second->refusal();
  EXPECT_EQ(ring->on, 1u) << "the first goes on";
  EXPECT_EQ(traces->running(), 1u);
}

TEST_F(TraceRequestsTest, NoUserButRootRunsMoreThanTheirShare) {
  limits.max_traces_per_user = 0;
  make();
  auto mine = ask(kOwner, 1);
  run_to_end(*mine);
  EXPECT_NE(mine->refusal().find("per-user limit"), std::string::npos) << mine->refusal();
  EXPECT_EQ(ring->on, 0u);
  auto root = ask(0, 1);
  run_until(*root, [&] { return !root->lines.empty(); });
  EXPECT_EQ(ring->on, 1u) << "root is not limited per user";
}

TEST_F(TraceRequestsTest, ABadRequestIsRefusedWithTheReason) {
  auto client = ask(R"({"request":"trace","pid":4242,"seconds":0})", kOwner);
  run_to_end(*client);
  EXPECT_NE(client->refusal().find("seconds"), std::string::npos);
  EXPECT_EQ(ring->on, 0u);
}

TEST_F(TraceRequestsTest, AClientThatShutsDownEndsTheTraceAndStillGetsTheSummary) {
  auto client = ask(kOwner, 3600);
  run_until(*client, [&] { return ring->on == 1; });
  for (int i = 0; i < 10; ++i) produce(*ring, 1);
  client->shut_down_writing();
  run_to_end(*client);
  EXPECT_EQ(ring->on, 0u);
  auto summary = client->summary();
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->reason, tq::reason::kClientClosed);
  EXPECT_EQ(client->records().size(), 10u);
}

TEST_F(TraceRequestsTest, AClientThatGoesAwayEndsTheTrace) {
  auto client = ask(kOwner, 3600);
  run_until(*client, [&] { return ring->on == 1; });
  client->close();
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (traces->running() != 0 && std::chrono::steady_clock::now() < deadline) io.run_for(5ms);
  EXPECT_EQ(traces->running(), 0u);
  EXPECT_EQ(ring->on, 0u);
}

TEST_F(TraceRequestsTest, TheProcessEndingEndsTheTraceAndItsRingIsNotTouchedAfter) {
  auto client = ask(kOwner, 3600);
  run_until(*client, [&] { return ring->on == 1; });
  for (int i = 0; i < 10; ++i) produce(*ring, 1);
  traces->process_ended(id_of(process));
  EXPECT_EQ(ring->on, 0u);
  ring.reset();  // unmapped: a later touch is a use after free (the sanitizer build sees it)
  process_gone = true;
  run_to_end(*client);
  auto summary = client->summary();
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->reason, tq::reason::kProcessEnded);
  EXPECT_EQ(client->records().size(), 10u) << "what was written before the end still goes out";
}

TEST_F(TraceRequestsTest, TheDaemonStoppingSwitchesTheRingOffAndTellsTheClient) {
  auto client = ask(kOwner, 3600);
  run_until(*client, [&] { return !client->lines.empty(); });
  io.run_for(10ms);  // the first line's write has finished: nothing is being written
  traces.reset();
  EXPECT_EQ(ring->on, 0u);
  client->read();
  auto summary = client->summary();
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->reason, tq::reason::kDaemonStopped);
  EXPECT_TRUE(client->eof);
}

TEST_F(TraceRequestsTest, ASlowReaderCostsBoundedMemoryAndIsToldWhatItMissed) {
  limits.stream.max_queued_bytes = 64 * 1024;
  make();
  auto client = ask(kOwner, 1);
  run_until(*client, [&] { return ring->on == 1; });
  // The client reads nothing while the process writes far more than the
  // socket and the daemon's queue hold.
  uint64_t written = 0;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (ring->on == 1 && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 2000; ++i) written += produce(*ring, 4096) ? 1 : 0;
    io.run_for(2ms);
  }
  run_to_end(*client);
  auto summary = client->summary();
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->records, written);
  EXPECT_GT(summary->undelivered, 0u);
  EXPECT_EQ(client->records().size() + summary->undelivered, summary->records) << "each record sent or counted";
}

}  // namespace
}  // namespace memproxy::heapwatch
