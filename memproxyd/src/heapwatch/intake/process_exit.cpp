#include "heapwatch/intake/process_exit.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <cstring>
#include <string_view>

#include "platform/kernel_log.hpp"

namespace memproxy::heapwatch {
namespace {

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

bool oom_killed(pid_t pid, int64_t since_boot_us) {
  const std::string needle = killed_needle(pid);
  return platform::any_kernel_log_record(
      [&](std::string_view record) { return record_says_killed(record, needle, since_boot_us); });
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
