// How a watched process ended, as the kernel tells the daemon, which is not
// its parent and so cannot wait for it: the wait status its pidfd carries
// once the process was reaped (PIDFD_GET_INFO with PIDFD_INFO_EXIT, Linux
// 6.15), and, for one killed by SIGKILL, whether the kernel log says the
// OOM killer took it, or else whether its memory cgroup counted an OOM kill
// (memory_limit.hpp cgroup_oom_kills) while it ran.
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

enum class ExitQuery {
  known,        // *wait_status holds it
  not_reaped,   // ended (or running) but not reaped yet: ask again later
  unsupported,  // this kernel does not tell
};

// The wait status (as waitpid gives it) of the process `pidfd` refers to.
ExitQuery exit_status_of(int pidfd, int* wait_status);

// Whether the kernel log (/dev/kmsg, readable by root) says that the OOM
// killer killed `pid` no earlier than `since_boot_us` (microseconds since
// boot, the log's clock). False where the log cannot be read.
bool oom_killed(pid_t pid, int64_t since_boot_us);

// Whether one record of the kernel log, as /dev/kmsg gives it
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
// clock ticks since boot (/proc/PID/stat's).
int64_t ticks_to_boot_us(uint64_t start_ticks);

}  // namespace memproxy::heapwatch

#endif
