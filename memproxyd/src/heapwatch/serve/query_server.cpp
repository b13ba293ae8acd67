#include "heapwatch/serve/query_server.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <istream>
#include <optional>

#include "heapwatch/serve/query_answers.hpp"
#include "heapwatch/serve/sites_query.hpp"
#include "memproxy/query.hpp"
#include "platform/peer_credentials.hpp"

namespace memproxy::heapwatch {

namespace hq = memproxy::heap_query;

struct QueryServer::Client {
  Client(boost::asio::io_context& io, size_t max_line) : socket(io), idle(io), input(max_line) {}
  Protocol::socket socket;
  boost::asio::steady_timer idle;
  boost::asio::streambuf input;  // at most one request line (max_size)
  std::string output;            // the answer being written
  uid_t uid = 0;
  pid_t pid = 0;
  bool asked = false;  // has sent a request
};

QueryServer::QueryServer(boost::asio::io_context& io, const WatchState& state, QueryLimits limits)
    : io_(io),
      state_(state),
      limits_(limits),
      acceptor_(io),
      slots_(UserLimits{limits.max_clients, limits.max_clients_per_user, limits.root_reserve}) {}

QueryServer::~QueryServer() {
  alive_.reset();
  encoder_.stop();
  encoder_.join();
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  for (auto& [raw, c] : clients_) {
    c->idle.cancel();
    c->socket.close(ignored);
  }
  if (!path_.empty()) ::unlink(path_.c_str());
}

std::string QueryServer::listen(const std::string& socket_path) {
  struct stat st {};
  if (::lstat(socket_path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return socket_path + " exists and is not a socket";
    ::unlink(socket_path.c_str());
  }
  boost::system::error_code ec;
  acceptor_.open(Protocol(), ec);
  if (!ec) acceptor_.bind(Protocol::endpoint(socket_path), ec);
  if (!ec) acceptor_.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) return "cannot listen on " + socket_path + ": " + ec.message();
  path_ = socket_path;
  // Any user may ask; the answer depends on who the kernel says they are.
  if (::chmod(socket_path.c_str(), 0666) != 0) return "cannot chmod " + socket_path + ": " + std::strerror(errno);
  accept();
  return "";
}

void QueryServer::accept() {
  auto c = std::make_shared<Client>(io_, limits_.max_request_bytes);
  acceptor_.async_accept(c->socket, [this, c, alive = std::weak_ptr<char>(alive_)](const boost::system::error_code& ec) {
    if (alive.expired() || ec == boost::asio::error::operation_aborted) return;
    if (!ec) {
      std::optional<platform::PeerCredentials> peer = platform::peer_credentials(c->socket.native_handle());
      if (!peer) {
        boost::system::error_code ignored;
        c->socket.close(ignored);
      } else if (std::string why = slots_.take(peer->uid); !why.empty()) {
        // Told why, without waiting for the client to read: a full socket
        // buffer just loses the message.
        std::string line = hq::error_line("the daemon refuses more query clients: " + why + "; try again") + "\n";
        ssize_t ignored_sent = ::send(c->socket.native_handle(), line.data(), line.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)ignored_sent;
        boost::system::error_code ignored;
        c->socket.close(ignored);
      } else {
        c->uid = peer->uid;
        c->pid = peer->pid;
        clients_[c.get()] = c;
        read_request(c);
      }
    } else {
      spdlog::warn("query socket: accept: {}", ec.message());
    }
    accept();
  });
}

void QueryServer::arm_idle(const std::shared_ptr<Client>& c) {
  // A connection that never asks holds its user's slot for a short while only.
  c->idle.expires_after(c->asked ? limits_.idle_timeout : limits_.first_request_timeout);
  c->idle.async_wait([this, c, alive = std::weak_ptr<char>(alive_)](const boost::system::error_code& ec) {
    if (!alive.expired() && !ec) drop(c);
  });
}

void QueryServer::read_request(const std::shared_ptr<Client>& c) {
  arm_idle(c);
  boost::asio::async_read_until(c->socket, c->input, '\n',
                                [this, c, alive = std::weak_ptr<char>(alive_)](const boost::system::error_code& ec, size_t n) {
    if (alive.expired() || ec == boost::asio::error::operation_aborted) return;
    if (ec == boost::asio::error::not_found) {
      send(c, hq::error_line("request longer than " + std::to_string(limits_.max_request_bytes) + " bytes"), true);
      return;
    }
    if (ec) {
      drop(c);
      return;
    }
    on_request(c, n);
  });
}

void QueryServer::on_request(const std::shared_ptr<Client>& c, size_t line_bytes) {
  c->asked = true;
  std::string line(line_bytes - 1, '\0');
  std::istream in(&c->input);
  in.read(line.data(), static_cast<std::streamsize>(line.size()));
  c->input.consume(1);  // the newline
  memproxy::query::Query query = memproxy::query::parse_query(line);
  if (auto* trace = std::get_if<memproxy::trace_query::TraceRequest>(&query); trace != nullptr && traces_ != nullptr) {
    // The connection is the trace's from now on: it leaves the clients.
    c->idle.cancel();
    Protocol::socket socket = std::move(c->socket);
    forget(c);
    traces_->start(std::move(socket), c->uid, *trace);
    return;
  }
  if (auto* sites = std::get_if<hq::SitesRequest>(&query); sites != nullptr && sites_ != nullptr) {
    answer_sites(c, *sites);
    return;
  }
  if (auto* refused = std::get_if<memproxy::query::Refusal>(&query)) {
    send(c, hq::error_line(refused->why), false);
    return;
  }
  if (!std::holds_alternative<hq::Request>(query)) {
    // A sites or trace request to a server built without them.
    send(c, hq::error_line(hq::unknown_request(std::holds_alternative<hq::SitesRequest>(query)
                                                   ? hq::request::kSites
                                                   : memproxy::trace_query::request::kTrace)),
         false);
    return;
  }
  // The client waits for this answer without a deadline of its own: it
  // reads no request meanwhile, and collecting and encoding always finish
  // (a store question has its own deadline).
  c->idle.cancel();
  try {
    collect(std::get<hq::Request>(query), c->uid, state_,
            [this, c, alive = std::weak_ptr<char>(alive_)](Answer collected) {
              if (!alive.expired()) on_collected(c, std::move(collected));
            });
  } catch (const std::exception& e) {
    spdlog::warn("query socket: answering pid {} (uid {}): {}", c->pid, c->uid, e.what());
    send(c, hq::error_line(std::string("internal error: ") + e.what()), false);
  }
}

void QueryServer::answer_sites(const std::shared_ptr<Client>& c, const hq::SitesRequest& request) {
  c->idle.cancel();
  try {
    sites_->collect(request, c->uid,
                    [this, c, alive = std::weak_ptr<char>(alive_)](Answer collected) {
                      if (!alive.expired()) on_collected(c, std::move(collected));
                    });
  } catch (const std::exception& e) {
    spdlog::warn("query socket: answering pid {} (uid {}): {}", c->pid, c->uid, e.what());
    send(c, hq::error_line(std::string("internal error: ") + e.what()), false);
  }
}

void QueryServer::on_collected(const std::shared_ptr<Client>& c, Answer collected) {
  if (!c->socket.is_open()) return;
  const size_t reserved = line_bytes_bound(collected);
  if (queued_bytes_ + reserved > limits_.max_queued_bytes) {
    send(c, hq::error_line("the daemon is busy answering other clients; try again"), false);
    return;
  }
  queued_bytes_ += reserved;
  boost::asio::post(encoder_, [this, c, reserved, collected = std::move(collected), alive = std::weak_ptr<char>(alive_)] {
    std::string line;
    try {
      line = hq::answer_line(to_json(collected));
    } catch (const std::exception& e) {
      spdlog::warn("query socket: answering pid {} (uid {}): {}", c->pid, c->uid, e.what());
      line = hq::error_line(std::string("internal error: ") + e.what());
    }
    boost::asio::post(io_, [this, c, reserved, line = std::move(line), alive]() mutable {
      if (alive.expired()) return;
      queued_bytes_ -= reserved;
      on_answer(c, std::move(line));
    });
  });
}

void QueryServer::on_answer(const std::shared_ptr<Client>& c, std::string answer) {
  if (!c->socket.is_open()) return;
  if (queued_bytes_ + answer.size() > limits_.max_queued_bytes) {
    answer = hq::error_line("the daemon is busy answering other clients; try again");
  }
  send(c, std::move(answer), false);
}

void QueryServer::send(const std::shared_ptr<Client>& c, std::string line, bool then_close) {
  c->output = std::move(line);
  c->output += '\n';
  queued_bytes_ += c->output.size();
  arm_idle(c);
  boost::asio::async_write(c->socket, boost::asio::buffer(c->output),
                           [this, c, then_close, alive = std::weak_ptr<char>(alive_)](
                               const boost::system::error_code& ec, size_t) {
                             if (alive.expired()) return;
                             queued_bytes_ -= c->output.size();
                             std::string().swap(c->output);
                             if (ec == boost::asio::error::operation_aborted) return;
                             if (ec || then_close) {
                               drop(c);
                               return;
                             }
                             read_request(c);
                           });
}

void QueryServer::drop(const std::shared_ptr<Client>& c) {
  boost::system::error_code ignored;
  c->idle.cancel();
  c->socket.close(ignored);
  forget(c);
}

void QueryServer::forget(const std::shared_ptr<Client>& c) {
  if (clients_.erase(c.get()) != 0) slots_.release(c->uid);
}

}  // namespace memproxy::heapwatch
