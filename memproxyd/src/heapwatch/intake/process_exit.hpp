// How a watched process ended, in words: the wait status its process
// descriptor carries once the process was reaped
// (platform/process_exit_status.hpp), and, for one killed by SIGKILL,
// whether the kernel log says the OOM killer took it, or else whether its
// memory cgroup counted an OOM kill (memory_limit.hpp cgroup_oom_kills)
// while it ran.
//
// Invariants: nothing here blocks; a kernel that cannot say leaves the end
// unknown (""), never guessed.
#ifndef MEMPROXYD_HEAPWATCH_PROCESS_EXIT_HPP
#define MEMPROXYD_HEAPWATCH_PROCESS_EXIT_HPP

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace memproxy::heapwatch {

// Whether the kernel log (platform/kernel_log.hpp) says that the OOM
// killer killed `pid` no earlier than `since_boot_us` (microseconds since
// boot, the log's clock). False where the log cannot be read.
bool oom_killed(pid_t pid, int64_t since_boot_us);

// Whether one record of the kernel log
// ("PRIORITY,SEQUENCE,MICROSECONDS,FLAGS;MESSAGE"), says the OOM killer
// killed `pid` no earlier than `since_boot_us`.
bool record_says_oom_killed(std::string_view record, pid_t pid, int64_t since_boot_us);

// What says the OOM killer took a process killed by SIGKILL.
enum class OomEvidence {
  none,
  kernel_log,    // the kernel log names the process (oom_killed)
  cgroup_count,  // its memory cgroup's OOM kill count rose while it ran (cgroup_oom_kills)
};

// The end in words: "exited with status 3", "killed by SIGSEGV (core
// dumped)", "killed by the OOM killer (SIGKILL)", or, on the cgroup's word
// alone (which another of its processes may have earned), "killed by
// SIGKILL as its memory cgroup's OOM killer struck".
std::string end_words(int wait_status, OomEvidence oom);

// Microseconds since boot (the kernel log's clock) of a start time in
// clock ticks since boot (platform/boot_clock.hpp).
int64_t ticks_to_boot_us(uint64_t start_ticks);

}  // namespace memproxy::heapwatch

#endif
