#include "heapwatch/serve/trace_session.hpp"

#include "memproxy/heap_reader.hpp"

namespace memproxy::heapwatch {

TraceSession::TraceSession(boost::asio::io_context& io, heap::TraceSection& ring, const heap::EventSlots& event_slots,
                           TraceOptions options, OnRecords on_records, OnEnd on_end)
    : ring_(ring), event_slots_(event_slots), options_(options),
      on_records_(std::move(on_records)), on_end_(std::move(on_end)), timer_(io) {}

TraceSession::~TraceSession() {
  if (state_ == State::tracing || state_ == State::closing) switch_off();
}

void TraceSession::start() {
  if (state_ != State::idle) return;
  __atomic_store_n(&ring_.on, 0, __ATOMIC_RELEASE);
  __atomic_store_n(&ring_.min_size, options_.min_size, __ATOMIC_RELAXED);
  __atomic_store_n(&ring_.tail, __atomic_load_n(&ring_.head, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
  dropped_at_start_ = __atomic_load_n(&ring_.dropped, __ATOMIC_RELAXED);
  renew_lease();
  state_ = State::tracing;
  ends_at_ = std::chrono::steady_clock::now() + options_.duration;
  arm();
}

void TraceSession::stop() {
  if (state_ != State::tracing) return;
  switch_off();
  state_ = State::closing;  // the drain already armed is the last
}

void TraceSession::finish_now() {
  if (state_ != State::tracing && state_ != State::closing) return;
  switch_off();
  state_ = State::closing;
  timer_.cancel();
  drain();  // closing: the last drain, then ended
}

void TraceSession::renew_lease() {
  heap::hold_trace_lease(ring_, std::chrono::duration_cast<std::chrono::nanoseconds>(options_.lease).count(),
                         event_slots_);
}

void TraceSession::switch_off() { __atomic_store_n(&ring_.on, 0, __ATOMIC_RELEASE); }

void TraceSession::arm() {
  timer_.expires_after(options_.drain_interval);
  std::weak_ptr<TraceSession> self = weak_from_this();
  timer_.async_wait([self](const boost::system::error_code& ec) {
    auto s = self.lock();
    if (!s || ec) return;
    s->drain();
  });
}

void TraceSession::drain() {
  // A drain whose timer had fired before finish_now() cancelled it still
  // runs; once the session has ended the ring may be unmapped (its process
  // ended), so it must not be read.
  if (state_ == State::ended) return;
  if (state_ == State::tracing) renew_lease();
  std::vector<heap::TraceRecord> batch;
  heap::drain_trace(ring_, &batch, options_.max_batch);
  summary_.records += batch.size();
  if (!batch.empty() && on_records_) on_records_(std::move(batch));
  if (state_ == State::tracing && std::chrono::steady_clock::now() >= ends_at_) {
    switch_off();
    state_ = State::closing;
    arm();  // one more drain for what was being written
    return;
  }
  if (state_ == State::closing) {
    state_ = State::ended;
    uint64_t dropped = __atomic_load_n(&ring_.dropped, __ATOMIC_RELAXED);
    summary_.dropped = dropped >= dropped_at_start_ ? dropped - dropped_at_start_ : 0;
    if (on_end_) on_end_(summary_);
    return;
  }
  arm();
}

}  // namespace memproxy::heapwatch
