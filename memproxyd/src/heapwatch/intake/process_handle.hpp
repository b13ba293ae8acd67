// A watched process as the kernel names it: a pidfd, taken when the process
// handed its account over (the connection's own pidfd) or when the finder
// found it, with the credentials it had then.
//
// Invariants:
// - A handle names one process for its whole life: while its pidfd says the
//   process runs, the pid cannot have been reused, so /proc/PID read and
//   then found still running is that process's.
// - The heap watch shows a process only while check() passes: still
//   running, the same start time, its real, effective, saved and filesystem
//   uids and gids all equal to those registered, and dumpable. That is what
//   /proc/PID/maps and ptrace would grant its owner, no more: a process that
//   execs a set-id program, or drops or changes credentials, or makes itself
//   non-dumpable, is no longer shown to anyone but through what /proc shows.
// - Who may see a process, and whose identity the symbolizer takes, come
//   from the handle only, never from a lookup by pid at the time of asking.
#ifndef MEMPROXYD_HEAPWATCH_PROCESS_HANDLE_HPP
#define MEMPROXYD_HEAPWATCH_PROCESS_HANDLE_HPP

#include <sys/types.h>

#include <memory>
#include <string>

#include "heapwatch/intake/watched_process.hpp"
#include "memproxy/unique_fd.hpp"

namespace memproxy::heapwatch {

class ProcessHandle {
 public:
  // The process at the other end of a connected Unix socket, as the kernel
  // recorded it at connect (SO_PEERPIDFD, SO_PEERCRED); where the kernel
  // has no SO_PEERPIDFD, pidfd_open of the recorded pid, accepted only when
  // its credentials are the recorded ones. Null, with `why`, when the
  // process is gone or may not be shown (set-id, non-dumpable).
  static std::shared_ptr<const ProcessHandle> of_peer(int socket, std::string* why);
  // A running process by pid (found by the finder), with its credentials as
  // they are now. Null, with `why`, as above.
  static std::shared_ptr<const ProcessHandle> of_pid(pid_t pid, std::string* why);

  const ProcessId& id() const { return id_; }
  uid_t uid() const { return uid_; }
  gid_t gid() const { return gid_; }
  // Readable (POLLIN) once the process has ended.
  int pidfd() const { return pidfd_.get(); }

  // "" while the process may be shown as registered; else why not.
  std::string check() const;
  bool ended() const;

  ProcessHandle(UniqueFd pidfd, ProcessId id, uid_t uid, gid_t gid)
      : pidfd_(std::move(pidfd)), id_(id), uid_(uid), gid_(gid) {}

 private:
  UniqueFd pidfd_;
  ProcessId id_;
  uid_t uid_;
  gid_t gid_;
};

using Handle = std::shared_ptr<const ProcessHandle>;

}  // namespace memproxy::heapwatch

#endif
