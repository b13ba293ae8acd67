// The clock processes' start times are counted on: clock ticks
// (sysconf(_SC_CLK_TCK)) since the host booted, suspended time included.
#ifndef MEMPROXYD_PLATFORM_BOOT_CLOCK_HPP
#define MEMPROXYD_PLATFORM_BOOT_CLOCK_HPP

#include <cstdint>

namespace memproxy::platform {

// Clock ticks since boot now.
uint64_t ticks_since_boot();

// When the host booted, in Unix seconds; 0 when unknown. Read once.
int64_t boot_unix_s();

}  // namespace memproxy::platform

#endif
