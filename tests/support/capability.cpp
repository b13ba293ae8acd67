#include "capability.hpp"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace memproxy::testing {

namespace {

struct ExecutionFailure {
  int exec_errno = 0;  // execve's errno, 0 when it started
  std::string text;    // "" when the program ran and exited 0
};

ExecutionFailure try_execute(const std::string& program) {
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) return {0, std::string("pipe: ") + strerror(errno)};
  pid_t pid = fork();
  if (pid < 0) return {0, std::string("fork: ") + strerror(errno)};
  if (pid == 0) {
    char* argv[] = {const_cast<char*>(program.c_str()), nullptr};
    char* envp[] = {nullptr};
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      dup2(devnull, 1);
      dup2(devnull, 2);
    }
    execve(argv[0], argv, envp);
    int error = errno;
    ssize_t ignored = write(report[1], &error, sizeof error);
    (void)ignored;
    _exit(127);
  }
  close(report[1]);
  int exec_errno = 0;
  ssize_t got = read(report[0], &exec_errno, sizeof exec_errno);
  close(report[0]);
  int status = 0;
  // Bounded: a program that hangs is a failure to run, not a hang of the suite.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return {0, program + " did not finish within 20 s"};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (got == static_cast<ssize_t>(sizeof exec_errno)) {
    return {exec_errno, "execve(" + program + ") failed: " + strerror(exec_errno)};
  }
  if (WIFSIGNALED(status)) return {0, program + " was killed by signal " + std::to_string(WTERMSIG(status))};
  if (WEXITSTATUS(status) != 0) return {0, program + " exited with status " + std::to_string(WEXITSTATUS(status))};
  return {};
}

}  // namespace

std::string execution_failure(const std::string& program) { return try_execute(program).text; }

std::string missing_32bit_execution() {
  static const std::string reason = [] {
    const char* override_path = getenv("MEMPROXY_TEST_EXEC32_CHECK");
#ifdef MEMPROXY_EXEC32_CHECK
    std::string program = override_path != nullptr ? override_path : MEMPROXY_EXEC32_CHECK;
#else
    if (override_path == nullptr) {
      return std::string(
          "the 32-bit library and programs were not built (MEMPROXY_BUILD_32BIT is OFF: no -m32 toolchain, "
          "Debian's gcc-multilib/g++-multilib)");
    }
    std::string program = override_path;
#endif
    ExecutionFailure failure = try_execute(program);
    if (failure.text.empty()) return failure.text;
    std::string hint = failure.exec_errno == ENOEXEC ? "; the kernel has no 32-bit emulation (ia32_emulation=off)" : "";
    return "this machine cannot execute 32-bit programs (" + failure.text + hint +
           "); the 32-bit library and programs were built, their run tests are skipped";
  }();
  return reason;
}

std::string missing_file(const std::string& path, const std::string& debian_package) {
  if (access(path.c_str(), R_OK) == 0) return "";
  return path + " is not installed (Debian package " + debian_package + ")";
}

std::string missing_program(const std::string& path, const std::string& debian_package) {
  if (access(path.c_str(), X_OK) == 0) return "";
  return path + " is not installed (Debian package " + debian_package + ")";
}

std::string missing_root(const std::string& why_root) {
  if (geteuid() == 0) return "";
  return "needs root to " + why_root;
}

std::string missing_user(const std::string& name) {
  if (getpwnam(name.c_str()) != nullptr) return "";
  return "this machine has no user '" + name + "'";
}

std::string missing_unprivileged_runner() {
  for (const std::string& why : {missing_root("run commands as 'nobody'"), missing_user("nobody"),
                                 missing_program("/usr/bin/setpriv", "util-linux")}) {
    if (!why.empty()) return why;
  }
  return "";
}

}  // namespace memproxy::testing
