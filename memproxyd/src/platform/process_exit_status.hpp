// How a process ended, asked of its descriptor (process_descriptor.hpp)
// by one that is not its parent and so cannot wait for it.
//
// Invariants: nothing here blocks; a kernel that cannot say answers
// unsupported, never a guess.
#ifndef MEMPROXYD_PLATFORM_PROCESS_EXIT_STATUS_HPP
#define MEMPROXYD_PLATFORM_PROCESS_EXIT_STATUS_HPP

namespace memproxy::platform {

enum class ExitQuery {
  known,        // *wait_status holds it
  not_reaped,   // ended (or running) but not reaped yet: ask again later
  unsupported,  // this kernel does not tell
};

// The wait status (as waitpid gives it) of the process `process` refers
// to. Linux: PIDFD_GET_INFO with PIDFD_INFO_EXIT, since 6.15.
ExitQuery exit_status_of(int process, int* wait_status);

}  // namespace memproxy::platform

#endif
