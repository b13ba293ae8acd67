// One client's trace (memproxy/trace_query.hpp): a trace session on the
// process's ring, its batches' callers symbolized, and the lines written to
// the client's connection as they are ready, the summary last.
//
// Invariants:
// - Batches go out in the order the process wrote them: one batch is
//   symbolized at a time, the next waits.
// - Bounded and never blocking the loop: at most limits.max_waiting_records
//   records wait for the symbolizer, and lines wait for the client only
//   while less than limits.max_queued_bytes wait (so at most that plus one
//   batch line); beyond either, a batch is not sent and its records are
//   counted as undelivered. The summary is always queued.
// - The ring is switched off when the trace ends for any reason: time up,
//   the client closes (read error or end of stream), process_ended(),
//   shutdown(), or the stream's destruction.
// - After process_ended() or shutdown() returns, the ring is never touched
//   again (the caller may unmap it).
// - on_finished runs once, on the loop, after the connection is closed;
//   handlers never keep the stream alive (its owner does).
#ifndef MEMPROXYD_HEAPWATCH_TRACE_STREAM_HPP
#define MEMPROXYD_HEAPWATCH_TRACE_STREAM_HPP

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "heapwatch/intake/watched_process.hpp"
#include "heapwatch/serve/trace_session.hpp"
#include "memproxy/trace_query.hpp"
#include "symbols/location.hpp"

namespace memproxy::heapwatch {

// A traced process and its ring, which stays mapped until process_ended().
struct TraceTarget {
  WatchedProcess process;
  heap::TraceSection* ring = nullptr;
  heap::EventSlots event_slots;  // MappedAccount::event_slots
};

// The symbol service's call (SymbolService::symbolize): one location per
// address asked, in order, or why none; `done` runs on the loop, at once
// or later.
using SymbolizeAsync = std::function<void(const WatchedProcess& process, std::vector<uint64_t> addresses,
                                          std::function<void(std::vector<symbols::Location>, std::string)> done)>;

struct TraceStreamLimits {
  size_t max_waiting_records = 4 * heap::kTraceCapacity;
  size_t max_queued_bytes = 8u << 20;
  std::chrono::milliseconds drain_interval{10};
  // How long the summary may wait for the client to read it.
  std::chrono::milliseconds closing_patience{10000};
};

class TraceStream : public std::enable_shared_from_this<TraceStream> {
 public:
  using Socket = boost::asio::local::stream_protocol::socket;

  TraceStream(boost::asio::io_context& io, Socket socket, TraceTarget target, trace_query::TraceRequest request,
              SymbolizeAsync symbolize, TraceStreamLimits limits, std::function<void()> on_finished);
  ~TraceStream();
  TraceStream(const TraceStream&) = delete;
  TraceStream& operator=(const TraceStream&) = delete;

  void start();
  // The process ended: the trace ends now; what was read still goes out.
  void process_ended();
  // The daemon stops: the trace ends now, the summary is offered to the
  // client without waiting, and the connection is closed.
  void shutdown();

  ProcessId process() const { return id_of(target_.process); }

 private:
  struct Waiting {
    std::vector<heap::TraceRecord> records;
  };
  void watch_client();
  void on_records(std::vector<heap::TraceRecord> records);
  void on_session_end(const TraceSummary& summary);
  void symbolize_next();
  void send_batch(const trace_query::Batch& batch, size_t records);
  void queue(std::string line, size_t records);
  void write_next();
  void maybe_summarize();
  void end(const char* reason);
  void finish();
  trace_query::Summary summary() const;

  boost::asio::io_context& io_;
  TraceTarget target_;
  trace_query::TraceRequest request_;
  SymbolizeAsync symbolize_;
  TraceStreamLimits limits_;
  std::function<void()> on_finished_;
  std::shared_ptr<TraceSession> session_;
  std::deque<Waiting> waiting_;
  size_t waiting_records_ = 0;
  bool symbolizing_ = false;
  std::deque<std::string> out_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool session_ended_ = false;
  bool summarized_ = false;
  bool finished_ = false;
  const char* reason_ = nullptr;  // the first reason the trace ended for
  TraceSummary read_;             // the session's count
  uint64_t undelivered_ = 0;
  char client_input_[256];
  boost::asio::steady_timer patience_;
  // Last, so that it goes first: its operations are cancelled before the
  // buffers they use.
  Socket socket_;
};

}  // namespace memproxy::heapwatch

#endif
