#include "platform/boot_clock.hpp"

#include <time.h>
#include <unistd.h>

#include "memproxy/process_info.hpp"

namespace memproxy::platform {

uint64_t ticks_since_boot() {
  timespec now{};
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  const auto hz = static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
  return static_cast<uint64_t>(now.tv_sec) * hz + static_cast<uint64_t>(now.tv_nsec) * hz / 1000000000u;
}

// btime in /proc/stat.
int64_t boot_unix_s() {
  static const int64_t boot = static_cast<int64_t>(process::keyed_number("/proc/stat", "btime").value_or(0));
  return boot;
}

}  // namespace memproxy::platform
