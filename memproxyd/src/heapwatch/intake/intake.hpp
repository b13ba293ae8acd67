// The heap socket: where monitored processes hand memproxyd their heap
// accounts (a sealed memfd with a Hello message, SCM_RIGHTS). A client
// sends one message and closes; the connection ends once it is read.
//
// What the daemon believes: the process the kernel names for the
// connection (its pidfd and credentials, ProcessHandle::of_peer), and an
// account it checked itself (heap::MappedAccount: sealed, bounded,
// validated). A client can make its
// own numbers wrong and nothing else: a malformed message, a descriptor
// that is not a sealed account, too many connections, or a client that
// never sends anything are each refused without blocking the daemon.
//
// No user keeps another's processes from being watched: connections
// waiting for their hello are limited per user (UserSlots, user_limits.hpp,
// taken at accept from the connection's SO_PEERCRED), each waits at most
// hello_timeout, and refusals are logged with a count (RefusalLog), not a
// line each. A refused process is not lost: the heap watch's rescan finds
// it (finder.hpp).
#ifndef MEMPROXYD_HEAPWATCH_INTAKE_HPP
#define MEMPROXYD_HEAPWATCH_INTAKE_HPP

#include <boost/asio/io_context.hpp>
#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/generic/seq_packet_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "heapwatch/intake/refusal_log.hpp"
#include "heapwatch/intake/registry.hpp"
#include "heapwatch/intake/user_limits.hpp"

namespace memproxy::heapwatch {

struct IntakeLimits {
  UserLimits pending = kPendingHandOverLimits;
  std::chrono::milliseconds hello_timeout = kHelloTimeout;
};

class Intake {
 public:
  Intake(boost::asio::io_context& io, Registry& registry, IntakeLimits limits = {});
  ~Intake();

  // Listens at `socket_path` (any user may connect: mode 0666, in the
  // root-only runtime directory); a stale socket there is replaced.
  std::string listen(const std::string& socket_path);

  size_t connections() const { return connections_.size(); }
  // Hand-overs refused so far (not watched, or not read at all).
  size_t refused() const { return refusals_.total(); }

 private:
  // Boost 1.74 has no local::seq_packet_protocol: the generic one, AF_UNIX.
  using Protocol = boost::asio::generic::seq_packet_protocol;
  using Socket = Protocol::socket;
  struct Connection;
  void accept();
  void receive_hello(std::shared_ptr<Connection> c);
  void drop(const std::shared_ptr<Connection>& c);

  boost::asio::io_context& io_;
  Registry& registry_;
  boost::asio::basic_socket_acceptor<Protocol> acceptor_;
  std::string path_;
  IntakeLimits limits_;
  // Every connection in connections_ holds one slot of its uid, and no
  // other does.
  std::map<Connection*, std::shared_ptr<Connection>> connections_;
  UserSlots pending_;
  RefusalLog refusals_;
};

}  // namespace memproxy::heapwatch

#endif
