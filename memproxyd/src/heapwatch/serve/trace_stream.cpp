#include "heapwatch/serve/trace_stream.hpp"

#include <sys/socket.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "heapwatch/serve/query_answers.hpp"
#include "heapwatch/serve/trace_batch.hpp"

namespace memproxy::heapwatch {

namespace tq = memproxy::trace_query;

TraceStream::TraceStream(boost::asio::io_context& io, Socket socket, TraceTarget target, tq::TraceRequest request,
                         SymbolizeAsync symbolize, TraceStreamLimits limits, std::function<void()> on_finished)
    : io_(io), target_(std::move(target)), request_(request), symbolize_(std::move(symbolize)), limits_(limits),
      on_finished_(std::move(on_finished)), patience_(io), socket_(std::move(socket)) {}

TraceStream::~TraceStream() = default;  // the session's own destructor switches the ring off

void TraceStream::start() {
  TraceOptions options;
  options.duration = std::chrono::seconds(request_.seconds);
  options.min_size = request_.min_size;
  options.drain_interval = limits_.drain_interval;
  std::weak_ptr<TraceStream> self = weak_from_this();
  session_ = std::make_shared<TraceSession>(
      io_, *target_.ring, target_.event_slots, options,
      [self](std::vector<heap::TraceRecord> records) {
        if (auto s = self.lock()) s->on_records(std::move(records));
      },
      [self](const TraceSummary& summary) {
        if (auto s = self.lock()) s->on_session_end(summary);
      });
  session_->start();
  // After the ring is on: a client that read this line misses no call.
  queue(tq::started_line({target_.process, request_.seconds, request_.min_size}), 0);
  watch_client();
}

// The client sends nothing after its request; whatever it sends is read
// and ignored, and the end of its stream ends the trace.
void TraceStream::watch_client() {
  std::weak_ptr<TraceStream> self = weak_from_this();
  socket_.async_read_some(boost::asio::buffer(client_input_), [self](const boost::system::error_code& ec, size_t) {
    auto s = self.lock();
    if (!s || s->finished_) return;
    if (!ec) {
      s->watch_client();
      return;
    }
    s->end(tq::reason::kClientClosed);
    // A client that only shut down its side (memproxyctl on Ctrl-C) still
    // reads the rest and the summary; one that is gone makes the next write
    // fail, which finishes the stream.
    if (ec != boost::asio::error::eof) s->finish();
  });
}

void TraceStream::end(const char* reason) {
  if (reason_ == nullptr) reason_ = reason;
  if (session_ && session_->running()) session_->stop();
}

void TraceStream::process_ended() {
  if (reason_ == nullptr) reason_ = tq::reason::kProcessEnded;
  if (session_) session_->finish_now();
}

void TraceStream::shutdown() {
  if (reason_ == nullptr) reason_ = tq::reason::kDaemonStopped;
  if (session_) session_->finish_now();
  if (finished_) return;
  for (const Waiting& w : waiting_) undelivered_ += w.records.size();
  waiting_.clear();
  // Offered once, without waiting: a client that does not read loses it.
  std::string line = tq::summary_line(summary()) + "\n";
  if (!writing_ && out_.empty()) {
    ssize_t ignored = ::send(socket_.native_handle(), line.data(), line.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)ignored;
  }
  finished_ = true;
  boost::system::error_code ignored;
  patience_.cancel();
  socket_.close(ignored);
}

void TraceStream::on_records(std::vector<heap::TraceRecord> records) {
  read_.records += records.size();
  if (finished_ || waiting_records_ + records.size() > limits_.max_waiting_records) {
    undelivered_ += records.size();
    return;
  }
  waiting_records_ += records.size();
  waiting_.push_back({std::move(records)});
  symbolize_next();
}

void TraceStream::on_session_end(const TraceSummary& summary) {
  read_.dropped = summary.dropped;
  session_ended_ = true;
  if (reason_ == nullptr) reason_ = tq::reason::kTimeUp;
  maybe_summarize();
}

void TraceStream::symbolize_next() {
  if (symbolizing_ || waiting_.empty() || finished_) return;
  symbolizing_ = true;
  std::vector<uint64_t> callers = distinct_callers(waiting_.front().records);
  std::weak_ptr<TraceStream> self = weak_from_this();
  symbolize_(target_.process, callers,
             [self, callers](std::vector<symbols::Location> locations, std::string error) {
               auto s = self.lock();
               if (!s || s->finished_) return;
               Waiting done = std::move(s->waiting_.front());
               s->waiting_.pop_front();
               s->waiting_records_ -= done.records.size();
               s->send_batch(wire_batch(done.records, callers, locations, error), done.records.size());
               s->symbolizing_ = false;
               // Posted: a cached answer comes back within symbolize_(), and
               // a long queue must not become a deep recursion.
               boost::asio::post(s->io_, [self] {
                 if (auto again = self.lock()) {
                   again->symbolize_next();
                   again->maybe_summarize();
                 }
               });
             });
}

void TraceStream::send_batch(const tq::Batch& batch, size_t records) {
  if (queued_bytes_ >= limits_.max_queued_bytes) {
    undelivered_ += records;  // not even encoded: the client is behind
    return;
  }
  queue(tq::batch_line(batch), records);
}

void TraceStream::queue(std::string line, size_t records) {
  if (finished_) return;
  line += '\n';
  if (records != 0 && queued_bytes_ >= limits_.max_queued_bytes) {
    undelivered_ += records;
    return;
  }
  queued_bytes_ += line.size();
  out_.push_back(std::move(line));
  write_next();
}

void TraceStream::write_next() {
  if (writing_ || out_.empty() || finished_) return;
  writing_ = true;
  std::weak_ptr<TraceStream> self = weak_from_this();
  boost::asio::async_write(socket_, boost::asio::buffer(out_.front()),
                           [self](const boost::system::error_code& ec, size_t) {
                             auto s = self.lock();
                             if (!s || s->finished_) return;
                             s->writing_ = false;
                             s->queued_bytes_ -= s->out_.front().size();
                             s->out_.pop_front();
                             if (ec) {
                               s->end(tq::reason::kClientClosed);
                               s->finish();
                               return;
                             }
                             if (s->out_.empty() && s->summarized_) {
                               s->finish();
                               return;
                             }
                             s->write_next();
                           });
}

void TraceStream::maybe_summarize() {
  if (!session_ended_ || summarized_ || symbolizing_ || !waiting_.empty() || finished_) return;
  summarized_ = true;
  queue(tq::summary_line(summary()), 0);
  patience_.expires_after(limits_.closing_patience);
  std::weak_ptr<TraceStream> self = weak_from_this();
  patience_.async_wait([self](const boost::system::error_code& ec) {
    auto s = self.lock();
    if (s && !ec) s->finish();
  });
}

tq::Summary TraceStream::summary() const {
  return {read_.records, read_.dropped, undelivered_, reason_ != nullptr ? reason_ : tq::reason::kTimeUp};
}

void TraceStream::finish() {
  if (finished_) return;
  finished_ = true;
  boost::system::error_code ignored;
  patience_.cancel();
  socket_.close(ignored);
  if (on_finished_) {
    auto call = std::move(on_finished_);
    on_finished_ = nullptr;
    call();
  }
}

}  // namespace memproxy::heapwatch
