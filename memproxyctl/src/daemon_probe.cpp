#include "daemon_probe.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace memproxyctl {

namespace {

// kill(pid, 0) fails with EPERM for a live process of another user: still alive.
bool pid_exists(int64_t pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

// true: held by another process; false: free or absent. `why` explains.
bool lock_is_held(const std::string& lock_path, std::string* why) {
  int fd = ::open(lock_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    *why = "no lock file " + lock_path + " (" + std::strerror(errno) + ")";
    return false;
  }
  bool held = false;
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
    ::flock(fd, LOCK_UN);
    *why = "nobody holds " + lock_path;
  } else if (errno == EWOULDBLOCK) {
    held = true;
    *why = "the daemon holds " + lock_path;
  } else {
    *why = "cannot lock " + lock_path + ": " + std::strerror(errno);
  }
  ::close(fd);
  return held;
}

}  // namespace

DaemonState probe_daemon(const std::string& table_path) {
  DaemonState state;
  state.lock_path = memproxy::status::lock_path_for(table_path);
  state.status_path = memproxy::status::status_path_for(table_path);

  std::ifstream in(state.status_path);
  if (!in) {
    state.record_error = "cannot read status record " + state.status_path + ": " + std::strerror(errno);
  } else {
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    state.record = memproxy::status::from_text(text, &state.record_error);
    if (!state.record) state.record_error = state.status_path + ": " + state.record_error;
  }

  bool held = lock_is_held(state.lock_path, &state.alive_reason);
  if (held && state.record && !pid_exists(state.record->pid)) {
    state.alive_reason += ", but its recorded pid " + std::to_string(state.record->pid) + " does not exist";
    held = false;
  }
  state.alive = held;
  return state;
}

}  // namespace memproxyctl
