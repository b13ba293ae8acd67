// One daemon per table: an exclusive lock on TABLE.lock held for the daemon's
// lifetime. The kernel drops it when the process dies however it dies, so a
// stale lock file never blocks a restart (unlike a pid file).
#ifndef MEMPROXYD_INSTANCE_LOCK_HPP
#define MEMPROXYD_INSTANCE_LOCK_HPP

#include <string>
#include <sys/types.h>

namespace memproxy::daemon {

class InstanceLock {
 public:
  InstanceLock() = default;
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;
  ~InstanceLock();

  // Takes the lock and writes this pid into the file. On failure returns a
  // message; when another daemon holds the lock it names that daemon's pid.
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
