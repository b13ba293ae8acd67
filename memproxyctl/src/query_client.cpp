#include "query_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "exit_codes.hpp"
#include "terminal_text.hpp"
#include "unwatched.hpp"

namespace memproxyctl {

namespace hq = memproxy::heap_query;

namespace {

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

[[noreturn]] void unreachable(const std::string& path, const std::string& why) {
  throw DaemonUnreachable("cannot reach memproxyd's query socket " + path + ": " + why +
                          "; is memproxyd running with its heap watch? Start it with `systemctl start memproxyd` "
                          "(svcadm enable memproxyd on Solaris), or give the socket of the daemon you run with "
                          "--query-socket or -t TABLE");
}

}  // namespace

std::string query_socket_path(const GlobalOptions& options) {
  if (!options.query_socket.empty()) return options.query_socket;
  auto slash = options.table_path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "" : options.table_path.substr(0, slash);
  return dir + "/" + memproxy::defaults::kQuerySocketName;
}

int connect_query_socket(const std::string& socket_path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof address.sun_path) unreachable(socket_path, "the path is too long for a socket");
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  Socket s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (s.fd() < 0) unreachable(socket_path, std::string("socket: ") + std::strerror(errno));
  if (::connect(s.fd(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    unreachable(socket_path, std::strerror(errno));
  }
  return s.release();
}

nlohmann::json ask(const std::string& socket_path, const hq::Request& request, std::chrono::milliseconds patience) {
  return ask_line(socket_path, hq::request_line(request), patience);
}

nlohmann::json ask_line(const std::string& socket_path, const std::string& request_line,
                        std::chrono::milliseconds patience) {
  Socket s(connect_query_socket(socket_path));
  const auto deadline = Clock::now() + patience;
  const std::string line = request_line + "\n";
  for (size_t sent = 0; sent < line.size();) {
    ssize_t n = ::send(s.fd(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw QueryFailed("sending to " + socket_path + ": " + std::strerror(errno));
    sent += static_cast<size_t>(n);
  }
  std::string answer;
  char buffer[65536];
  for (;;) {
    pollfd p{s.fd(), POLLIN, 0};
    int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) throw QueryFailed("memproxyd did not answer on " + socket_path + " in time");
    ssize_t n = ::recv(s.fd(), buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw QueryFailed("reading from " + socket_path + ": " + std::strerror(errno));
    if (n == 0) throw QueryFailed("memproxyd closed " + socket_path + " before answering");
    answer.append(buffer, static_cast<size_t>(n));
    auto newline = answer.find('\n', answer.size() - static_cast<size_t>(n));
    if (newline != std::string::npos) {
      answer.resize(newline);
      break;
    }
    if (answer.size() > hq::kMaxResponseBytes) {
      throw QueryFailed("memproxyd's answer on " + socket_path + " is longer than " +
                        std::to_string(hq::kMaxResponseBytes) + " bytes");
    }
  }
  nlohmann::json j = nlohmann::json::parse(answer, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw QueryFailed("memproxyd's answer on " + socket_path + " is not JSON");
  auto error = j.find(hq::field::kError);
  if (error != j.end()) throw QueryFailed(error->is_string() ? error->get<std::string>() : error->dump());
  return j;
}

nlohmann::json ask(const std::string& socket_path, const hq::SitesRequest& request,
                   std::chrono::milliseconds patience) {
  return ask_line(socket_path, hq::sites_request_line(request), patience);
}

int with_daemon(const GlobalOptions& options, const std::function<int()>& view, std::optional<pid_t> pid) {
  std::string message;
  try {
    return view();
  } catch (const DaemonUnreachable& e) {
    message = e.what();
  } catch (const QueryFailed& e) {
    message = e.what();
    if (pid && message == "no watched process has pid " + std::to_string(*pid)) {
      message += ": " + why_unwatched(options, *pid);
    }
  } catch (const nlohmann::json::exception& e) {
    message = std::string("memproxyd's answer is not what was asked for: ") + e.what();
  }
  std::cerr << "memproxyctl: " << terminal_safe(message) << '\n';
  return kExitInput;
}

}  // namespace memproxyctl
