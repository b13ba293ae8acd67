#include "heapwatch/intake/intake.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>

#include "heapwatch/intake/process_identity.hpp"
#include "memproxy/heap_account.h"
#include "platform/peer_credentials.hpp"

namespace memproxy::heapwatch {
namespace {

// One message of exactly a Hello's size with exactly one descriptor; -1
// (nothing received) or the descriptor, with `why` set when refused.
int receive_account(int socket, std::string* why) {
  heap::Hello hello{};
  iovec part{&hello, sizeof hello};
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))];
  msghdr m{};
  m.msg_iov = &part;
  m.msg_iovlen = 1;
  m.msg_control = control;
  m.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(socket, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0) {
    *why = std::string("recvmsg: ") + std::strerror(errno);
    return -1;
  }
  int fd = -1, extra = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int received;
      std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof received);
      if (fd < 0) {
        fd = received;
      } else {
        ::close(received);
        ++extra;
      }
    }
  }
  if (n != static_cast<ssize_t>(sizeof hello) || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || extra != 0 ||
      std::memcmp(hello.magic, "MPXHELLO", sizeof hello.magic) != 0 || !heap::readable_format(hello.format_version)) {
    *why = "not a heap account hello";
    if (fd >= 0) ::close(fd);
    return -1;
  }
  if (fd < 0) *why = "no account descriptor attached";
  return fd;
}

}  // namespace

struct Intake::Connection {
  explicit Connection(boost::asio::io_context& io) : socket(io), deadline(io) {}
  Socket socket;
  boost::asio::steady_timer deadline;
  std::optional<platform::PeerCredentials> peer;  // at connect, as the kernel recorded it
};

Intake::Intake(boost::asio::io_context& io, Registry& registry, IntakeLimits limits)
    : io_(io), registry_(registry), acceptor_(io), limits_(limits), pending_(limits.pending), refusals_(io) {}

Intake::~Intake() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  if (!path_.empty()) ::unlink(path_.c_str());
}

std::string Intake::listen(const std::string& socket_path) {
  struct stat st {};
  if (::lstat(socket_path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return socket_path + " exists and is not a socket";
    ::unlink(socket_path.c_str());
  }
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof address.sun_path) return "heap socket path too long: " + socket_path;
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  boost::system::error_code ec;
  acceptor_.open(Protocol(AF_UNIX, 0), ec);
  if (!ec) acceptor_.bind(Protocol::endpoint(&address, sizeof address), ec);
  if (!ec) acceptor_.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) return "cannot listen on " + socket_path + ": " + ec.message();
  path_ = socket_path;
  // Any user's monitored process hands its account here; the kernel says
  // whose it is.
  if (::chmod(socket_path.c_str(), 0666) != 0) return "cannot chmod " + socket_path + ": " + std::strerror(errno);
  accept();
  return "";
}

void Intake::accept() {
  auto c = std::make_shared<Connection>(io_);
  acceptor_.async_accept(c->socket, [this, c](const boost::system::error_code& ec) {
    if (ec == boost::asio::error::operation_aborted) return;
    if (!ec) {
      std::string why;
      c->peer = platform::peer_credentials(c->socket.native_handle());
      if (!c->peer) {
        boost::system::error_code ignored;
        c->socket.close(ignored);
      } else if (why = pending_.take(c->peer->uid); !why.empty()) {
        refusals_.refused(c->peer->uid, c->peer->pid, "too many hand-overs waiting for their hello: " + why);
        boost::system::error_code ignored;
        c->socket.close(ignored);
      } else {
        connections_[c.get()] = c;
        receive_hello(c);
      }
    }
    accept();
  });
}

void Intake::receive_hello(std::shared_ptr<Connection> c) {
  c->deadline.expires_after(limits_.hello_timeout);
  c->deadline.async_wait([this, c](const boost::system::error_code& ec) {
    if (ec) return;
    refusals_.refused(c->peer->uid, c->peer->pid,
                      "no hello within " + std::to_string(limits_.hello_timeout.count()) + " ms of connecting");
    drop(c);
  });
  c->socket.async_wait(Socket::wait_read, [this, c](const boost::system::error_code& ec) {
    c->deadline.cancel();
    if (ec) {
      drop(c);
      return;
    }
    // The credentials the kernel recorded at connect, read then: they do
    // not change while the connection lives.
    const platform::PeerCredentials* peer = &*c->peer;
    if (peer->pid <= 0) {
      drop(c);
      return;
    }
    std::string why;
    int fd = receive_account(c->socket.native_handle(), &why);
    if (fd < 0) {
      refusals_.refused(peer->uid, peer->pid, why);
      drop(c);
      return;
    }
    heap::MappedAccount account = heap::MappedAccount::from_fd(fd, &why);
    if (!account) {
      refusals_.refused(peer->uid, peer->pid, why);
      drop(c);
      return;
    }
    Handle handle = ProcessHandle::of_peer(c->socket.native_handle(), &why);
    std::optional<WatchedProcess> process = handle ? identify(peer->pid, handle->uid()) : std::nullopt;
    if (handle && process && id_of(*process) != handle->id()) process.reset();
    if (!handle || !process) {
      refusals_.refused(peer->uid, peer->pid, !handle ? why : "it is gone");
      drop(c);
      return;
    }
    const bool exec_of_watched = registry_.contains(id_of(*process));  // the registry logs what it runs now
    why = registry_.add(std::move(*process), std::move(account), std::move(handle));
    if (!why.empty()) {
      spdlog::warn("heap socket: not watching pid {} (uid {}): {}", peer->pid, peer->uid, why);
    } else if (!exec_of_watched) {
      spdlog::info("watching the heap of pid {} (uid {})", peer->pid, peer->uid);
    }
    // The process's end is its pidfd's to say (ExitWatch), not this
    // connection's: the process has closed it already.
    drop(c);
  });
}

void Intake::drop(const std::shared_ptr<Connection>& c) {
  boost::system::error_code ignored;
  c->deadline.cancel();
  c->socket.close(ignored);
  if (connections_.erase(c.get()) != 0) pending_.release(c->peer->uid);
}

}  // namespace memproxy::heapwatch
