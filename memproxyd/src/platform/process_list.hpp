// The processes running on the host, as the kernel lists them now.
#ifndef MEMPROXYD_PLATFORM_PROCESS_LIST_HPP
#define MEMPROXYD_PLATFORM_PROCESS_LIST_HPP

#include <sys/types.h>

#include <functional>

namespace memproxy::platform {

// Calls `visit` with each running process's pid, while listing: a process
// that starts or ends meanwhile may or may not be visited. False, without
// a visit, when the list cannot be read.
bool for_each_process(const std::function<void(pid_t)>& visit);

}  // namespace memproxy::platform

#endif
