// The query socket's trace requests (memproxy/trace_query.hpp): which may
// run, and the streams that do. The query server hands over a connection
// whose request line asks for a trace; from then on it is the trace's.
//
// Invariants:
// - A process is traced for its owner or root only; anyone else is told
//   no watched process has that pid, as if it did not exist.
// - At most one trace per process (a second is refused, saying so), and
//   traces at once as UserSlots allows (user_limits.hpp): at most
//   limits.max_traces in all, at most limits.max_traces_per_user asked by
//   any user but root, and limits.root_reserve of them kept for root, so
//   that no user keeps the others, or root, from tracing.
// - A trace ends, and its ring goes off, when its time is up, its client
//   closes, its process ends (process_ended(), called before the account
//   is unmapped) or the daemon stops (destruction).
// Runs on the loop only.
#ifndef MEMPROXYD_HEAPWATCH_TRACE_REQUESTS_HPP
#define MEMPROXYD_HEAPWATCH_TRACE_REQUESTS_HPP

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "heapwatch/intake/user_limits.hpp"
#include "heapwatch/serve/trace_stream.hpp"
#include "memproxy/trace_query.hpp"

namespace memproxy::heapwatch {

struct TraceRequestLimits {
  size_t max_traces = kTraceLimits.total;
  size_t max_traces_per_user = kTraceLimits.per_user;
  size_t root_reserve = kTraceLimits.root_reserve;
  TraceStreamLimits stream;
};

class TraceRequests {
 public:
  using Socket = boost::asio::local::stream_protocol::socket;
  // The watched process with this pid and its ring, if any.
  using FindTarget = std::function<std::optional<TraceTarget>(pid_t pid)>;

  TraceRequests(boost::asio::io_context& io, FindTarget find, SymbolizeAsync symbolize,
                TraceRequestLimits limits = {});
  // Every trace ends: "the daemon stopped", its ring off.
  ~TraceRequests();
  TraceRequests(const TraceRequests&) = delete;
  TraceRequests& operator=(const TraceRequests&) = delete;

  // `request` from user `peer` on `socket`: the trace starts, or the
  // client is told why not and the connection closed.
  void start(Socket socket, uid_t peer, const trace_query::TraceRequest& request);
  // A trace request that could not be read: the client is told why, in the
  // trace protocol, and the connection closed.
  void refuse(Socket socket, const std::string& why);
  // The process ended; its account is still mapped.
  void process_ended(const ProcessId& id);

  size_t running() const { return traces_.size(); }
  bool tracing(const ProcessId& id) const { return traces_.count(id) != 0; }

 private:

  boost::asio::io_context& io_;
  FindTarget find_;
  SymbolizeAsync symbolize_;
  TraceRequestLimits limits_;
  struct Running {
    std::shared_ptr<TraceStream> stream;
    uid_t peer = 0;
  };
  // Every trace in traces_ holds one slot of its peer, and no other does.
  std::map<ProcessId, Running> traces_;
  UserSlots slots_;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace memproxy::heapwatch

#endif
