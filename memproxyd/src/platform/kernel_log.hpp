// The kernel's log, as a privileged reader sees it (Linux: /dev/kmsg,
// readable by root): one record at a time, oldest first, each
// "PRIORITY,SEQUENCE,MICROSECONDS_SINCE_BOOT,FLAGS;MESSAGE".
//
// Invariant: never blocks; the records are those logged before the call.
#ifndef MEMPROXYD_PLATFORM_KERNEL_LOG_HPP
#define MEMPROXYD_PLATFORM_KERNEL_LOG_HPP

#include <functional>
#include <string_view>

namespace memproxy::platform {

// Whether `matches` is true of a record; stops at the first. False where
// the log cannot be read.
bool any_kernel_log_record(const std::function<bool(std::string_view record)>& matches);

}  // namespace memproxy::platform

#endif
