// A stand-in for memproxyd's query socket, for the CLI's process-level
// tests: it answers each connection's one request line with what the test
// says, then closes it.
#ifndef MEMPROXYCTL_TESTS_FAKE_DAEMON_HPP
#define MEMPROXYCTL_TESTS_FAKE_DAEMON_HPP

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace memproxyctl::testing {

// Listens on `path`; answers each connection's one request line with
// answer(line), until destroyed.
class FakeDaemon {
 public:
  FakeDaemon(const std::string& path, std::function<std::string(const std::string&)> answer)
      : answer_(std::move(answer)) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0) << std::strerror(errno);
    EXPECT_EQ(::listen(fd_, 8), 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeDaemon() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      std::string line;
      char c;
      while (::recv(client, &c, 1, 0) == 1 && c != '\n') line += c;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        requests_.push_back(line);
      }
      const std::string reply = answer_(line) + "\n";
      ::send(client, reply.data(), reply.size(), MSG_NOSIGNAL);
      ::close(client);
    }
  }

  std::function<std::string(const std::string&)> answer_;
  int fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<std::string> requests_;
};

}  // namespace memproxyctl::testing

#endif
