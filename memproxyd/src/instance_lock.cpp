#include "instance_lock.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#if !defined(__sun)
#include <sys/file.h>
#endif

#include <cerrno>
#include <chrono>
#include <cstdio>
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
// semantics, Linux) or with fcntl() (POSIX record locks: F_GETLK names the
// holder without taking anything), and on Linux the two do not see each
// other. Solaris has only the POSIX kind.
bool try_lock(int fd) {
#if !defined(__sun)
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) return false;
#endif
  struct flock record {};
  record.l_type = F_WRLCK;
  record.l_whence = SEEK_SET;
  return ::fcntl(fd, F_SETLK, &record) == 0;
}

// The pid holding a POSIX write lock on the file, 0 when none does. Only a
// descriptor open for writing can hold one, never a mere reader.
pid_t write_lock_holder(int fd) {
  struct flock query {};
  query.l_type = F_WRLCK;
  query.l_whence = SEEK_SET;
  if (::fcntl(fd, F_GETLK, &query) != 0 || query.l_type != F_WRLCK) return 0;
  return query.l_pid;
}

std::string mode_text(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

std::string held_by_message(const std::string& lock_path, pid_t holder) {
  return "another memproxyd" + (holder > 0 ? " (pid " + std::to_string(holder) + ")" : std::string()) +
         " is already publishing this table; it holds " + lock_path;
}

enum class Opened { ok, replace, refused };

// Opens (creating it 0600 when absent) and judges the lock file. `fd` is
// left open on `ok` and `replace`; `st` describes it.
Opened open_lock_file(const std::string& lock_path, int* fd, struct stat* st, std::string* error) {
  if (::lstat(lock_path.c_str(), st) == 0 && !S_ISREG(st->st_mode)) {
    // Never opened: opening a device or FIFO can block or act.
    *error = "refusing lock file " + lock_path + ": it is " +
             (S_ISLNK(st->st_mode) ? "a symbolic link" : "not a regular file") + "; remove it";
    return Opened::refused;
  }
  constexpr int kFlags = O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
  *fd = ::open(lock_path.c_str(), kFlags | O_CREAT | O_EXCL, kLockFileMode);
  const bool created = *fd >= 0;
  if (!created && errno == EEXIST) *fd = ::open(lock_path.c_str(), kFlags);
  if (*fd < 0) {
    *error = "cannot open lock file " + lock_path + ": " + std::strerror(errno);
    return Opened::refused;
  }
  if (::fstat(*fd, st) != 0 || !S_ISREG(st->st_mode)) {
    *error = "refusing lock file " + lock_path + ": not a regular file; remove it";
  } else if (st->st_uid != ::geteuid()) {
    *error = "refusing lock file " + lock_path + ": it belongs to uid " + std::to_string(st->st_uid) +
             ", not to uid " + std::to_string(::geteuid()) + " which runs memproxyd; remove it";
  } else if ((st->st_mode & 07777) == kLockFileMode) {
    return Opened::ok;
  } else if (created) {
    // open()'s mode went through the umask; nobody else has opened it yet.
    if (::fchmod(*fd, kLockFileMode) == 0) return Opened::ok;
    *error = "cannot set mode " + mode_text(kLockFileMode) + " on lock file " + lock_path + ": " +
             std::strerror(errno);
  } else {
    return Opened::replace;
  }
  ::close(*fd);
  *fd = -1;
  return Opened::refused;
}

bool same_file(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

// Whether `path` still names the file open as `fd`: a lock on a file
// unlinked meanwhile would exclude nobody.
bool still_named(const std::string& path, int fd) {
  struct stat named {}, held {};
  return ::lstat(path.c_str(), &named) == 0 && ::fstat(fd, &held) == 0 && same_file(named, held);
}

}  // namespace

InstanceLock::~InstanceLock() {
  if (fd_ >= 0) ::close(fd_);
}

std::string InstanceLock::acquire(const std::string& lock_path) {
  int fd = -1;
  struct stat st {};
  std::string error;
  Opened opened = open_lock_file(lock_path, &fd, &st, &error);
  if (opened == Opened::refused) return error;
  if (opened == Opened::replace) {
    // Whoever opened the old file while its mode let them may hold a lock on
    // it for ever. A daemon is recognised by its write lock, which needs
    // write access, when only the owner could write; anything else is
    // replaced by a new, private file.
    const bool others_could_write = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
    pid_t daemon = others_could_write ? 0 : write_lock_holder(fd);
    const bool ours_to_remove = still_named(lock_path, fd);
    ::close(fd);
    if (daemon > 0) return held_by_message(lock_path, daemon);
    if (ours_to_remove && ::unlink(lock_path.c_str()) != 0 && errno != ENOENT) {
      return "cannot replace lock file " + lock_path + " (its mode was " + mode_text(st.st_mode) + ", not " +
             mode_text(kLockFileMode) + "): " + std::strerror(errno);
    }
    opened = open_lock_file(lock_path, &fd, &st, &error);
    if (opened == Opened::refused) return error;
    if (opened == Opened::replace) {
      ::close(fd);
      return "cannot replace lock file " + lock_path + ": another process keeps recreating it with mode " +
             mode_text(st.st_mode);
    }
  }
  if (!try_lock(fd)) {
    int lock_error = errno;
    if (lock_error != EWOULDBLOCK && lock_error != EAGAIN && lock_error != EACCES) {
      ::close(fd);
      return "cannot lock " + lock_path + ": " + std::strerror(lock_error);
    }
    pid_t holder = write_lock_holder(fd);
    // The holder writes its pid right after locking; give it a moment.
    for (int attempt = 0; attempt < 50 && holder == 0; ++attempt) {
      holder = read_pid_from(fd);
      if (holder == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::close(fd);
    return held_by_message(lock_path, holder);
  }
  if (!still_named(lock_path, fd)) {
    ::close(fd);
    return "lock file " + lock_path + " was replaced while this memproxyd locked it (another one starting at "
           "the same moment); try again";
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    int write_error = errno;
    ::close(fd);
    return "cannot record the pid in " + lock_path + ": " + std::strerror(write_error);
  }
  fd_ = fd;
  return {};
}

pid_t read_lock_pid(const std::string& lock_path) {
  int fd = ::open(lock_path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return 0;
  pid_t pid = read_pid_from(fd);
  ::close(fd);
  return pid;
}

}  // namespace memproxy::daemon
