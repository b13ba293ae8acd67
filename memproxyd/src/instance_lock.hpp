// One daemon per table: an exclusive lock on TABLE.lock held for the daemon's
// lifetime. The kernel drops it when the process dies however it dies, so a
// stale lock file never blocks a restart (unlike a pid file).
//
// The file is a regular file owned by the daemon's user, mode 0600: nobody
// else can open it, so nobody else can lock it and keep the daemon from
// starting. (A lock is taken through any descriptor, even a read-only one.)
#ifndef MEMPROXYD_INSTANCE_LOCK_HPP
#define MEMPROXYD_INSTANCE_LOCK_HPP

#include <string>
#include <sys/types.h>

namespace memproxy::daemon {

inline constexpr mode_t kLockFileMode = 0600;

class InstanceLock {
 public:
  InstanceLock() = default;
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;
  ~InstanceLock();

  // Takes the lock and writes this pid into the file. On failure returns a
  // message; when another daemon holds the lock it names that daemon's pid.
  // Refuses a lock file that is a link or not a regular file, or that belongs
  // to another user. One with a mode other than 0600 (written by an older
  // memproxyd, or chmod'ed) may have been opened by anyone, who could still
  // hold a lock through that descriptor: it is replaced by a new file.
  std::string acquire(const std::string& lock_path);

  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// The pid recorded in a lock file, or 0 when there is none. Never call it in
// the process holding the lock: closing any descriptor of the file drops that
// process's POSIX record locks.
pid_t read_lock_pid(const std::string& lock_path);

}  // namespace memproxy::daemon

#endif
