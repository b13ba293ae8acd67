#include "heapwatch/intake/process_handle.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "memproxy/process_info.hpp"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

namespace memproxy::heapwatch {
namespace {

// Real, effective, saved and filesystem ids, from /proc/PID/status.
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

bool has_ended(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  return ::poll(&p, 1, 0) != 0;
}

// What may be shown of `pid` with these credentials: "" or why not.
std::string showable(pid_t pid, uid_t uid, gid_t gid) {
  auto c = credentials_of(pid);
  if (!c) return "it is gone";
  if (!c->all_equal(uid, gid)) return "its credentials are not those it registered with (set-id or changed)";
  if (!dumpable_as(pid, uid, gid)) return "it is not dumpable";
  return "";
}

std::shared_ptr<const ProcessHandle> complete(UniqueFd pidfd, pid_t pid, uid_t uid, gid_t gid,
                                              std::string* why) {
  auto ticks = process::start_ticks(pid);
  std::string refused = ticks ? showable(pid, uid, gid) : "it is gone";
  // Read first, then found running: what was read is this process's.
  if (refused.empty() && has_ended(pidfd.get())) refused = "it is gone";
  if (!refused.empty()) {
    *why = refused;
    return nullptr;
  }
  return std::make_shared<const ProcessHandle>(std::move(pidfd), ProcessId{pid, *ticks}, uid, gid);
}

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0u)); }

}  // namespace

std::shared_ptr<const ProcessHandle> ProcessHandle::of_peer(int socket, std::string* why) {
  ucred peer{};
  socklen_t length = sizeof peer;
  if (::getsockopt(socket, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0 || peer.pid <= 0) {
    *why = "the kernel names no peer";
    return nullptr;
  }
  int fd = -1;
  length = sizeof fd;
  if (::getsockopt(socket, SOL_SOCKET, SO_PEERPIDFD, &fd, &length) != 0) {
    if (errno != ENOPROTOOPT) {
      *why = "it is gone";
      return nullptr;
    }
    // An older kernel: the pid may have been reused since connect, but a
    // process of another user fails the credentials check in complete().
    fd = pidfd_open(peer.pid);
    if (fd < 0) {
      *why = "it is gone";
      return nullptr;
    }
  }
  return complete(UniqueFd(fd), peer.pid, peer.uid, peer.gid, why);
}

std::shared_ptr<const ProcessHandle> ProcessHandle::of_pid(pid_t pid, std::string* why) {
  int fd = pidfd_open(pid);
  if (fd < 0) {
    *why = std::string("pidfd_open: ") + std::strerror(errno);
    return nullptr;
  }
  UniqueFd pidfd(fd);
  auto c = credentials_of(pid);
  if (!c) {
    *why = "it is gone";
    return nullptr;
  }
  return complete(std::move(pidfd), pid, static_cast<uid_t>(c->uids[0]), static_cast<gid_t>(c->gids[0]), why);
}

bool ProcessHandle::ended() const { return has_ended(pidfd_.get()); }

std::string ProcessHandle::check() const {
  auto ticks = process::start_ticks(id_.pid);
  std::string why = !ticks || *ticks != id_.start_ticks ? "it is gone" : showable(id_.pid, uid_, gid_);
  if (why.empty() && ended()) why = "it is gone";
  return why;
}

}  // namespace memproxy::heapwatch
