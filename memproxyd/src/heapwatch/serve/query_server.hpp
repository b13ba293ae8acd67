// The query socket: where memproxyctl top, leaks and history ask the
// daemon, one JSON request per line, one JSON answer per line
// (memproxy/heap_query.hpp). Any user may connect (mode 0666); each sees
// only what visible_to() allows for the uid the kernel reports for the
// connection (SO_PEERCRED), never a uid the client claims.
//
// Runs on the daemon's event loop and never blocks it: every read and
// write is asynchronous, and an answer is only collected there (copied out
// of the watch state, which may first ask its history store off the loop);
// its JSON, up to about 10 MB for a full history, is made on the server's
// own thread. Every client is bounded: connections at once as UserSlots
// allows (user_limits.hpp: at most max_clients_per_user for a user other
// than root, root_reserve of max_clients kept for root; more are told so and
// closed), a request line of at most kMaxRequestBytes, closed after
// first_request_timeout without its first request, after kIdleTimeout
// without a later one or without reading its answer, one answer at a time per client, and at
// most max_queued_bytes of answers being made or waiting to be read across
// all clients (beyond, a request is answered "busy"). The defaults are the protocol's
// limits; tests lower them.
#ifndef MEMPROXYD_HEAPWATCH_QUERY_SERVER_HPP
#define MEMPROXYD_HEAPWATCH_QUERY_SERVER_HPP

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <variant>

#include "heapwatch/analysis/process_view.hpp"
#include "heapwatch/intake/user_limits.hpp"
#include "heapwatch/serve/query_answers.hpp"
#include "heapwatch/serve/trace_requests.hpp"
#include "memproxy/heap_query.hpp"

namespace memproxy::heapwatch {

class SitesQuery;

struct QueryLimits {
  size_t max_clients = heap_query::kMaxClients;
  size_t max_clients_per_user = kQueryClientLimits.per_user;
  size_t root_reserve = kQueryClientLimits.root_reserve;
  std::chrono::milliseconds first_request_timeout = kFirstRequestTimeout;
  size_t max_request_bytes = heap_query::kMaxRequestBytes;
  std::chrono::milliseconds idle_timeout = heap_query::kIdleTimeout;
  size_t max_queued_bytes = 256u << 20;
};

class QueryServer {
 public:
  QueryServer(boost::asio::io_context& io, const WatchState& state, QueryLimits limits = {});
  ~QueryServer();
  QueryServer(const QueryServer&) = delete;
  QueryServer& operator=(const QueryServer&) = delete;

  // Listens at `socket_path` (mode 0666); a stale socket there is
  // replaced, any other file refused. "" or why not.
  std::string listen(const std::string& socket_path);

  size_t clients() const { return clients_.size(); }

  // Trace requests (memproxy/trace_query.hpp) go to `traces`, with their
  // connections; nullptr (the default): they are refused as unknown.
  // `traces` must outlive the server.
  void serve_traces(TraceRequests* traces) { traces_ = traces; }
  // Answers sites requests with `sites` (which must outlive the server);
  // without it they are unknown requests.
  void answer_sites_with(SitesQuery* sites) { sites_ = sites; }

 private:
  using Protocol = boost::asio::local::stream_protocol;
  struct Client;
  void accept();
  void read_request(const std::shared_ptr<Client>& c);
  void on_request(const std::shared_ptr<Client>& c, size_t line_bytes);
  // True when `line` was a sites request, now being answered.
  void answer_sites(const std::shared_ptr<Client>& c, const heap_query::SitesRequest& request);
  void on_collected(const std::shared_ptr<Client>& c, Answer collected);
  void on_answer(const std::shared_ptr<Client>& c, std::string answer);
  void send(const std::shared_ptr<Client>& c, std::string line, bool then_close);
  void arm_idle(const std::shared_ptr<Client>& c);
  void drop(const std::shared_ptr<Client>& c);
  // Takes `c` out of clients_, giving its slot back.
  void forget(const std::shared_ptr<Client>& c);

  boost::asio::io_context& io_;
  const WatchState& state_;
  SitesQuery* sites_ = nullptr;
  QueryLimits limits_;
  TraceRequests* traces_ = nullptr;
  Protocol::acceptor acceptor_;
  std::string path_;
  // Every client in clients_ holds one slot of its uid, and no other does.
  std::map<Client*, std::shared_ptr<Client>> clients_;
  UserSlots slots_;
  size_t queued_bytes_ = 0;
  // Handlers still queued when the server is destroyed see this expired
  // and touch nothing.
  std::shared_ptr<char> alive_ = std::make_shared<char>();
  // Turns collected answers into JSON lines, one at a time.
  boost::asio::thread_pool encoder_{1};
};

}  // namespace memproxy::heapwatch

#endif
