// The trace session against a ring in memory, written the way libmemproxy
// writes it (a position reserved with a compare-and-swap on the head, the
// record, then its sequence): the ring goes on and off when it should,
// stale records are skipped, records arrive in order in batches, the size
// filter reaches the process, drops are counted, and neither a hole left
// by a writer nor an early stop keeps the session from ending.
#include "heapwatch/serve/trace_session.hpp"

#include <gtest/gtest.h>
#include <time.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

namespace memproxy::heapwatch {
namespace {

using namespace std::chrono_literals;

// What libmemproxy's trace::write does; `publish` false leaves the position
// reserved but unwritten.
bool produce(heap::TraceSection& t, uint64_t size, bool publish = true) {
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
  if (publish) __atomic_store_n(&r.sequence, position + 1, __ATOMIC_RELEASE);
  return true;
}

struct Observed {
  std::vector<heap::TraceRecord> records;
  int batches = 0;
  bool ended = false;
  TraceSummary summary;
};

class TraceSessionTest : public ::testing::Test {
 protected:
  std::unique_ptr<heap::TraceSection> ring = std::make_unique<heap::TraceSection>();
  boost::asio::io_context io;
  Observed run;

  std::shared_ptr<TraceSession> make(TraceOptions options) {
    return std::make_shared<TraceSession>(
        io, *ring, heap::EventSlots{}, options,
        [this](std::vector<heap::TraceRecord> batch) {
          ++run.batches;
          run.records.insert(run.records.end(), batch.begin(), batch.end());
        },
        [this](const TraceSummary& s) {
          run.ended = true;
          run.summary = s;
        });
  }

  // Runs the loop until the session ends (bounded).
  void run_until_ended() {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!run.ended && std::chrono::steady_clock::now() < deadline) io.run_for(5ms);
  }

  // Runs the loop until a batch has been handed on (bounded).
  void run_until_a_batch() {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (run.batches == 0 && std::chrono::steady_clock::now() < deadline) io.run_for(5ms);
  }
};

TEST_F(TraceSessionTest, OnForItsDurationThenOffWithEveryRecordInOrder) {
  // Records from an earlier session that nobody drained.
  ring->on = 1;
  for (int i = 0; i < 5; ++i) produce(*ring, 1);
  ring->on = 0;
  TraceOptions options;
  options.duration = 100ms;
  options.min_size = 64;
  auto session = make(options);
  session->start();
  EXPECT_EQ(ring->on, 1u);
  EXPECT_EQ(ring->min_size, 64u);
  EXPECT_EQ(ring->tail, ring->head) << "stale records are skipped";
  for (uint64_t i = 0; i < 300; ++i) produce(*ring, 64 + i);
  EXPECT_FALSE(produce(*ring, 10)) << "below the size filter";
  run_until_a_batch();
  ASSERT_GE(run.batches, 1) << "the first records are handed on while the session runs";
  for (uint64_t i = 300; i < 600; ++i) produce(*ring, 64 + i);
  run_until_ended();
  ASSERT_TRUE(run.ended);
  EXPECT_EQ(ring->on, 0u);
  ASSERT_EQ(run.records.size(), 600u);
  for (uint64_t i = 0; i < 600; ++i) ASSERT_EQ(run.records[i].size, 64 + i) << i;
  EXPECT_GE(run.batches, 2) << "records are handed on as they come, not at the end";
  EXPECT_EQ(run.summary.records, 600u);
  EXPECT_EQ(run.summary.dropped, 0u);
}

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The lease: written before the ring goes on, pushed on by every drain,
// and a ring a writer switched off (the lease had lapsed: the loop was
// late) is on again after the next drain.
TEST_F(TraceSessionTest, EveryDrainRenewsTheLeaseAndTurnsBackOnARingThatLapsed) {
  TraceOptions options;
  options.duration = 1h;
  options.drain_interval = 1ms;
  options.lease = 3s;
  auto session = make(options);
  const int64_t before = monotonic_ns();
  session->start();
  EXPECT_EQ(ring->on, 1u);
  EXPECT_GE(ring->lease_until_ns, before + 3'000'000'000);
  EXPECT_LE(ring->lease_until_ns, monotonic_ns() + 3'000'000'000);
  ring->lease_until_ns = 0;
  ring->on = 0;  // what a writer does once the lease has lapsed
  const int64_t lapsed_at = monotonic_ns();
  ASSERT_EQ(io.run_one(), 1u);  // one drain
  EXPECT_EQ(ring->on, 1u);
  EXPECT_GE(ring->lease_until_ns, lapsed_at + 3'000'000'000);
  session->stop();
  run_until_ended();
  EXPECT_TRUE(run.ended);
  EXPECT_EQ(ring->on, 0u) << "a stopped session renews nothing";
}

TEST_F(TraceSessionTest, AFullRingIsCountedAsDropped) {
  TraceOptions options;
  options.duration = 50ms;
  options.drain_interval = 1h;  // nothing drains while the process writes
  auto session = make(options);
  session->start();
  for (uint64_t i = 0; i < heap::kTraceCapacity + 100; ++i) produce(*ring, 1);
  session->stop();
  EXPECT_EQ(ring->on, 0u);
  EXPECT_EQ(ring->dropped, 100u);
}

TEST_F(TraceSessionTest, StopSwitchesOffAtOnceAndStillEnds) {
  TraceOptions options;
  options.duration = 1h;
  auto session = make(options);
  session->start();
  for (int i = 0; i < 10; ++i) produce(*ring, 1);
  session->stop();
  EXPECT_EQ(ring->on, 0u);
  EXPECT_FALSE(produce(*ring, 1));
  run_until_ended();
  ASSERT_TRUE(run.ended);
  EXPECT_EQ(run.records.size(), 10u);
}

TEST_F(TraceSessionTest, AWriterThatNeverFinishesDoesNotHoldTheSessionUp) {
  TraceOptions options;
  options.duration = 30ms;
  auto session = make(options);
  session->start();
  for (int i = 0; i < 3; ++i) produce(*ring, 1);
  produce(*ring, 1, /*publish=*/false);  // reserved, never written
  for (int i = 0; i < 3; ++i) produce(*ring, 1);
  run_until_ended();
  ASSERT_TRUE(run.ended);
  EXPECT_EQ(run.records.size(), 3u) << "the records after the hole are not read past it";
  EXPECT_EQ(ring->on, 0u);
}

TEST_F(TraceSessionTest, FinishNowEndsBeforeReturningAndNeverTouchesTheRingAgain) {
  TraceOptions options;
  options.duration = 1h;
  auto session = make(options);
  session->start();
  for (int i = 0; i < 10; ++i) produce(*ring, 1);
  session->finish_now();
  ASSERT_TRUE(run.ended) << "on_end ran within finish_now";
  EXPECT_EQ(ring->on, 0u);
  EXPECT_EQ(run.records.size(), 10u) << "what was published is drained";
  ring.reset();  // unmapped: a later touch is a use after free (the sanitizer build sees it)
  // Every handler the session left runs (the loop returns once it has no
  // more work): none touches the ring.
  io.restart();
  io.run_for(5s);
  session.reset();
}

TEST_F(TraceSessionTest, DestroyedMidTraceTheRingGoesOff) {
  TraceOptions options;
  options.duration = 1h;
  {
    auto session = make(options);
    session->start();
    io.run_for(20ms);
    EXPECT_EQ(ring->on, 1u);
  }
  EXPECT_EQ(ring->on, 0u);
  // Every handler the session left runs (the loop returns once it has no
  // more work): its cancelled timer's does nothing.
  io.restart();
  io.run_for(5s);
  EXPECT_FALSE(run.ended);
}

}  // namespace
}  // namespace memproxy::heapwatch
