#include "platform/process_credentials.hpp"

#include <sys/stat.h>

#include <sstream>
#include <string>

#include "memproxy/process_info.hpp"

namespace memproxy::platform {

std::optional<Credentials> credentials_of(pid_t pid) {
  bool ok = false;
  std::istringstream status(process::read_proc_file("/proc/" + std::to_string(pid) + "/status", &ok));
  if (!ok) return std::nullopt;
  Credentials c;
  bool uids = false, gids = false;
  std::string line;
  while (std::getline(status, line) && !(uids && gids)) {
    const bool is_uid = line.rfind("Uid:", 0) == 0, is_gid = line.rfind("Gid:", 0) == 0;
    if (!is_uid && !is_gid) continue;
    std::istringstream fields(line.substr(4));
    auto& ids = is_uid ? c.uids : c.gids;
    for (long& id : ids) {
      if (!(fields >> id)) return std::nullopt;
    }
    (is_uid ? uids : gids) = true;
  }
  if (!uids || !gids) return std::nullopt;
  return c;
}

// The kernel gives /proc/PID to root:root while the process is not
// dumpable (set-id, or PR_SET_DUMPABLE 0), and to its owner otherwise.
bool dumpable_as(pid_t pid, uid_t uid, gid_t gid) {
  struct stat st {};
  if (::stat(("/proc/" + std::to_string(pid)).c_str(), &st) != 0) return false;
  return st.st_uid == uid && st.st_gid == gid;
}

}  // namespace memproxy::platform
