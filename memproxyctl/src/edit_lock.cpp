#include "edit_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace memproxyctl {

namespace {

bool names_descriptor(const std::string& path, int fd) {
  struct stat named {}, held {};
  return ::lstat(path.c_str(), &named) == 0 && ::fstat(fd, &held) == 0 && named.st_dev == held.st_dev &&
         named.st_ino == held.st_ino;
}

std::string holder_of(int fd) {
  char buffer[32] = {};
  ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  long pid = n > 0 ? std::strtol(buffer, nullptr, 10) : 0;
  return pid > 0 ? " (pid " + std::to_string(pid) + ")" : std::string();
}

}  // namespace

std::string edit_lock_path_for(const std::string& file) { return file + ".memproxyctl-lock"; }

EditLock::~EditLock() {
  if (fd_ < 0) return;
  if (names_descriptor(path_, fd_)) ::unlink(path_.c_str());
  ::close(fd_);
}

std::string EditLock::acquire(const std::string& file) {
  path_ = edit_lock_path_for(file);
  // A few rounds cover the lock file being removed by a holder that just finished.
  for (int attempt = 0; attempt < 10; ++attempt) {
    int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600);
    if (fd < 0) return "cannot open the edit lock " + path_ + ": " + std::strerror(errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) {
      ::close(fd);
      return "refusing the edit lock " + path_ + ": not a regular file owned by uid " + std::to_string(::geteuid()) +
             "; remove it";
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int error = errno;
      std::string holder = holder_of(fd);
      ::close(fd);
      if (error == EWOULDBLOCK) {
        return "another memproxyctl" + holder + " is editing " + file + " (it holds " + path_ +
               "); try again when it is done";
      }
      return "cannot lock " + path_ + ": " + std::strerror(error);
    }
    if (!names_descriptor(path_, fd)) {
      ::close(fd);
      continue;
    }
    // The pid only helps a refused run name the holder; the lock holds without it.
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, pid.data(), pid.size(), 0);
    fd_ = fd;
    return {};
  }
  return "cannot take the edit lock " + path_ + ": it keeps being replaced";
}

}  // namespace memproxyctl
