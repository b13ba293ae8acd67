#include "daemonize.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace memproxy::daemon {

void Detacher::detach() {
  int fds[2];
  if (::pipe(fds) != 0) {
    std::fprintf(stderr, "memproxyd: cannot create a pipe: %s\n", std::strerror(errno));
    std::exit(1);
  }
  pid_t child = ::fork();
  if (child < 0) {
    std::fprintf(stderr, "memproxyd: cannot fork: %s\n", std::strerror(errno));
    std::exit(1);
  }
  if (child > 0) {
    ::close(fds[1]);
    unsigned char status = 1;
    ssize_t n;
    do {
      n = ::read(fds[0], &status, 1);
    } while (n < 0 && errno == EINTR);
    ::_exit(n == 1 ? status : 1);
  }
  ::close(fds[0]);
  ::fcntl(fds[1], F_SETFD, FD_CLOEXEC);
  ready_fd_ = fds[1];
  ::setsid();
  if (::chdir("/") != 0) {
    // Harmless: main() made every path absolute before detaching.
  }
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    ::dup2(null_fd, STDIN_FILENO);
    ::close(null_fd);
  }
}

void Detacher::ready(int exit_code) {
  if (ready_fd_ < 0) return;
  unsigned char status = static_cast<unsigned char>(exit_code);
  ssize_t n;
  do {
    n = ::write(ready_fd_, &status, 1);
  } while (n < 0 && errno == EINTR);
  ::close(ready_fd_);
  ready_fd_ = -1;
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    ::dup2(null_fd, STDOUT_FILENO);
    ::dup2(null_fd, STDERR_FILENO);
    ::close(null_fd);
  }
}

}  // namespace memproxy::daemon
