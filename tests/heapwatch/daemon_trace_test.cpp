// `memproxyctl trace` with the real daemon and a real monitored program
// (mp-heap-sites): the program's known sequence of calls comes out in
// order, with the sizes and pointers it made and its caller named as
// traced_calls at the source line of each call; a size filter leaves the
// smaller calls out; a flood fills the ring, is counted as dropped, and
// the program never waits; a second trace of the same process is refused;
// another user cannot trace it; Ctrl-C, the process ending and the daemon
// stopping each end a trace with its summary saying so; after every trace,
// and after a daemon died mid-trace and a new one started, the ring is off;
// a daemon SIGKILLed mid-trace leaves a ring that goes off by itself once
// its lease lapses.
#include <gtest/gtest.h>

#include <time.h>

#include <cerrno>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "capability.hpp"
#include "e2e_support.hpp"
#include "memproxy/heap_reader.hpp"

namespace heapwatch_e2e {
namespace {

using memproxy::heap::MappedAccount;

// The pointers of a "name=0x..." line.
std::map<std::string, uint64_t> numbers_of_line(const std::string& line) {
  std::map<std::string, uint64_t> out;
  std::istringstream words(line);
  for (std::string word; words >> word;) {
    auto eq = word.find('=');
    if (eq != std::string::npos) out[word.substr(0, eq)] = std::stoull(word.substr(eq + 1), nullptr, 0);
  }
  return out;
}

// The line of heap_sites.cpp where traced_calls() makes `call`.
unsigned source_line_of(const std::string& call) {
  std::ifstream in(MP_HEAP_SITES_SOURCE);
  std::string text;
  bool inside = false;
  for (unsigned n = 1; std::getline(in, text); ++n) {
    if (text.find("void traced_calls()") != std::string::npos) inside = true;
    if (inside && text.find(call) != std::string::npos) return n;
    if (inside && text == "}") break;
  }
  return 0;
}

class DaemonTraceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MEMPROXY_REQUIRE(staged_.missing());
    daemon_.emplace(dir_, std::vector<std::string>{"--no-history", "--symbolizer", worker(),
                                                   "--trace-drain-interval", drain_interval_ms()},
                    std::vector<std::string>{"mp-heap-sites"});
    ASSERT_TRUE(daemon_->ready()) << daemon_->log();
  }
  virtual const char* drain_interval_ms() const { return "10"; }
  // The daemon runs the worker as nobody (mp-heap-sites is root's): from its staged copy.
  std::string worker() { return staged_.program(MEMPROXY_SYMBOLIZE_WORKER_BIN); }

  // mp-heap-sites in `mode`, stopped at its first stop, watched by the daemon.
  std::unique_ptr<Process> start_program(const std::vector<std::string>& mode) {
    std::vector<std::string> argv{MP_HEAP_SITES};
    argv.insert(argv.end(), mode.begin(), mode.end());
    auto p = std::make_unique<Process>(argv, std::vector<std::string>{std::string("LD_PRELOAD=") + MEMPROXY_LIB,
                                                                      "MEMPROXY_TABLE=" + daemon_->table()});
    first_line_ = p->read_line();
    EXPECT_TRUE(first_line_ && p->wait_stopped()) << p->finish().describe();
    const std::string watching = "watching the heap of pid " + std::to_string(p->pid());
    EXPECT_TRUE(wait_until([&] { return daemon_->log().find(watching) != std::string::npos; })) << daemon_->log();
    return p;
  }

  // memproxyctl trace, running; its first line says the ring is on.
  std::unique_ptr<Process> start_trace(pid_t pid, std::vector<std::string> extra) {
    std::vector<std::string> argv{MEMPROXYCTL_BIN, "-t", daemon_->table(), "trace", std::to_string(pid)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto t = std::make_unique<Process>(argv, std::vector<std::string>{"COLUMNS=100"});
    auto first = t->read_line(kPatience);
    EXPECT_TRUE(first) << t->finish().describe();
    return t;
  }

  bool ring_on(pid_t pid) {
    std::string why;
    MappedAccount account = MappedAccount::of_process(pid, &why);
    EXPECT_TRUE(account) << why;
    return account && __atomic_load_n(&account.trace().on, __ATOMIC_ACQUIRE) != 0;
  }

  memproxy::testing::TempDir dir_{0755};  // another user reaches the query socket
  memproxy::testing::StagedForOtherUser staged_;  // the worker, and memproxyctl as nobody
  std::optional<Daemon> daemon_;
  std::optional<std::string> first_line_;
};

TEST_F(DaemonTraceTest, TheKnownSequenceInOrderWithItsCallerSymbolized) {
  auto program = start_program({"trace"});
  ASSERT_TRUE(first_line_);
  auto trace = start_trace(program->pid(), {"--seconds", "3", "--json"});
  EXPECT_TRUE(ring_on(program->pid()));
  program->resume();
  auto pointers_line = program->read_line();
  ASSERT_TRUE(pointers_line && program->wait_stopped()) << program->finish().describe();
  auto printed = numbers_of_line(*pointers_line);
  Outcome traced = trace->finish(kPatience);
  ASSERT_TRUE(traced.ok()) << traced.describe();

  std::vector<nlohmann::json> calls;
  std::optional<nlohmann::json> summary;
  std::istringstream lines(traced.out);
  for (std::string line; std::getline(lines, line);) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    if (j.contains("op")) calls.push_back(j);
    if (j.contains("summary")) summary = j["summary"];
  }
  struct Expected {
    const char* op;
    uint64_t size;
    const char* pointer;  // the printed pointer the call took, "" none, "m" malloc(1000)'s result
    const char* result;   // the printed pointer it returned, "" none
    const char* source;   // the call as the source writes it
  };
  const std::vector<Expected> expected{
      {"malloc", 1000, "", "", "malloc(1000)"},
      {"calloc", 1000, "", "q", "calloc(10, 100)"},
      {"realloc", 5000, "m", "p", "realloc(p, 5000)"},
      {"free", 0, "q", "", "free(q)"},
      {"calloc", UINT64_MAX, "", "", "calloc(half, 3)"},  // fails: asks for more than 64 bits hold
      {"posix_memalign", 3000, "", "r", "posix_memalign(&r, 64, 3000)"},
      {"free", 0, "r", "", "free(r)"},
      {"operator new(size_t n, const std::nothrow_t& tag) noexcept", 2000, "", "s", "operator new(2000, std::nothrow)"},
      {"operator delete(void* p) noexcept", 0, "s", "", "operator delete(s)"},
      {"operator new(size_t n)", 1500, "", "t", "operator new(1500)"},
      {"operator delete(void* p, size_t n) noexcept", 1500, "t", "", "operator delete(t, 1500)"},
      {"free", 0, "p", "", "free(p)"}};
  ASSERT_EQ(calls.size(), expected.size()) << traced.out;
  const uint64_t malloc_result = calls[0]["result"].get<uint64_t>();
  EXPECT_NE(malloc_result, 0u);
  for (size_t i = 0; i < expected.size(); ++i) {
    const nlohmann::json& c = calls[i];
    const Expected& e = expected[i];
    SCOPED_TRACE("call " + std::to_string(i) + ": " + c.dump());
    EXPECT_EQ(c["op"], e.op);
    EXPECT_EQ(c["size"].get<uint64_t>(), e.size);
    EXPECT_EQ(c["tid"].get<pid_t>(), program->pid());
    const uint64_t pointer = c["pointer"].get<uint64_t>();
    if (std::string(e.pointer) == "m") {
      EXPECT_EQ(pointer, malloc_result);
    } else if (*e.pointer != '\0') {
      EXPECT_EQ(pointer, printed.at(e.pointer));
    } else {
      EXPECT_EQ(pointer, 0u);
    }
    if (*e.result != '\0') {
      EXPECT_EQ(c["result"].get<uint64_t>(), printed.at(e.result));
    }
    if (i > 0) {
      EXPECT_GE(c["unix_ns"].get<int64_t>(), calls[i - 1]["unix_ns"].get<int64_t>());
    }
    const nlohmann::json& frames = c["caller"]["frames"];
    ASSERT_FALSE(frames.empty()) << "the caller is symbolized";
    const nlohmann::json& innermost = frames[0];
    EXPECT_NE(innermost["function"].get<std::string>().find("traced_calls"), std::string::npos);
    const std::string file = innermost["file"].get<std::string>();
    EXPECT_EQ(file.substr(file.size() >= 14 ? file.size() - 14 : 0), "heap_sites.cpp");
    EXPECT_EQ(innermost["line"].get<unsigned>(), source_line_of(e.source));
  }
  ASSERT_TRUE(summary) << traced.out;
  EXPECT_EQ((*summary)["records"], expected.size());
  EXPECT_EQ((*summary)["dropped"], 0);
  EXPECT_EQ((*summary)["reason"], "time is up");
  EXPECT_FALSE(ring_on(program->pid())) << "the ring is off after the trace";
  program->resume();
  EXPECT_TRUE(program->finish().ok());
}

TEST_F(DaemonTraceTest, AFilterLeavesSmallerCallsOut) {
  auto program = start_program({"trace"});
  auto trace = start_trace(program->pid(), {"--seconds", "2", "--filter", "size>=2500"});
  program->resume();
  ASSERT_TRUE(program->read_line() && program->wait_stopped()) << program->finish().describe();
  Outcome traced = trace->finish(kPatience);
  ASSERT_TRUE(traced.ok()) << traced.describe();
  std::vector<std::string> calls;
  std::istringstream lines(traced.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("traced_calls") != std::string::npos) calls.push_back(line);
  }
  ASSERT_EQ(calls.size(), 3u) << traced.out;
  EXPECT_NE(calls[0].find("realloc"), std::string::npos) << calls[0];
  EXPECT_NE(calls[0].find(" 5000 "), std::string::npos) << calls[0];
  EXPECT_NE(calls[0].find("heap_sites.cpp:" + std::to_string(source_line_of("realloc(p, 5000)"))), std::string::npos)
      << calls[0];
  EXPECT_NE(calls[1].find("calloc"), std::string::npos) << calls[1];
  EXPECT_NE(calls[2].find("posix_memalign"), std::string::npos) << calls[2];
  EXPECT_NE(calls[2].find(" 3000 "), std::string::npos) << calls[2];
  EXPECT_NE(traced.out.find("3 calls traced, 0 dropped"), std::string::npos) << traced.out;
  EXPECT_FALSE(ring_on(program->pid()));
}

TEST_F(DaemonTraceTest, ASecondTraceIsRefusedAndCtrlCEndsTheFirstWithItsSummary) {
  auto program = start_program({"trace"});
  auto first = start_trace(program->pid(), {"--seconds", "600"});
  Outcome second = memproxyctl(daemon_->table(), {"trace", std::to_string(program->pid()), "--seconds", "1"});
  EXPECT_EQ(second.code, 4) << second.describe();
  EXPECT_NE(second.err.find("being traced already"), std::string::npos) << second.describe();
  EXPECT_TRUE(ring_on(program->pid())) << "the first trace goes on";

  first->signal(SIGINT);
  Outcome ended = first->finish(kPatience);
  EXPECT_TRUE(ended.ok()) << ended.describe();
  EXPECT_NE(ended.out.find("ended: the client closed the connection"), std::string::npos) << ended.describe();
  EXPECT_FALSE(ring_on(program->pid())) << "Ctrl-C switched the ring off";
  // The process can be traced again at once.
  auto again = start_trace(program->pid(), {"--seconds", "1"});
  EXPECT_TRUE(again->finish(kPatience).ok());
}

TEST_F(DaemonTraceTest, AnotherUserCannotTrace) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_unprivileged_runner());
  auto program = start_program({"trace"});
  Outcome stranger =
      memproxyctl_as_nobody(staged_, daemon_->table(), {"trace", std::to_string(program->pid()), "--seconds", "1"});
  EXPECT_EQ(stranger.code, 4) << stranger.describe();
  EXPECT_NE(stranger.err.find("no watched process has pid " + std::to_string(program->pid())), std::string::npos)
      << stranger.describe();
  EXPECT_FALSE(ring_on(program->pid()));
}

TEST_F(DaemonTraceTest, ADaemonThatDiedMidTraceLeavesTheRingForTheNextToSwitchOff) {
  auto program = start_program({"trace"});
  auto trace = start_trace(program->pid(), {"--seconds", "600"});
  ASSERT_TRUE(ring_on(program->pid()));
  daemon_.reset();  // its process is killed with the Process (SIGKILL): no cleanup
  EXPECT_TRUE(ring_on(program->pid())) << "nothing switched it off";
  trace->finish(kPatience);
  daemon_.emplace(dir_, std::vector<std::string>{"--no-history", "--symbolizer", worker()},
                  std::vector<std::string>{"mp-heap-sites"});
  ASSERT_TRUE(daemon_->ready()) << daemon_->log();
  EXPECT_TRUE(wait_until([&] { return !ring_on(program->pid()); })) << daemon_->log();
}

// The daemon SIGKILLed mid-trace renews no lease: once the last one it
// wrote lapses, the program's own writers switch the ring off, within
// kTraceLeaseCheck calls, and what the program calls after is not written.
TEST_F(DaemonTraceTest, ATraceDiesWithItsDaemonWhenTheLeaseLapses) {
  constexpr uint64_t kCalls = memproxy::heap::kTraceCapacity + 2 * memproxy::heap::kTraceLeaseCheck;
  auto program = start_program({"flood", std::to_string(kCalls)});
  auto trace = start_trace(program->pid(), {"--seconds", "600"});
  ASSERT_TRUE(ring_on(program->pid()));
  daemon_.reset();  // SIGKILL: nothing switches the ring off
  trace->finish(kPatience);
  std::string why;
  MappedAccount account = MappedAccount::of_process(program->pid(), &why);
  ASSERT_TRUE(account) << why;
  auto& ring = account.trace();
  ASSERT_EQ(__atomic_load_n(&ring.on, __ATOMIC_ACQUIRE), 1u);
  const int64_t lease = __atomic_load_n(&ring.lease_until_ns, __ATOMIC_ACQUIRE);
  // The one wait: until the daemon's last deadline, read from the ring.
  timespec until{static_cast<time_t>(lease / 1000000000), static_cast<long>(lease % 1000000000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr) == EINTR) {
  }
  const uint64_t taken_at_lapse = __atomic_load_n(&ring.head, __ATOMIC_ACQUIRE) + ring.dropped;
  program->resume();
  auto flooded = program->read_line();
  ASSERT_TRUE(flooded && program->wait_stopped()) << program->finish().describe();
  EXPECT_EQ(__atomic_load_n(&ring.on, __ATOMIC_ACQUIRE), 0u) << "the ring went off by itself";
  EXPECT_LE(__atomic_load_n(&ring.head, __ATOMIC_ACQUIRE) + ring.dropped - taken_at_lapse,
            memproxy::heap::kTraceLeaseCheck)
      << "calls written or dropped after the lease lapsed";
}

TEST_F(DaemonTraceTest, TheProcessEndingEndsTheTrace) {
  auto program = start_program({"trace"});
  auto trace = start_trace(program->pid(), {"--seconds", "600"});
  program->resume();
  ASSERT_TRUE(program->read_line() && program->wait_stopped()) << program->finish().describe();
  program->resume();
  EXPECT_TRUE(program->finish().ok());
  Outcome traced = trace->finish(kPatience);
  EXPECT_TRUE(traced.ok()) << traced.describe() << daemon_->log();
  EXPECT_NE(traced.out.find("12 calls traced"), std::string::npos) << traced.out;
  EXPECT_NE(traced.out.find("ended: the process ended"), std::string::npos) << traced.out;
}

TEST_F(DaemonTraceTest, TheDaemonStoppingSwitchesTheRingOffAndSaysSo) {
  auto program = start_program({"trace"});
  auto trace = start_trace(program->pid(), {"--seconds", "600"});
  ASSERT_TRUE(ring_on(program->pid()));
  EXPECT_EQ(daemon_->stop(), 0) << daemon_->log();
  EXPECT_FALSE(ring_on(program->pid()));
  Outcome traced = trace->finish(kPatience);
  EXPECT_TRUE(traced.ok()) << traced.describe();
  EXPECT_NE(traced.out.find("ended: the daemon stopped"), std::string::npos) << traced.describe();
}

// Drained once a second, the ring holds a fraction of the flood.
class DaemonTraceFloodTest : public DaemonTraceTest {
 protected:
  const char* drain_interval_ms() const override { return "1000"; }
};

TEST_F(DaemonTraceFloodTest, AFullRingIsCountedAsDroppedAndTheProgramNeverWaits) {
  constexpr uint64_t kCalls = 8 * memproxy::heap::kTraceCapacity;
  auto program = start_program({"flood", std::to_string(kCalls)});
  auto trace = start_trace(program->pid(), {"--seconds", "3", "--json"});
  program->resume();
  auto flooded = program->read_line();
  ASSERT_TRUE(flooded && program->wait_stopped()) << program->finish().describe();
  EXPECT_EQ(*flooded, "flooded");
  Outcome traced = trace->finish(kPatience);
  ASSERT_TRUE(traced.ok()) << traced.describe();
  auto at = traced.out.rfind("{\"summary\"");
  ASSERT_NE(at, std::string::npos) << traced.out.substr(0, 2000);
  nlohmann::json summary = nlohmann::json::parse(traced.out.substr(at))["summary"];
  EXPECT_GT(summary["dropped"].get<uint64_t>(), 0u) << summary.dump();
  EXPECT_EQ(summary["records"].get<uint64_t>() + summary["dropped"].get<uint64_t>(), kCalls) << summary.dump();
  EXPECT_FALSE(ring_on(program->pid()));
}

}  // namespace
}  // namespace heapwatch_e2e
