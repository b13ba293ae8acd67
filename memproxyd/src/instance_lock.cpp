#include "instance_lock.hpp"

#include <fcntl.h>
#include <unistd.h>
#if !defined(__sun)
#include <sys/file.h>
#endif

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace memproxy::daemon {
namespace {

pid_t read_pid_from(int fd) {
  char buffer[32] = {};
  ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  if (n <= 0) return 0;
  return static_cast<pid_t>(std::strtol(buffer, nullptr, 10));
}

// Both lock kinds, on one descriptor: a reader may probe with flock() (BSD
// semantics, Linux) or with fcntl()/Boost file_lock (POSIX record locks), and on
// Linux the two do not see each other. Solaris has only the POSIX kind.
bool try_lock(int fd) {
#if !defined(__sun)
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) return false;
#endif
  struct flock record {};
  record.l_type = F_WRLCK;
  record.l_whence = SEEK_SET;
  return ::fcntl(fd, F_SETLK, &record) == 0;
}

}  // namespace

InstanceLock::~InstanceLock() {
  if (fd_ >= 0) ::close(fd_);
}

std::string InstanceLock::acquire(const std::string& lock_path) {
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return "cannot open lock file " + lock_path + ": " + std::strerror(errno);
  if (!try_lock(fd)) {
    int error = errno;
    if (error != EWOULDBLOCK && error != EAGAIN && error != EACCES) {
      ::close(fd);
      return "cannot lock " + lock_path + ": " + std::strerror(error);
    }
    // The holder writes its pid right after locking; give it a moment.
    pid_t holder = 0;
    for (int attempt = 0; attempt < 50 && holder == 0; ++attempt) {
      holder = read_pid_from(fd);
      if (holder == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::close(fd);
    return "another memproxyd" + (holder > 0 ? " (pid " + std::to_string(holder) + ")" : std::string()) +
           " is already publishing this table; it holds " + lock_path;
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    int error = errno;
    ::close(fd);
    return "cannot record the pid in " + lock_path + ": " + std::strerror(error);
  }
  fd_ = fd;
  return {};
}

pid_t read_lock_pid(const std::string& lock_path) {
  int fd = ::open(lock_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  pid_t pid = read_pid_from(fd);
  ::close(fd);
  return pid;
}

}  // namespace memproxy::daemon
