#include "platform/process_exit_status.hpp"

#include <sys/ioctl.h>

#include <cstdint>

namespace memproxy::platform {
namespace {

// The first version of the kernel's struct pidfd_info (64 bytes); the
// ioctl is extensible, so a newer kernel takes this size too. Declared
// here: the C library's headers of an older distribution do not have it.
struct PidfdInfo {
  uint64_t mask;
  uint64_t cgroupid;
  uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
  int32_t exit_code;
};
static_assert(sizeof(PidfdInfo) == 64);
constexpr uint64_t kPidfdInfoExit = 1u << 3;
constexpr unsigned long kPidfdGetInfo = _IOWR(0xFF, 11, PidfdInfo);

}  // namespace

ExitQuery exit_status_of(int process, int* wait_status) {
  PidfdInfo info{};
  info.mask = kPidfdInfoExit;
  // ENOTTY or EINVAL: a kernel without PIDFD_GET_INFO; ESRCH: one that has
  // it but keeps nothing of a reaped process.
  if (::ioctl(process, kPidfdGetInfo, &info) != 0) return ExitQuery::unsupported;
  if ((info.mask & kPidfdInfoExit) == 0) {
    // Before 6.15 the kernel never sets it; since, it does once reaped. A
    // process that has ended but is not reaped answers like an old kernel:
    // the caller asks again for a while.
    return ExitQuery::not_reaped;
  }
  *wait_status = info.exit_code;
  return ExitQuery::known;
}

}  // namespace memproxy::platform
