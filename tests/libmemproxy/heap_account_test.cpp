// A monitored process accounts its heap: live bytes exact (usable sizes),
// read from outside through its sealed memfd as the daemon reads it; an
// unmonitored one has no account at all.
#include <gtest/gtest.h>
#include <signal.h>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <optional>
#include <thread>

#include "harness.hpp"
#include "memproxy/heap_reader.hpp"

namespace mptest {
namespace {

using memproxy::heap::MappedAccount;
using memproxy::testing::Process;

// Reads the probe's next "held=N ..." line, waits for it to stop there and
// reads its account as the daemon does: the line and the totals.
void at_next_stop(Process& p, std::string* line, memproxy::heap::Totals* totals) {
  auto next = p.read_line();
  ASSERT_TRUE(next.has_value()) << p.finish().describe();
  ASSERT_EQ(next->rfind("held=", 0), 0u) << *next;
  ASSERT_TRUE(p.wait_stopped()) << p.finish().describe();
  std::string why;
  MappedAccount account = MappedAccount::of_process(p.pid(), &why);
  ASSERT_TRUE(account) << why;
  *line = *next;
  *totals = account.totals(p.pid());
}

uint64_t held_of(const std::string& line) { return std::stoull(line.substr(5)); }

class HeapAccount : public RunsArch {
 protected:
  // The usable size the backend gives a request of `bytes` (below 4 KiB):
  // jemalloc's size class (four per doubling), or glibc's chunk (the
  // request and a size field, rounded up to 16 bytes) less its size field.
  size_t size_class(size_t bytes, bool on_jemalloc) const {
    if (on_jemalloc) {
      size_t group = 64;
      while (group * 2 < bytes) group *= 2;
      const size_t step = group / 4;
      return (bytes + step - 1) / step * step;
    }
    const size_t size_field = a.name == "32" ? 4 : 8;
    return ((bytes + size_field + 15) & ~size_t{15}) - size_field;
  }

  std::string needs() const override { return a.missing(backend("jemalloc")); }
  TempDir dir;

  // A table monitoring the probe, which preloads jemalloc: counted by
  // jemalloc's thread counters, or (excluded to the system allocator) by
  // block sizes.
  // The probe's heap-churn: 340 MB through every call that hands out a
  // block in nine threads, freed as it goes. Every byte allocated is
  // counted, and the live bytes and the peak stay within the batching's
  // reach of the few blocks held; with
  // `no_keys`, in a process without a pthread key to spare, where (as it
  // must be checked, or the test would prove nothing) no slot is handed
  // back and the threads share one thread pointer.
  void churn_keeps_the_peak_true(bool by_counters, bool no_keys) {
    auto env = env_counting(by_counters);
    if (no_keys) env.insert(env.end(), {"MP_PROBE_NO_KEYS=1", "MEMPROXY_DEBUG=1"});
    Process p({a.probe, "heap-churn"}, env);
    std::string line;
    memproxy::heap::Totals t;
    ASSERT_NO_FATAL_FAILURE(at_next_stop(p, &line, &t));
    EXPECT_GE(t.calls[memproxy::heap::kCalloc], 9u * 8192);
    EXPECT_GE(t.calls[memproxy::heap::kRealloc], 9u * 8192);
    EXPECT_GE(t.calls[memproxy::heap::kAligned], 9u * 8192);
    EXPECT_GE(t.bytes_allocated, 9u * 8192 * 4 * 1000);
    EXPECT_LE(t.live_bytes, 512u * 1024);
    EXPECT_LE(t.peak_bytes, t.live_bytes + 4 * memproxy::heap::kBatchBytes + 64 * 1024);
    if (no_keys) {
      EXPECT_NE(line.find(" same_tp=1"), std::string::npos) << line;
      EXPECT_EQ(line.find(" keys=0"), std::string::npos) << line;
      std::string why;
      MappedAccount account = MappedAccount::of_process(p.pid(), &why);
      ASSERT_TRUE(account) << why;
      EXPECT_EQ(slots_handed_back(account), 0u) << "memproxy had a key after all";
    }
    p.resume();
    auto outcome = p.finish();
    EXPECT_TRUE(outcome.ok()) << outcome.describe();
    // Without a key, jemalloc's counters are not followed: blocks are sized.
    if (no_keys && by_counters) {
      EXPECT_NE(outcome.err.find(", monitored, block sizes asked"), std::string::npos) << outcome.err;
    }
  }

  static size_t slots_handed_back(const MappedAccount& account) {
    const auto& h = account.header();
    const auto* slots = static_cast<const unsigned char*>(account.data()) + h.header_size;
    size_t n = 0;
    for (uint32_t i = 0; i < h.slot_count; ++i) {
      const auto* s = reinterpret_cast<const memproxy::heap::Slot*>(slots + static_cast<size_t>(i) * h.slot_size);
      if (s->owner == memproxy::heap::kSlotHandedBack) ++n;
    }
    return n;
  }

  // Runs the probe in `mode` to its stop, counted each way (jemalloc's
  // counters, block sizes), has `check` look at the account there, and
  // lets the probe finish.
  template <typename Check>
  void at_its_stop_each_way(const char* mode, Check check) {
    for (const bool by_counters : {true, false}) {
      SCOPED_TRACE(by_counters ? "jemalloc's counters" : "block sizes");
      Process p({a.probe, mode}, env_counting(by_counters));
      std::string line;
      memproxy::heap::Totals t;
      ASSERT_NO_FATAL_FAILURE(at_next_stop(p, &line, &t));
      check(line, t);
      p.resume();
      auto outcome = p.finish();
      EXPECT_TRUE(outcome.ok()) << outcome.describe();
    }
  }

  std::vector<std::string> env_counting(bool by_counters) {
    return monitored_env(a, dir, by_counters ? "jemalloc" : "system", "mp-probe");
  }

  // Runs the probe's heap mode monitored and checks, at each stop, that the
  // account's live bytes are what the program holds, within 1%, plus at most
  // what its runtimes keep: stdio's buffer, and the 73 KiB emergency
  // exception pool libstdc++ (which jemalloc links) allocates at start.
  //
  // The heap mode also prints what the program asked for, which no
  // allocator answers: the live bytes are never below it, and the bytes
  // that freeing half the blocks takes away are exactly that many blocks
  // of the backend's size class for the request (jemalloc's, or glibc's
  // chunk less its size field), with exactly one free call per block and
  // no other call, whatever malloc_usable_size says.
  void expect_live_matches(const std::vector<std::string>& env, const std::vector<std::string>& mode = {},
                           bool on_jemalloc = true) {
    std::vector<std::string> argv{a.probe};
    if (mode.empty()) {
      argv.insert(argv.end(), {"heap", std::to_string(64 << 20), "1000"});
    } else {
      argv.insert(argv.end(), mode.begin(), mode.end());
    }
    const bool threads = !mode.empty();
    Process p(argv, env);
    uint64_t previous_allocations = 0;
    std::optional<memproxy::heap::Totals> previous;
    for (int stop = 0; stop < 3; ++stop) {
      std::string line;
      memproxy::heap::Totals t;
      ASSERT_NO_FATAL_FAILURE(at_next_stop(p, &line, &t));
      const uint64_t held = held_of(line);
      const size_t requested_at = line.find(" requested=");
      ASSERT_EQ(requested_at == std::string::npos, threads) << line;
      EXPECT_GE(t.live_bytes, held) << "stop " << stop;
      EXPECT_LE(t.live_bytes, held + held / 100 + 128 * 1024) << "stop " << stop;
      EXPECT_GE(t.peak_bytes, t.live_bytes);
      EXPECT_GE(t.allocations(), previous_allocations);
      EXPECT_EQ(t.pid, p.pid());
      const uint64_t min_mallocs = threads ? 0 : stop == 0 ? (64u << 20) / 1000 : 0;
      const uint64_t min_frees = threads ? 0 : stop == 1 ? (32u << 20) / 1000 : 0;
      const uint64_t min_peak = threads ? 0 : stop == 2 ? (64u << 20) : 0;
      EXPECT_GE(t.calls[memproxy::heap::kMalloc], min_mallocs);
      EXPECT_GE(t.calls[memproxy::heap::kFree], min_frees);
      EXPECT_GE(t.peak_bytes, min_peak);
      if (!threads) {
        const uint64_t requested = std::stoull(line.substr(requested_at + 11));
        EXPECT_GE(t.live_bytes, requested) << "stop " << stop;
        if (stop > 0) {
          ASSERT_TRUE(previous.has_value());
          const uint64_t blocks = (64u << 20) / 1000;
          const uint64_t freed = stop == 1 ? (blocks + 1) / 2 : blocks / 2 + 1;
          EXPECT_EQ(t.calls[memproxy::heap::kFree] - previous->calls[memproxy::heap::kFree], freed) << "stop " << stop;
          EXPECT_EQ(t.allocations(), previous->allocations()) << "stop " << stop;
          if (stop == 1) {
            EXPECT_EQ(previous->live_bytes - t.live_bytes, freed * size_class(1000, on_jemalloc)) << "stop " << stop;
          }
        }
      }
      previous = t;
      previous_allocations = t.allocations();
      p.resume();
    }
    auto outcome = p.finish();
    EXPECT_TRUE(outcome.ok()) << outcome.describe();
  }
};

TEST_P(HeapAccount, LiveBytesAreWhatTheProgramHoldsOnJemalloc) {
  expect_live_matches(monitored_env(a, dir, "jemalloc", "mp-probe"));
}

TEST_P(HeapAccount, LiveBytesAreWhatTheProgramHoldsOnTheSystemAllocator) {
  expect_live_matches(monitored_env(a, dir, "system", "mp-probe"), {}, false);
}

// Blocks made by threads, freed by others, threads that start by freeing
// and new threads that take over the dead ones' slots: still exact, whether
// the slots follow the backend's thread counters (jemalloc) or size blocks.
TEST_P(HeapAccount, LiveBytesStayExactAcrossThreads) {
  expect_live_matches(monitored_env(a, dir, "jemalloc", "mp-probe"), {"heap-threads"});
  expect_live_matches(monitored_env(a, dir, "system", "mp-probe"), {"heap-threads"});
}

TEST_P(HeapAccount, LiveBytesAreWhatTheProgramHoldsOnMimalloc) {
  const std::string why = a.missing(backend("mimalloc"));
  if (!why.empty()) GTEST_SKIP() << why;
  // mimalloc's class for 1000 bytes is jemalloc's too, 1024.
  expect_live_matches(monitored_env(a, dir, "mimalloc", "mp-probe"));
}

// The decision checks that it reads glibc's chunks right on blocks it
// allocates and frees: none of them may be an mmapped chunk whose free
// raises the program's mmap threshold, so a monitored program's 200,000-byte
// block is mmapped as an unmonitored one's is.
TEST_P(HeapAccount, MonitoringLeavesTheSystemAllocatorsMmapThresholdAlone) {
  for (const std::string& config : {std::string("[exclude]\nmp-probe\nmp-probe32\n"),
                                    std::string("[exclude]\nmp-probe\nmp-probe32\n[monitor]\nmp-probe\nmp-probe32\n")}) {
    SCOPED_TRACE(config);
    Result r = run({a.probe, "mmap-threshold"}, env_with(a.lib + ":" + a.jemalloc(), make_table(dir, config)));
    ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
    EXPECT_NE(r.out.find("mmapped_200k=1 backend=system"), std::string::npos) << r.out;
    EXPECT_EQ(r.err.find("monitored=1") != std::string::npos, config.find("[monitor]") != std::string::npos) << r.err;
  }
}

// Churn through every call that hands out a block, in threads that exit
// one after another and then in the main thread, leaves the peak where
// the heap peaked, give or take the batching (2 x kBatchBytes per thread
// alive at once): whichever way a call is counted (the common path, the
// full path of calloc, realloc and posix_memalign, a thread's exit), the
// batch gets its bytes once. Counting one twice would raise the peak by
// up to the 340 MB the churn goes through.
TEST_P(HeapAccount, ThePeakStaysTrueThroughChurn) {
  for (const bool by_counters : {true, false}) {
    SCOPED_TRACE(by_counters ? "jemalloc's counters" : "block sizes");
    ASSERT_NO_FATAL_FAILURE(churn_keeps_the_peak_true(by_counters, false));
  }
}

// The same churn while a reader switches the trace ring on and off every
// few hundred microseconds, as a daemon tracing it would: each time on, it
// forces the events of every thread's slot (their next call is an event,
// which traces it), and the threads keep their own forced while they see
// the ring on. A forced slot's events still give the batch exactly what
// its thread counted down since the last: a force that lost it (by block
// sizes the due word is kForceBytes lower, not 0) would move the batch,
// and the peak with it, by up to 2^62 bytes, or by a batch each time.
TEST_P(HeapAccount, ThePeakStaysTrueWhileTheRingGoesOnAndOff) {
  namespace heap = memproxy::heap;
  for (const bool by_counters : {true, false}) {
    SCOPED_TRACE(by_counters ? "jemalloc's counters" : "block sizes");
    Process p({a.probe, "heap-churn"}, env_counting(by_counters));
    std::atomic<bool> done{false};
    uint64_t traced = 0;
    std::thread reader([&] {
      std::string why;
      MappedAccount account;
      while (!done && !(account = MappedAccount::of_process(p.pid(), &why))) ::usleep(100);
      if (!account) return;
      heap::TraceSection& ring = account.trace();
      std::vector<heap::TraceRecord> records;
      while (!done) {
        heap::hold_trace_lease(ring, int64_t{3600} * 1000000000, account.event_slots());
        ::usleep(300);
        __atomic_store_n(&ring.on, 0, __ATOMIC_RELEASE);
        records.clear();
        heap::drain_trace(ring, &records, heap::kTraceCapacity);
        traced += records.size();
        ::usleep(300);
      }
      traced += __atomic_load_n(&ring.dropped, __ATOMIC_RELAXED);
    });
    std::string line;
    heap::Totals t;
    at_next_stop(p, &line, &t);
    done = true;
    reader.join();
    if (HasFatalFailure()) return;
    EXPECT_GE(traced, 1000u) << "the ring was on for too few of the churn's calls";
    EXPECT_GE(t.bytes_allocated, 9u * 8192 * 4 * 1000);
    EXPECT_LE(t.live_bytes, 512u * 1024);
    EXPECT_LE(t.peak_bytes, t.live_bytes + 4 * heap::kBatchBytes + 64 * 1024);
    p.resume();
    auto outcome = p.finish();
    EXPECT_TRUE(outcome.ok()) << outcome.describe();
  }
}

// The same churn in a process that used up its pthread keys before
// memproxy's decision, which then has no key whose destructor hands a
// thread's slot back: each new thread, on the last one's stack (the same
// thread pointer), takes the dead thread's slot over as it stands. Such a
// process sizes its blocks even on jemalloc: what a dead thread's
// counters said since its last event could not be folded in (taken as it
// last saw them, the frees it made since were lost: 1.18 MB live at the
// end instead of under 512 KiB).
TEST_P(HeapAccount, ANewThreadOnADeadThreadsStackCountsTrueWithoutAnExitKey) {
  for (const bool by_counters : {true, false}) {
    SCOPED_TRACE(by_counters ? "jemalloc's counters" : "block sizes");
    ASSERT_NO_FATAL_FAILURE(churn_keeps_the_peak_true(by_counters, true));
  }
}

// One thread allocates 64 MiB, 1000 bytes at a time, and hands each block
// to a second thread that only frees, both alive throughout: the peak
// stays within the batching's reach (a batch each way per thread) of the
// 256 KiB the ring holds. A free-only thread whose frees reached the
// balance only when it exits would have the peak at 64 MiB.
TEST_P(HeapAccount, ThePeakStaysTrueWhenOneThreadAllocatesAndAnotherFrees) {
  at_its_stop_each_way("heap-handoff", [](const std::string&, const memproxy::heap::Totals& t) {
    EXPECT_GE(t.calls[memproxy::heap::kMalloc], 64u << 10);
    EXPECT_GE(t.calls[memproxy::heap::kFree], 64u << 10);
    EXPECT_LE(t.live_bytes, 512u * 1024);
    EXPECT_LE(t.peak_bytes, 258u * 1024 + 4 * memproxy::heap::kBatchBytes + 64 * 1024);
  });
}

// Six waves of 100 threads, 600 in all, more than the account's 256 slots:
// each thread's slot is handed back when it exits and taken by a later
// thread, so no call is counted in the overflow slot, and the blocks the
// dead threads left behind are still counted.
TEST_P(HeapAccount, SlotsOfThreadsThatExitedServeNewThreads) {
  at_its_stop_each_way("thread-waves", [](const std::string& line, const memproxy::heap::Totals& t) {
    const uint64_t held = held_of(line);
    EXPECT_EQ(t.overflow_calls, 0u);
    EXPECT_GE(t.live_bytes, held);
    EXPECT_LE(t.live_bytes, held + held / 100 + 128 * 1024);
    EXPECT_GE(t.calls[memproxy::heap::kMalloc], 600u * 101);
  });
}

// More threads alive at once than the account has slots: those past them
// count in the overflow slot, with atomic adds, and never take a counting
// slot's common path (by backend counters a free's finds a gate that sends
// it on), yet every call and byte is counted.
TEST_P(HeapAccount, ThreadsBeyondTheSlotsCountEveryCallInTheOverflowSlot) {
  at_its_stop_each_way("thread-crowd", [](const std::string& line, const memproxy::heap::Totals& t) {
    const uint64_t held = held_of(line);
    EXPECT_GT(t.overflow_calls, 0u);
    EXPECT_GE(t.live_bytes, held);
    // glibc keeps what it allocated for each thread (its TLS vector) with the
    // thread's cached stack: about 430 bytes a thread on x86-64, whatever the
    // backend. Frees that went uncounted would leave 13 MB.
    EXPECT_LE(t.live_bytes, held + held / 100 + 128 * 1024 + 300 * 1024);
    EXPECT_GE(t.calls[memproxy::heap::kMalloc], 300u * 101);
    EXPECT_GE(t.calls[memproxy::heap::kFree], 300u * 100);
  });
}

// A fork child counts in an account of its own from its first call (the
// forking thread's slot is found anew), and none of its calls reach the
// parent's: each account holds what its process allocated.
TEST_P(HeapAccount, AForkChildCountsInItsOwnAccountOnly) {
  for (const bool by_counters : {true, false}) {
    Process p({a.probe, "heap-fork"}, env_counting(by_counters));
    auto child_line = p.read_line();
    ASSERT_TRUE(child_line.has_value()) << p.finish().describe();
    int child = 0;
    unsigned long long child_held = 0;
    ASSERT_EQ(std::sscanf(child_line->c_str(), "child=%d held=%llu", &child, &child_held), 2) << *child_line;
    auto parent_line = p.read_line();
    ASSERT_TRUE(parent_line.has_value()) << p.finish().describe();
    ASSERT_EQ(parent_line->rfind("held=", 0), 0u) << *parent_line;
    const uint64_t parent_held = std::stoull(parent_line->substr(5));
    ASSERT_TRUE(p.wait_stopped()) << p.finish().describe();
    std::string why;
    MappedAccount parent_account = MappedAccount::of_process(p.pid(), &why);
    ASSERT_TRUE(parent_account) << why;
    MappedAccount child_account = MappedAccount::of_process(child, &why);
    ASSERT_TRUE(child_account) << why;
    const auto parent = parent_account.totals(p.pid()), forked = child_account.totals(child);
    const char* kind = by_counters ? "jemalloc's counters" : "block sizes";
    EXPECT_GE(parent.live_bytes, parent_held) << kind;
    EXPECT_LE(parent.live_bytes, parent_held + parent_held / 100 + 128 * 1024) << kind;
    EXPECT_GE(forked.live_bytes, child_held) << kind;
    EXPECT_LE(forked.live_bytes, child_held + child_held / 100 + 128 * 1024) << kind;
    kill(child, SIGKILL);
    p.resume();
    auto outcome = p.finish();
    EXPECT_TRUE(outcome.ok()) << outcome.describe();
  }
}

TEST_P(HeapAccount, MonitorFromTheEnvironment) {
  std::string table = make_table(dir, "some-other-program\n");
  auto env = env_with(a.lib + ":" + a.jemalloc(), table);
  env.push_back("MEMPROXY_MONITOR=1");
  expect_live_matches(env);
}

TEST_P(HeapAccount, AnUnmonitoredProcessHasNone) {
  std::string table = make_table(dir, "some-other-program\n");
  Process p({a.probe, "heap", "100000", "1000"}, env_with(a.lib + ":" + a.jemalloc(), table));
  ASSERT_TRUE(p.read_line().has_value());
  ASSERT_TRUE(p.wait_stopped());
  std::string why;
  EXPECT_FALSE(MappedAccount::of_process(p.pid(), &why));
  EXPECT_NE(why.find("not monitored"), std::string::npos) << why;
  p.signal(SIGKILL);
}

INSTANTIATE_TEST_SUITE_P(Both, HeapAccount, testing::ValuesIn(arches()), arch_name);

// Blocks of every kind (small to huge, aligned by each aligned call,
// zeroed, resized, and one of every size up to 1040 bytes by malloc and by
// calloc): the account gains exactly the usable bytes the program holds
// and, when it frees them all, loses exactly the usable bytes it freed, under
// each backend ("system": the system allocator of a process preloading
// jemalloc). The debug line says how the process learns block sizes: on
// glibc and mimalloc 2.0.9 it reads them in place (the decision's check on
// blocks of each kind passed), so a reader that got any kind wrong would be
// refused there or miscount here; tcmalloc and tbbmalloc are asked. Blocks
// are made by realloc(NULL, n) too, and every third is freed by
// realloc(p, 0). Under a custom backend the program runs again after first
// loading a library with RTLD_DEEPBIND and freeing one of its blocks, which
// are libc's: frees are still counted after (and resizes take the full
// path, which sorts blocks, where they otherwise take the common one).
using BlockKindsCase = std::tuple<Arch, std::string>;
class EveryBlockKind : public testing::TestWithParam<BlockKindsCase> {
 protected:
  void SetUp() override { MEMPROXY_REQUIRE(a().missing(backend(system() ? "jemalloc" : name()))); }
  const Arch& a() const { return std::get<0>(GetParam()); }
  const std::string& name() const { return std::get<1>(GetParam()); }
  bool system() const { return name() == "system"; }
  // How the debug line says the process learns block sizes.
  std::string said() const {
    if (name() == "jemalloc") return ", monitored by the allocator's thread counters";
    const bool in_place = system() || (name() == "mimalloc" && a().name == "64");
    return in_place ? ", monitored, block sizes read in place" : ", monitored, block sizes asked";
  }
  void expect_counted_exactly(const std::vector<std::string>& env, bool deep);
  TempDir dir;
};

TEST_P(EveryBlockKind, IsCountedExactly) {
  const std::vector<std::string> env = monitored_env(a(), dir, name(), "mp-probe");
  // A custom backend's process runs it twice: as it is, and after loading
  // a deepbound library, which sends its frees and resizes the other way.
  for (const bool deep : {false, true}) {
    if (deep && system()) continue;
    SCOPED_TRACE(deep ? "after a deepbound library" : "no deepbound library");
    expect_counted_exactly(env, deep);
  }
}

void EveryBlockKind::expect_counted_exactly(const std::vector<std::string>& env, bool deep) {
  std::vector<std::string> argv{a().probe, "heap-kinds"};
  if (deep) argv.push_back(a().deeplib);
  Process p(argv, env);
  uint64_t live_before = 0;
  uint64_t live_holding = 0;
  uint64_t held_before = 0;
  for (int stop = 0; stop < 3; ++stop) {
    std::string line;
    memproxy::heap::Totals t;
    ASSERT_NO_FATAL_FAILURE(at_next_stop(p, &line, &t));
    const uint64_t held = held_of(line);
    const uint64_t live = t.live_bytes;
    if (stop == 0) {
      live_before = live;
    } else if (stop == 1) {
      EXPECT_GE(live, held);
      EXPECT_LE(live, held + held / 100 + 128 * 1024);
      EXPECT_EQ(live - live_before, held) << "the usable bytes the blocks added";
      live_holding = live;
      held_before = held;
    } else {
      EXPECT_EQ(live_holding - live, held_before) << "the usable bytes the frees took away";
    }
    p.resume();
  }
  auto outcome = p.finish();
  EXPECT_TRUE(outcome.ok()) << outcome.describe();
  EXPECT_NE(outcome.err.find(said()), std::string::npos) << outcome.err;
}

// Requests the backend refuses (the address space lowered under the
// program) count no live bytes, and a throwing operator new that succeeds
// after a refusal, once its new_handler gave the address space back,
// counts its block once: the live bytes the program gains are exactly the usable bytes it
// holds, and freeing them takes all of them away. Under mimalloc 2.0.9
// small requests are counted before their call, from their size class, so
// a refusal has to be given back.
class RefusedRequests : public EveryBlockKind {};

TEST_P(RefusedRequests, CountNoLiveBytes) {
  Process p({a().probe_cxx, "refused"}, monitored_env(a(), dir, name(), "mp-probe-cxx"));
  uint64_t before = 0;
  for (int stop = 0; stop < 3; ++stop) {
    std::string line;
    memproxy::heap::Totals t;
    ASSERT_NO_FATAL_FAILURE(at_next_stop(p, &line, &t));
    if (stop == 0) {
      before = t.live_bytes;
    } else if (stop == 1) {
      EXPECT_NE(line.find(" refused=64 "), std::string::npos) << line;
      EXPECT_NE(line.find(" handler_calls=1"), std::string::npos) << line;
      EXPECT_EQ(t.live_bytes - before, held_of(line)) << line;
    } else {
      EXPECT_EQ(t.live_bytes, before) << "what freeing every block left";
    }
    p.resume();
  }
  auto outcome = p.finish();
  EXPECT_TRUE(outcome.ok()) << outcome.describe();
  EXPECT_NE(outcome.err.find(said()), std::string::npos) << outcome.err;
}

std::vector<std::string> block_kind_backends() {
  std::vector<std::string> names{"system"};
  for (const Backend& b : custom_backends()) names.push_back(b.name);
  return names;
}

std::string block_kind_case_name(const testing::TestParamInfo<BlockKindsCase>& info) {
  return "bits" + std::get<0>(info.param).name + "_" + std::get<1>(info.param);
}

INSTANTIATE_TEST_SUITE_P(Every, EveryBlockKind,
                         testing::Combine(testing::ValuesIn(arches()), testing::ValuesIn(block_kind_backends())),
                         block_kind_case_name);
INSTANTIATE_TEST_SUITE_P(Every, RefusedRequests,
                         testing::Combine(testing::ValuesIn(arches()), testing::ValuesIn(block_kind_backends())),
                         block_kind_case_name);

}  // namespace
}  // namespace mptest
