#include "heapwatch/intake/process_exit.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <charconv>
#include <csignal>
#include <cstring>
#include <string_view>

#include "memproxy/unique_fd.hpp"

namespace memproxy::heapwatch {
namespace {

// The first version of the kernel's struct pidfd_info (64 bytes); the
// ioctl is extensible, so a newer kernel takes this size too. Declared
// here: the C library's headers of an older distribution do not have it.
struct PidfdInfo {
  uint64_t mask;
  uint64_t cgroupid;
  uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
  int32_t exit_code;
};
static_assert(sizeof(PidfdInfo) == 64);
constexpr uint64_t kPidfdInfoExit = 1u << 3;
constexpr unsigned long kPidfdGetInfo = _IOWR(0xFF, 11, PidfdInfo);

// "Killed process 4242 (": the global OOM killer and a memory cgroup's
// both say it so.
std::string killed_needle(pid_t pid) { return "Killed process " + std::to_string(pid) + " ("; }

bool record_says_killed(std::string_view record, std::string_view needle, int64_t since_boot_us) {
  const size_t semicolon = record.find(';');
  if (semicolon == std::string_view::npos) return false;
  const std::string_view prefix = record.substr(0, semicolon);
  const size_t first = prefix.find(',');
  const size_t second = first == std::string_view::npos ? first : prefix.find(',', first + 1);
  if (second == std::string_view::npos) return false;
  int64_t at_us = 0;
  const char* from = prefix.data() + second + 1;
  const char* to = prefix.data() + prefix.size();
  if (std::from_chars(from, to, at_us).ec != std::errc()) return false;
  if (at_us < since_boot_us) return false;
  const std::string_view message = record.substr(semicolon + 1);
  const size_t end_of_line = message.find('\n');
  return message.substr(0, end_of_line).find(needle) != std::string_view::npos;
}

}  // namespace

bool record_says_oom_killed(std::string_view record, pid_t pid, int64_t since_boot_us) {
  return record_says_killed(record, killed_needle(pid), since_boot_us);
}

ExitQuery exit_status_of(int pidfd, int* wait_status) {
  PidfdInfo info{};
  info.mask = kPidfdInfoExit;
  // ENOTTY or EINVAL: a kernel without PIDFD_GET_INFO; ESRCH: one that has
  // it but keeps nothing of a reaped process.
  if (::ioctl(pidfd, kPidfdGetInfo, &info) != 0) return ExitQuery::unsupported;
  if ((info.mask & kPidfdInfoExit) == 0) {
    // Before 6.15 the kernel never sets it; since, it does once reaped. A
    // process that has ended but is not reaped answers like an old kernel:
    // the caller asks again for a while.
    return ExitQuery::not_reaped;
  }
  *wait_status = info.exit_code;
  return ExitQuery::known;
}

bool oom_killed(pid_t pid, int64_t since_boot_us) {
  UniqueFd log(::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!log) return false;
  // One record per read, oldest first; EPIPE says records were overwritten
  // while reading (the next read goes on), EAGAIN that none are left.
  char record[8192];
  const std::string needle = killed_needle(pid);
  for (;;) {
    const ssize_t n = ::read(log.get(), record, sizeof record);
    if (n < 0) {
      if (errno == EPIPE || errno == EINTR) continue;
      return false;
    }
    if (n == 0) return false;
    if (record_says_killed(std::string_view(record, static_cast<size_t>(n)), needle, since_boot_us)) return true;
  }
}

std::string end_words(int wait_status, OomEvidence oom) {
  if (WIFEXITED(wait_status)) return "exited with status " + std::to_string(WEXITSTATUS(wait_status));
  if (!WIFSIGNALED(wait_status)) return "";
  const int signal = WTERMSIG(wait_status);
  if (signal == SIGKILL && oom == OomEvidence::kernel_log) return "killed by the OOM killer (SIGKILL)";
  if (signal == SIGKILL && oom == OomEvidence::cgroup_count) return "killed by SIGKILL as its memory cgroup's OOM killer struck";
  const char* abbreviation = ::sigabbrev_np(signal);
  std::string words = "killed by " + (abbreviation != nullptr ? "SIG" + std::string(abbreviation)
                                                               : "signal " + std::to_string(signal));
  if (WCOREDUMP(wait_status)) words += " (core dumped)";
  return words;
}

int64_t ticks_to_boot_us(uint64_t start_ticks) {
  static const int64_t ticks_per_second = std::max<int64_t>(1, ::sysconf(_SC_CLK_TCK));
  return static_cast<int64_t>(start_ticks) * 1'000'000 / ticks_per_second;
}

}  // namespace memproxy::heapwatch
