#include "heapwatch/serve/trace_requests.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "heapwatch/serve/query_answers.hpp"

namespace memproxy::heapwatch {

namespace tq = memproxy::trace_query;

TraceRequests::TraceRequests(boost::asio::io_context& io, FindTarget find, SymbolizeAsync symbolize,
                             TraceRequestLimits limits)
    : io_(io),
      find_(std::move(find)),
      symbolize_(std::move(symbolize)),
      limits_(limits),
      slots_(UserLimits{limits.max_traces, limits.max_traces_per_user, limits.root_reserve}) {}

TraceRequests::~TraceRequests() {
  alive_.reset();
  for (auto& [id, running] : traces_) running.stream->shutdown();
}

void TraceRequests::start(Socket socket, uid_t peer, const tq::TraceRequest& request) {
  std::optional<TraceTarget> target = find_(request.pid);
  if (!target || target->ring == nullptr || !visible_to(peer, target->process.uid)) {
    refuse(std::move(socket), "no watched process has pid " + std::to_string(request.pid));
    return;
  }
  const ProcessId id = id_of(target->process);
  if (traces_.count(id) != 0) {
    refuse(std::move(socket), "pid " + std::to_string(request.pid) +
                                  " is being traced already; one trace per process at a time");
    return;
  }
  if (std::string why = slots_.take(peer); !why.empty()) {
    refuse(std::move(socket), "the daemon runs no more traces now: " + why + "; end one or try again later");
    return;
  }
  auto stream = std::make_shared<TraceStream>(
      io_, std::move(socket), std::move(*target), request, symbolize_, limits_.stream,
      [this, id, alive = std::weak_ptr<char>(alive_)] {
        // Posted: the stream calls this from its own member functions.
        boost::asio::post(io_, [this, id, alive] {
          if (alive.expired()) return;
          auto it = traces_.find(id);
          if (it == traces_.end()) return;
          slots_.release(it->second.peer);
          traces_.erase(it);
        });
      });
  traces_[id] = {stream, peer};
  stream->start();
}

void TraceRequests::process_ended(const ProcessId& id) {
  auto it = traces_.find(id);
  if (it != traces_.end()) it->second.stream->process_ended();
}

void TraceRequests::refuse(Socket socket, const std::string& why) {
  auto s = std::make_shared<Socket>(std::move(socket));
  auto line = std::make_shared<std::string>(heap_query::error_line(why) + "\n");
  boost::asio::async_write(*s, boost::asio::buffer(*line), [s, line](const boost::system::error_code&, size_t) {
    boost::system::error_code ignored;
    s->close(ignored);
  });
}

}  // namespace memproxy::heapwatch
