#include "symbols/sandbox.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "symbols/message_io.hpp"
#include "memproxy/unique_fd.hpp"

namespace memproxy::symbols {
namespace {

// What the child reports through the status pipe when a step fails.
struct ChildFailure {
  int step = 0;
  int error = 0;
};

constexpr const char* kSteps[] = {
    "", "moving descriptors", "setting up stdin/stdout/stderr", "closing descriptors", "chdir /",
    "setting rlimits", "dropping the capability bounding set", "clearing supplementary groups", "setresgid",
    "setresuid", "dropping capabilities", "setting no_new_privs", "setting the parent-death signal",
    "parent exited", "executing the worker",
};

[[noreturn]] void fail(int status_fd, int step) {
  ChildFailure failure{step, errno};
  ssize_t ignored = ::write(status_fd, &failure, sizeof failure);
  (void)ignored;
  _exit(127);
}

bool set_limit(int resource, uint64_t value) {
  struct rlimit limit{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
  return ::setrlimit(resource, &limit) == 0;
}

// Runs in the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void child(int program, char* const* argv, char* const* environment, int socket, int devnull,
                        int status_fd, const SandboxIdentity& identity, const SandboxLimits& limits, bool privileged,
                        pid_t parent) {
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  ::setpgid(0, 0);

  // Above 2 first, so that the dup2s below cannot overwrite one another.
  int high_socket = ::fcntl(socket, F_DUPFD, 10);
  int high_devnull = ::fcntl(devnull, F_DUPFD, 10);
  int high_status = ::fcntl(status_fd, F_DUPFD_CLOEXEC, 10);
  int high_program = ::fcntl(program, F_DUPFD_CLOEXEC, 10);
  if (high_socket < 0 || high_devnull < 0 || high_status < 0 || high_program < 0) fail(status_fd, 1);
  status_fd = high_status;
  if (::dup2(high_socket, 0) < 0 || ::dup2(high_socket, 1) < 0 || ::dup2(high_devnull, 2) < 0 ||
      ::dup2(high_status, 3) < 0 || ::fcntl(3, F_SETFD, FD_CLOEXEC) < 0 || ::dup2(high_program, 4) < 0 ||
      ::fcntl(4, F_SETFD, FD_CLOEXEC) < 0) {
    fail(status_fd, 2);
  }
  status_fd = 3;
  if (::syscall(SYS_close_range, 5U, ~0U, 0U) != 0) fail(status_fd, 3);
  if (::chdir("/") != 0) fail(status_fd, 4);

  if ((limits.address_space_bytes != 0 && !set_limit(RLIMIT_AS, limits.address_space_bytes)) ||
      !set_limit(RLIMIT_CPU, limits.cpu_seconds) || !set_limit(RLIMIT_NOFILE, limits.open_files) ||
      !set_limit(RLIMIT_CORE, 0) || !set_limit(RLIMIT_FSIZE, limits.file_size_bytes)) {
    fail(status_fd, 5);
  }

  if (privileged) {
    for (int cap = 0; ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; ++cap) {
      if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) fail(status_fd, 6);
    }
    if (::syscall(SYS_setgroups, 0, nullptr) != 0) fail(status_fd, 7);
    if (::syscall(SYS_setresgid, identity.gid, identity.gid, identity.gid) != 0) fail(status_fd, 8);
    if (::syscall(SYS_setresuid, identity.uid, identity.uid, identity.uid) != 0) fail(status_fd, 9);
    // setresuid away from 0 clears the capability sets unless securebits
    // say otherwise; clear them regardless, ambient ones included.
    struct __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    if (::syscall(SYS_capset, &header, data) != 0) fail(status_fd, 10);
    ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(status_fd, 11);
  // After the credential change, which clears the parent-death signal.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) fail(status_fd, 12);
  if (::getppid() != parent) fail(status_fd, 13);

  // The worker's user needs the right to execute the file, not to reach
  // it: the descriptor was opened with the daemon's credentials.
  ::syscall(SYS_execveat, 4, "", argv, environment, AT_EMPTY_PATH);
  fail(status_fd, 14);
}

}  // namespace

pid_t spawn_sandboxed(const std::vector<std::string>& argv, int socket, const SandboxIdentity& identity,
                      const SandboxLimits& limits, std::string* why,
                      const std::vector<std::string>& environment) {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/') {
    *why = "the worker's path must be absolute";
    return -1;
  }
  const bool privileged = ::geteuid() == 0;
  if (privileged && identity.uid == 0) {
    *why = "refusing to run the worker as root";
    return -1;
  }
  if (!privileged && (identity.uid != ::geteuid() || identity.gid != ::getegid())) {
    *why = "only root can run the worker as uid " + std::to_string(identity.uid);
    return -1;
  }
  std::vector<char*> arguments;
  for (const std::string& a : argv) arguments.push_back(const_cast<char*>(a.c_str()));
  arguments.push_back(nullptr);
  std::vector<char*> variables;
  for (const std::string& v : environment) variables.push_back(const_cast<char*>(v.c_str()));
  variables.push_back(nullptr);

  // Opened with the daemon's credentials and executed by descriptor: a
  // worker in a tree its user cannot enter (a build under a 0700 home or
  // CI directory) still runs, as long as its file lets that user execute it.
  UniqueFd program(::open(argv[0].c_str(), O_PATH | O_CLOEXEC));
  if (!program) {
    *why = std::string("starting the worker: opening it: ") + std::strerror(errno);
    return -1;
  }
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  int status_pipe[2];
  if (!devnull || ::pipe2(status_pipe, O_CLOEXEC) != 0) {
    *why = std::string("cannot start the worker: ") + std::strerror(errno);
    return -1;
  }
  UniqueFd status_read(status_pipe[0]), status_write(status_pipe[1]);

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    *why = std::string("fork: ") + std::strerror(errno);
    return -1;
  }
  if (pid == 0) {
    child(program.get(), arguments.data(), variables.data(), socket, devnull.get(), status_write.get(), identity, limits,
          privileged, parent);
  }

  status_write.reset();
  ChildFailure failure;
  ssize_t got = -1;
  const Deadline deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(limits.start_timeout_ms);
  std::string wait_why;
  IoStatus waited;
  while ((waited = wait_for(status_read.get(), POLLIN, deadline, &wait_why)) == IoStatus::ok) {
    got = ::read(status_read.get(), &failure, sizeof failure);
    if (got >= 0 || errno != EINTR) break;
  }
  const bool timed_out = waited == IoStatus::timed_out;
  if (got == 0) return pid;  // the status pipe closed on exec
  ::kill(pid, SIGKILL);  // also ends a stopped or traced child
  ::waitpid(pid, nullptr, 0);
  if (timed_out) {
    *why = "starting the worker: it did not execute within " + std::to_string(limits.start_timeout_ms) +
           " ms (stopped before exec?)";
  } else if (got == static_cast<ssize_t>(sizeof failure) && failure.step > 0 &&
      failure.step < static_cast<int>(sizeof kSteps / sizeof kSteps[0])) {
    *why = std::string("starting the worker: ") + kSteps[failure.step] + ": " + std::strerror(failure.error);
  } else {
    *why = "starting the worker failed";
  }
  return -1;
}

}  // namespace memproxy::symbols
