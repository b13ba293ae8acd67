#include "platform/boot_clock.hpp"

#include <time.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace memproxy::platform {

uint64_t ticks_since_boot() {
  timespec now{};
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  const auto hz = static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
  return static_cast<uint64_t>(now.tv_sec) * hz + static_cast<uint64_t>(now.tv_nsec) * hz / 1000000000u;
}

// btime in /proc/stat.
int64_t boot_unix_s() {
  static const int64_t boot = [] {
    std::ifstream stat("/proc/stat");
    std::string key;
    int64_t value = 0;
    while (stat >> key) {
      if (key == "btime" && stat >> value) return value;
      stat.ignore(1 << 20, '\n');
    }
    return int64_t{0};
  }();
  return boot;
}

}  // namespace memproxy::platform
