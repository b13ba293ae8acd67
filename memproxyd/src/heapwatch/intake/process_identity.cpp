#include "heapwatch/intake/process_identity.hpp"

#include <pwd.h>
#include <unistd.h>

#include <string>

#include "heapwatch/intake/memory_limit.hpp"
#include "memproxy/clock.hpp"
#include "memproxy/process_info.hpp"
#include "memproxy/program_name.hpp"
#include "platform/boot_clock.hpp"

namespace memproxy::heapwatch {
namespace {

std::string user_name(uid_t uid) {
  passwd entry{};
  passwd* found = nullptr;
  char buffer[4096];
  if (getpwuid_r(uid, &entry, buffer, sizeof buffer, &found) == 0 && found != nullptr) return found->pw_name;
  return std::to_string(uid);
}

}  // namespace

std::optional<WatchedProcess> identify(pid_t pid, uid_t uid) {
  auto ticks = process::start_ticks(pid);
  if (!ticks) return std::nullopt;
  WatchedProcess p;
  p.set_id({pid, *ticks});
  p.uid = uid;
  p.user = user_name(uid);
  process::Names names = process::names_of(pid);
  p.program = process::program_name(
      process::base_name(names.invoked_path.empty() ? names.resolved_path : names.invoked_path),
      process::base_name(names.resolved_path), process::command_line(pid));
  p.exe = names.resolved_path;
  p.memory_cgroup = memory_cgroup_of(pid);
  const long hz = sysconf(_SC_CLK_TCK);
  if (hz > 0 && platform::boot_unix_s() > 0) {
    p.started_unix_ns = (platform::boot_unix_s() * kNsPerSecond) + static_cast<int64_t>(*ticks) * (kNsPerSecond / hz);
  }
  return p;
}

}  // namespace memproxy::heapwatch
