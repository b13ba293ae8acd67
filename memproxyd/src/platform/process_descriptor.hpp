// A descriptor that refers to one process for its whole life (Linux: a
// pidfd): while it says the process runs, the pid has not been reused.
//
// Invariant: every function here returns at once; none waits for the process.
#ifndef MEMPROXYD_PLATFORM_PROCESS_DESCRIPTOR_HPP
#define MEMPROXYD_PLATFORM_PROCESS_DESCRIPTOR_HPP

#include <sys/types.h>

#include "memproxy/unique_fd.hpp"

namespace memproxy::platform {

// The running process `pid`; an invalid descriptor with errno set when
// there is none, or when this kernel cannot give one.
UniqueFd open_process(pid_t pid);

// The process at the other end of a connected Unix socket, as the kernel
// recorded it at connect; `recorded_pid` is its pid from peer_credentials.
// Invalid when it is gone. Where the kernel keeps no descriptor of the
// peer, the one of `recorded_pid` now: that pid may have been reused since
// connect, so the caller must check the process is the one it expects.
UniqueFd open_peer_process(int socket, pid_t recorded_pid);

// Whether the process has ended. The descriptor turns readable (POLLIN)
// then, so an event loop can wait for it.
bool process_ended(int process);

}  // namespace memproxy::platform

#endif
