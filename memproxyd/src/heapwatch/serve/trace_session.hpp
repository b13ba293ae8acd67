// One `memproxyctl trace`: a monitored process's trace ring switched on for
// a while, drained on the event loop every few milliseconds, and switched
// off again, with the records handed on in batches as they come.
//
// Invariants:
// - At most one session per process at a time (the caller keeps the set;
//   the ring's own `on` word is the process's and says nothing about who
//   switched it on).
// - Records written before the session are skipped: the tail is moved to
//   the head before the ring is switched on (nothing writes while it is off).
// - The session never blocks the loop and never waits for the process: a
//   position reserved but not yet written ends a drain, and the last drain
//   happens one interval after the ring is off; whatever is still missing
//   then is not waited for.
// - The ring is switched off when the session ends for any reason: its
//   time is up, stop(), finish_now(), or its destruction.
// - While tracing, every drain pushes the ring's lease (TraceSection) to
//   `lease` from now, and turns the ring on again if a writer found the
//   lease lapsed (the loop was late): if the daemon dies, the process
//   switches the ring off itself once the last lease lapses.
#ifndef MEMPROXYD_HEAPWATCH_TRACE_SESSION_HPP
#define MEMPROXYD_HEAPWATCH_TRACE_SESSION_HPP

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "memproxy/heap_account.h"
#include "memproxy/heap_reader.hpp"

namespace memproxy::heapwatch {

struct TraceOptions {
  std::chrono::milliseconds duration{std::chrono::seconds(10)};
  uint64_t min_size = 0;  // calls whose size argument is smaller are not written (0: every call)
  std::chrono::milliseconds drain_interval{10};
  // How long the ring stays on without a drain: much longer than a drain
  // interval, so a busy loop does not lose records to it.
  std::chrono::milliseconds lease{std::chrono::seconds(2)};
  size_t max_batch = heap::kTraceCapacity;
};

struct TraceSummary {
  uint64_t records = 0;  // handed on
  uint64_t dropped = 0;  // the process dropped them: the ring was full
};

class TraceSession : public std::enable_shared_from_this<TraceSession> {
 public:
  using OnRecords = std::function<void(std::vector<heap::TraceRecord>)>;
  using OnEnd = std::function<void(const TraceSummary&)>;

  // `ring` and `event_slots` (MappedAccount::event_slots: whose events the
  // lease forces, heap::hold_trace_lease) must outlive the session (the
  // caller keeps the account mapped).
  TraceSession(boost::asio::io_context& io, heap::TraceSection& ring, const heap::EventSlots& event_slots,
               TraceOptions options, OnRecords on_records, OnEnd on_end);
  ~TraceSession();
  TraceSession(const TraceSession&) = delete;
  TraceSession& operator=(const TraceSession&) = delete;

  void start();
  // Ends the session early: the ring goes off now; on_end still runs
  // after the last drain.
  void stop();
  // Ends the session now, before the ring goes away (its process ended,
  // the daemon stops): the ring goes off, what is published is drained,
  // and on_end runs before this returns. The ring is not touched after.
  void finish_now();
  bool running() const { return state_ == State::tracing; }

 private:
  enum class State { idle, tracing, closing, ended };
  void arm();
  void drain();
  void switch_off();
  void renew_lease();

  heap::TraceSection& ring_;
  heap::EventSlots event_slots_;
  TraceOptions options_;
  OnRecords on_records_;
  OnEnd on_end_;
  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::time_point ends_at_;
  State state_ = State::idle;
  uint64_t dropped_at_start_ = 0;
  TraceSummary summary_;
};

}  // namespace memproxy::heapwatch

#endif
