// Who a watched process is: the kernel's word for its pid and uid (from
// SO_PEERCRED or /proc), completed from /proc: its start time (which, with
// the pid, identifies it for as long as the host runs), its names, its user.
#ifndef MEMPROXYD_HEAPWATCH_PROCESS_IDENTITY_HPP
#define MEMPROXYD_HEAPWATCH_PROCESS_IDENTITY_HPP

#include <optional>

#include "heapwatch/intake/watched_process.hpp"

namespace memproxy::heapwatch {

// nullopt when the process is already gone.
std::optional<WatchedProcess> identify(pid_t pid, uid_t uid);

}  // namespace memproxy::heapwatch

#endif
