#include "daemon_probe.hpp"
#include "memproxy/unique_fd.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace memproxyctl {

namespace {

// A status record is a few hundred bytes; a file far larger is not one.
constexpr std::size_t kMaxStatusBytes = 64 * 1024;

// Non-blocking and never through a link: whatever sits at the path, the
// probe returns.
int open_for_reading(const std::string& path) {
  return ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
}

void read_record(DaemonState* state) {
  memproxy::UniqueFd file{open_for_reading(state->status_path)};
  struct stat st {};
  if (file.get() < 0 || ::fstat(file.get(), &st) != 0) {
    state->record_error = "cannot read status record " + state->status_path + ": " + std::strerror(errno);
    return;
  }
  if (!S_ISREG(st.st_mode) || static_cast<std::size_t>(st.st_size) > kMaxStatusBytes) {
    state->record_error = state->status_path + " is not a status record (not a small regular file)";
    return;
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  ssize_t n = ::pread(file.get(), text.data(), text.size(), 0);
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  state->record = memproxy::status::from_text(text, &state->record_error);
  if (!state->record) state->record_error = state->status_path + ": " + state->record_error;
}

void query_lock(int fd, DaemonState* state) {
  state->method = LivenessMethod::lock_query;
  state->method_detail = "lock query: fcntl(F_GETLK) on " + state->lock_path + ", no lock taken";
  struct stat st {};
  struct flock query {};
  query.l_type = F_WRLCK;
  query.l_whence = SEEK_SET;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    state->alive_reason = state->lock_path + " is not a regular file";
    return;
  }
  if (::fcntl(fd, F_GETLK, &query) != 0) {
    state->alive_reason = "cannot query the lock on " + state->lock_path + ": " + std::strerror(errno);
    return;
  }
  if (query.l_type == F_UNLCK) {
    state->alive_reason = "nobody holds " + state->lock_path;
    return;
  }
  if (query.l_type != F_WRLCK) {
    state->alive_reason = state->lock_path + " is read-locked by pid " + std::to_string(query.l_pid) +
                          "; memproxyd holds a write lock";
    return;
  }
  state->alive = true;
  state->lock_holder = query.l_pid;
  state->alive_reason = "memproxyd (pid " + std::to_string(query.l_pid) + ") holds " + state->lock_path;
  if (state->record && state->record->pid != query.l_pid) {
    state->alive_reason += "; the status record names pid " + std::to_string(state->record->pid);
  }
}

#if defined(__linux__)
std::string read_small(const std::string& path) {
  memproxy::UniqueFd file{open_for_reading(path)};
  if (file.get() < 0) return {};
  char buffer[64];
  ssize_t n = ::read(file.get(), buffer, sizeof buffer);
  std::string text(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

std::string base_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}
#endif

// The status record's pid, judged from /proc: the process exists, runs as
// the user who wrote the record (a recycled pid of someone else's program
// does not), and its executable (or, when exe is unreadable, its command
// name) is memproxyd.
void check_process(int open_errno, DaemonState* state) {
  state->method = LivenessMethod::process_check;
  const std::string why_not_lock = "cannot open " + state->lock_path + " (" + std::strerror(open_errno) + ")";
  if (!state->record) {
    state->method_detail = "status record pid, checked in /proc";
    state->alive_reason = why_not_lock + " and " + state->record_error;
    return;
  }
  const memproxy::status::Record& record = *state->record;
  const std::string pid = std::to_string(record.pid);
  if (record.state != "running") {
    state->method_detail = "status record";
    state->alive_reason = "the status record says " + record.state;
    return;
  }
#if defined(__linux__)
  state->method_detail = "status record pid, checked in /proc/" + pid + " (" + why_not_lock + ")";
  struct stat process {}, written {};
  if (record.pid <= 0 || ::stat(("/proc/" + pid).c_str(), &process) != 0) {
    state->alive_reason = "the recorded pid " + pid + " does not exist";
    return;
  }
  if (::stat(state->status_path.c_str(), &written) == 0 && process.st_uid != written.st_uid) {
    state->alive_reason = "pid " + pid + " runs as uid " + std::to_string(process.st_uid) +
                          ", not as uid " + std::to_string(written.st_uid) + " which wrote the status record";
    return;
  }
  char exe[PATH_MAX];
  ssize_t n = ::readlink(("/proc/" + pid + "/exe").c_str(), exe, sizeof exe - 1);
  std::string name;
  if (n > 0) {
    name = base_of(std::string(exe, static_cast<std::size_t>(n)));
    state->method_detail = "status record pid, checked in /proc/" + pid + "/exe (" + why_not_lock + ")";
  } else {
    name = read_small("/proc/" + pid + "/comm");
    state->method_detail = "status record pid, checked in /proc/" + pid + "/comm (" + why_not_lock + ")";
  }
  // After an upgrade the running binary shows as "memproxyd (deleted)".
  if (name != "memproxyd" && name.rfind("memproxyd ", 0) != 0) {
    state->alive_reason = "pid " + pid + " is " + (name.empty() ? "unidentifiable" : "'" + name + "'") +
                          ", not memproxyd";
    return;
  }
  state->alive = true;
  state->alive_reason = "memproxyd runs as pid " + pid;
#else
  state->method_detail = "status record pid, kill(pid, 0) (" + why_not_lock + ")";
  state->alive = record.pid > 0 && (::kill(static_cast<pid_t>(record.pid), 0) == 0 || errno == EPERM);
  state->alive_reason = state->alive ? "the recorded pid " + pid + " exists" : "the recorded pid " + pid + " does not exist";
#endif
}

}  // namespace

DaemonState probe_daemon(const std::string& table_path) {
  DaemonState state;
  state.lock_path = memproxy::status::lock_path_for(table_path);
  state.status_path = memproxy::status::status_path_for(table_path);
  read_record(&state);

  memproxy::UniqueFd lock{open_for_reading(state.lock_path)};
  if (lock.get() >= 0) {
    query_lock(lock.get(), &state);
  } else if (errno == EACCES || errno == EPERM) {
    check_process(errno, &state);
  } else {
    state.method = LivenessMethod::lock_query;
    state.method_detail = "lock query: fcntl(F_GETLK) on " + state.lock_path;
    state.alive_reason = "no lock file " + state.lock_path + " (" + std::strerror(errno) + ")";
  }
  return state;
}

}  // namespace memproxyctl
