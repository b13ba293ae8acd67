// A process's credentials as they are now, and whether the kernel would
// show its memory to its owner.
#ifndef MEMPROXYD_PLATFORM_PROCESS_CREDENTIALS_HPP
#define MEMPROXYD_PLATFORM_PROCESS_CREDENTIALS_HPP

#include <sys/types.h>

#include <array>
#include <optional>

namespace memproxy::platform {

// Real, effective, saved and filesystem ids, in that order.
struct Credentials {
  std::array<long, 4> uids{-1, -1, -1, -1};
  std::array<long, 4> gids{-1, -1, -1, -1};
  bool all_equal(uid_t uid, gid_t gid) const {
    for (long u : uids) {
      if (u != static_cast<long>(uid)) return false;
    }
    for (long g : gids) {
      if (g != static_cast<long>(gid)) return false;
    }
    return true;
  }
};

// nullopt when the process is gone.
std::optional<Credentials> credentials_of(pid_t pid);

// Whether the process is dumpable and owned by `uid`:`gid`: what reading
// its maps and memory, or tracing it, would grant that user. False for a
// set-id or non-dumpable process, and for one that is gone.
bool dumpable_as(pid_t pid, uid_t uid, gid_t gid);

}  // namespace memproxy::platform

#endif
