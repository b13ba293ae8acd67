#include "symbols/message_io.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "symbols/protocol.hpp"

namespace memproxy::symbols {

IoStatus wait_for(int fd, short events, Deadline deadline, std::string* why) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      *why = "timed out";
      return IoStatus::timed_out;
    }
    pollfd p{fd, events, 0};
    int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count() + 1, 60000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      *why = std::string("poll: ") + std::strerror(errno);
      return IoStatus::failed;
    }
    if (ready > 0) return IoStatus::ok;
  }
}

IoStatus send_message(int socket, std::string_view bytes, std::span<const int> fds, Deadline deadline,
                      std::string* why) {
  size_t sent = 0;
  bool rights_sent = fds.empty();
  while (sent < bytes.size()) {
    IoStatus status = wait_for(socket, POLLOUT, deadline, why);
    if (status != IoStatus::ok) return status;
    iovec io{const_cast<char*>(bytes.data() + sent), bytes.size() - sent};
    msghdr message{};
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    std::vector<char> control;
    if (!rights_sent) {
      control.resize(CMSG_SPACE(sizeof(int) * fds.size()));
      message.msg_control = control.data();
      message.msg_controllen = control.size();
      cmsghdr* header = CMSG_FIRSTHDR(&message);
      header->cmsg_level = SOL_SOCKET;
      header->cmsg_type = SCM_RIGHTS;
      header->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(header), fds.data(), sizeof(int) * fds.size());
    }
    ssize_t done = ::sendmsg(socket, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (done < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (done < 0) {
      *why = std::string("sending to the worker: ") + std::strerror(errno);
      return errno == EPIPE || errno == ECONNRESET ? IoStatus::closed : IoStatus::failed;
    }
    rights_sent = true;
    sent += static_cast<size_t>(done);
  }
  return IoStatus::ok;
}

IoStatus receive_exact(int socket, size_t size, std::string* out, Deadline deadline, std::string* why) {
  out->assign(size, '\0');
  size_t got = 0;
  while (got < size) {
    IoStatus status = wait_for(socket, POLLIN, deadline, why);
    if (status != IoStatus::ok) return status;
    ssize_t n = ::recv(socket, out->data() + got, size - got, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) {
      *why = std::string("reading from the worker: ") + std::strerror(errno);
      return errno == ECONNRESET ? IoStatus::closed : IoStatus::failed;
    }
    if (n == 0) {
      *why = "the worker closed its output";
      return IoStatus::closed;
    }
    got += static_cast<size_t>(n);
  }
  return IoStatus::ok;
}

IoStatus read_message(int socket, size_t max, std::string* body, std::vector<UniqueFd>* fds, std::string* why) {
  char header[protocol::kHeaderBytes];
  size_t got = 0;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 253)];
  while (got < sizeof header) {
    iovec io{header + got, sizeof header - got};
    msghdr message{};
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *why = std::strerror(errno);
      return IoStatus::failed;
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        fds->emplace_back(fd);
      }
    }
    if (message.msg_flags & MSG_CTRUNC) {
      *why = "too many descriptors";
      return IoStatus::failed;
    }
    if (n == 0) {
      if (got == 0) return IoStatus::closed;
      *why = "input ended inside a message";
      return IoStatus::failed;
    }
    got += static_cast<size_t>(n);
  }
  std::optional<uint32_t> length = protocol::parse_header(std::string_view(header, sizeof header), max, why);
  if (!length) return IoStatus::failed;
  body->assign(*length, '\0');
  size_t have = 0;
  while (have < *length) {
    ssize_t n = ::read(socket, body->data() + have, *length - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *why = n == 0 ? "input ended inside a message" : std::strerror(errno);
      return IoStatus::failed;
    }
    have += static_cast<size_t>(n);
  }
  return IoStatus::ok;
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace memproxy::symbols
