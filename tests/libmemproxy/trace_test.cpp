// The trace ring: switched on from outside, as the daemon does, a monitored
// process writes every call of the family, in order, with its size,
// pointers, result and the program's own return address; a size filter
// leaves the small calls out; a full ring drops and counts records and the
// program goes on; off, nothing is written.
#include <gtest/gtest.h>

#include <cstdio>

#include <signal.h>
#include <time.h>

#include "harness.hpp"
#include "memproxy/allocator_family.hpp"
#include "memproxy/heap_reader.hpp"

namespace mptest {
namespace {

using memproxy::heap::MappedAccount;
using memproxy::heap::TraceRecord;
using memproxy::testing::Process;
namespace family = memproxy::family;

// A lease no test outlives.
constexpr int64_t kLongLease = int64_t{3600} * 1000000000;

int64_t now_ns() {
  timespec t{};
  clock_gettime(CLOCK_REALTIME, &t);
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

struct Expected {
  family::Member member;
  std::string pointer;  // the key of the printed pointer the call took, "" for none, "malloc" for
                        // malloc(1000)'s block, "?" for one the test cannot know
  uint64_t size;
  std::string result;   // the key of the printed pointer it returned, "" for none to check,
                        // "null" for a failed call's
};

class Trace : public RunsArch {
 protected:
  std::string needs() const override { return a.missing(backend("jemalloc")); }
  TempDir dir;
  int pid_ = 0;  // the traced process: its only thread

  // The traced program's backend: jemalloc (by its thread counters) unless
  // a test names another, "system" for the system allocator under a
  // preloaded jemalloc (both by block sizes).
  std::string backend_name = "jemalloc";

  std::vector<std::string> env() { return monitored_env(a, dir, backend_name, "mp-heap-sites"); }

  // Runs the trace mode with the ring switched on (above `min_size`) between
  // its two stops; returns the records drained and the pointers it printed.
  std::vector<TraceRecord> traced(uint64_t min_size, std::map<std::string, uint64_t>* printed,
                                  std::map<std::string, uint64_t>* functions, int64_t* started) {
    Process p({a.heap_sites, "trace"}, env());
    auto where = p.read_line();
    EXPECT_TRUE(where && p.wait_stopped()) << p.finish().describe();
    if (!where) return {};
    *functions = numbers_of_line(*where);
    pid_ = p.pid();
    std::string why;
    MappedAccount account = MappedAccount::of_process(p.pid(), &why);
    EXPECT_TRUE(account) << why;
    if (!account) return {};
    auto& ring = account.trace();
    EXPECT_EQ(__atomic_load_n(&ring.head, __ATOMIC_ACQUIRE), 0u) << "records written while the ring was off";
    ring.min_size = min_size;
    memproxy::heap::hold_trace_lease(ring, kLongLease, account.event_slots());
    *started = now_ns();
    p.resume();
    auto pointers = p.read_line();
    EXPECT_TRUE(pointers && p.wait_stopped()) << p.finish().describe();
    if (pointers) *printed = numbers_of_line(*pointers);
    __atomic_store_n(&ring.on, 0, __ATOMIC_RELEASE);
    std::vector<TraceRecord> records;
    memproxy::heap::drain_trace(ring, &records, memproxy::heap::kTraceCapacity);
    EXPECT_EQ(ring.dropped, 0u);
    p.resume();
    auto outcome = p.finish();
    EXPECT_TRUE(outcome.ok()) << outcome.describe();
    EXPECT_EQ(ring.head, ring.tail) << "records written after the ring was switched off";
    return records;
  }

  // What traced_calls' failed calloc(SIZE_MAX / 2, 3) asks for.
  uint64_t too_much() const { return a.name == "64" ? UINT64_MAX : uint64_t{UINT32_MAX / 2} * 3; }

  // Every call of traced_calls, in order, each once.
  void expect_every_call() {
    std::map<std::string, uint64_t> printed, functions;
    int64_t started = 0;
    auto records = traced(0, &printed, &functions, &started);
    expect_records(records,
                   {{family::k_malloc, "", 1000, ""},
                    {family::k_calloc, "", 1000, "q"},
                    {family::k_realloc, "malloc", 5000, "p"},
                    {family::k_free, "q", 0, ""},
                    {family::k_calloc, "", too_much(), "null"},
                    {family::k_posix_memalign, "", 3000, "r"},
                    {family::k_free, "r", 0, ""},
                    {family::k_op_new_nothrow, "", 2000, "s"},
                    {family::k_op_delete, "s", 0, ""},
                    {family::k_op_new, "", 1500, "t"},
                    {family::k_op_delete_sized, "t", 1500, ""},
                    {family::k_free, "p", 0, ""}},
                   printed, functions, started);
  }

  void expect_records(const std::vector<TraceRecord>& records, const std::vector<Expected>& expected,
                      const std::map<std::string, uint64_t>& printed, const std::map<std::string, uint64_t>& functions,
                      int64_t started) {
    // The printf between the calls and the second stop allocates nothing
    // (stdout's buffer exists by then): every record is one of the calls.
    ASSERT_EQ(records.size(), expected.size());
    uint64_t intermediate = 0;  // malloc(1000)'s block, realloc's argument
    for (size_t i = 0; i < expected.size(); ++i) {
      const TraceRecord& r = records[i];
      const Expected& e = expected[i];
      SCOPED_TRACE("record " + std::to_string(i) + ": " + family::member_name(r.member));
      EXPECT_EQ(r.member, e.member) << "expected " << family::member_name(e.member);
      EXPECT_EQ(r.size, e.size);
      EXPECT_EQ(function_of(r.caller, functions), "traced_calls") << std::hex << r.caller;
      EXPECT_GE(r.unix_ns, started);
      EXPECT_LE(r.unix_ns, now_ns());
      if (i > 0) {
        EXPECT_GE(r.unix_ns, records[i - 1].unix_ns);
      }
      if (e.member == family::k_malloc) intermediate = r.result;
      EXPECT_EQ(r.thread, static_cast<uint32_t>(pid_)) << "the traced thread";
      if (e.pointer == "malloc") {
        EXPECT_EQ(r.pointer, intermediate);
      } else if (e.pointer == "?") {
        EXPECT_NE(r.pointer, 0u);
      } else if (!e.pointer.empty()) {
        EXPECT_EQ(r.pointer, printed.at(e.pointer));
      }
      if (e.result == "null") {
        EXPECT_EQ(r.result, 0u);
      } else if (!e.result.empty()) {
        EXPECT_EQ(r.result, printed.at(e.result));
      }
      if (e.member == family::k_malloc) {
        EXPECT_NE(r.result, 0u);
      }
    }
  }
};

// A failed calloc that asks for more bytes than 64 bits hold says so with
// UINT64_MAX (a 32-bit program's product fits), and is traced like any other:
// by backend counters its bytes asked are counted down to the thread's next
// event, where the ring is looked at, which a request of 2^63 bytes or more
// must reach too.
TEST_P(Trace, EveryCallInOrderWithTheProgramsReturnAddress) { expect_every_call(); }

// By block sizes the ring's switch is read by the counting slots
// themselves: the system allocator's calls (glibc's chunks read in place)
// and mimalloc's, whose small allocations are otherwise counted before
// their call, from their size class, are traced the same.
TEST_P(Trace, EveryCallInOrderUnderTheSystemAllocator) {
  backend_name = "system";
  expect_every_call();
}

TEST_P(Trace, EveryCallInOrderUnderMimalloc) {
  MEMPROXY_REQUIRE(a.missing(backend("mimalloc")));
  backend_name = "mimalloc";
  expect_every_call();
}

TEST_P(Trace, ASizeFilterLeavesSmallerCallsOut) {
  std::map<std::string, uint64_t> printed, functions;
  int64_t started = 0;
  auto records = traced(2500, &printed, &functions, &started);
  expect_records(records,
                 {{family::k_realloc, "?", 5000, "p"},
                  {family::k_calloc, "", too_much(), "null"},
                  {family::k_posix_memalign, "", 3000, "r"}},
                 printed, functions, started);
}

// Nobody drains: the ring fills, the rest is dropped and counted, and the
// program never waits for a reader.
TEST_P(Trace, AFullRingDropsAndCountsAndNeverBlocks) {
  constexpr uint64_t kCalls = 3 * memproxy::heap::kTraceCapacity;
  Process p({a.heap_sites, "flood", std::to_string(kCalls)}, env());
  ASSERT_TRUE(p.read_line() && p.wait_stopped()) << p.finish().describe();
  std::string why;
  MappedAccount account = MappedAccount::of_process(p.pid(), &why);
  ASSERT_TRUE(account) << why;
  auto& ring = account.trace();
  memproxy::heap::hold_trace_lease(ring, kLongLease, account.event_slots());
  p.resume();
  ASSERT_TRUE(p.read_line() && p.wait_stopped()) << p.finish().describe();
  std::vector<TraceRecord> records;
  memproxy::heap::drain_trace(ring, &records, 2 * memproxy::heap::kTraceCapacity);
  EXPECT_EQ(records.size(), memproxy::heap::kTraceCapacity);
  EXPECT_EQ(records.size() + ring.dropped, kCalls);
  for (size_t i = 0; i < records.size(); ++i) {
    ASSERT_EQ(records[i].member, family::k_malloc) << i;
    ASSERT_EQ(records[i].size, 8u) << i;
  }
  p.signal(SIGKILL);
}

// A ring switched on without a lease (or one that lapsed: its daemon
// died) goes off at the first position the writers check the clock at,
// and the calls after it are not written.
TEST_P(Trace, ALapsedLeaseSwitchesTheRingOff) {
  constexpr uint64_t kCalls = 3 * memproxy::heap::kTraceCapacity;
  Process p({a.heap_sites, "flood", std::to_string(kCalls)}, env());
  ASSERT_TRUE(p.read_line() && p.wait_stopped()) << p.finish().describe();
  std::string why;
  MappedAccount account = MappedAccount::of_process(p.pid(), &why);
  ASSERT_TRUE(account) << why;
  auto& ring = account.trace();
  ring.lease_until_ns = 0;
  __atomic_store_n(&ring.on, 1, __ATOMIC_RELEASE);
  p.resume();
  ASSERT_TRUE(p.read_line() && p.wait_stopped()) << p.finish().describe();
  EXPECT_EQ(__atomic_load_n(&ring.on, __ATOMIC_ACQUIRE), 0u);
  EXPECT_LE(__atomic_load_n(&ring.head, __ATOMIC_ACQUIRE), memproxy::heap::kTraceLeaseCheck);
  EXPECT_EQ(ring.dropped, 0u);
  p.signal(SIGKILL);
}

// A fork child's calls follow its own ring's switch from its first call,
// not its parent's: switched on in the child's account while the
// parent's stays off, the child's ring gets its calls and the parent's
// none.
TEST_P(Trace, AForkChildFollowsItsOwnRingsSwitch) {
  Process p({a.probe, "trace-fork"},
            env_with(a.lib + ":" + a.jemalloc(), make_table(dir, "[monitor]\nmp-probe\nmp-probe32\n")));
  auto child_line = p.read_line();
  ASSERT_TRUE(child_line && p.wait_stopped()) << p.finish().describe();
  int child = 0;
  ASSERT_EQ(std::sscanf(child_line->c_str(), "child=%d", &child), 1) << *child_line;
  std::string why;
  MappedAccount parent_account = MappedAccount::of_process(p.pid(), &why);
  ASSERT_TRUE(parent_account) << why;
  MappedAccount child_account = MappedAccount::of_process(child, &why);
  ASSERT_TRUE(child_account) << why;
  auto& ring = child_account.trace();
  memproxy::heap::hold_trace_lease(ring, kLongLease, child_account.event_slots());
  kill(child, SIGCONT);
  p.resume();
  auto done = p.read_line();
  ASSERT_TRUE(done && p.wait_stopped()) << p.finish().describe();
  std::vector<TraceRecord> records;
  memproxy::heap::drain_trace(ring, &records, memproxy::heap::kTraceCapacity);
  int mallocs = 0, frees = 0;
  for (const TraceRecord& r : records) {
    mallocs += r.member == family::k_malloc && r.size == 64;
    frees += r.member == family::k_free;
  }
  EXPECT_EQ(mallocs, 100);
  EXPECT_EQ(frees, 100);
  EXPECT_EQ(__atomic_load_n(&parent_account.trace().head, __ATOMIC_ACQUIRE), 0u);
  p.resume();
  auto outcome = p.finish();
  EXPECT_TRUE(outcome.ok()) << outcome.describe();
}

INSTANTIATE_TEST_SUITE_P(Both, Trace, testing::ValuesIn(arches()), arch_name);

}  // namespace
}  // namespace mptest
