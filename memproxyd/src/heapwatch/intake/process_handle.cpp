#include "heapwatch/intake/process_handle.hpp"

#include <cerrno>
#include <cstring>
#include <optional>

#include "memproxy/process_info.hpp"
#include "platform/peer_credentials.hpp"
#include "platform/process_credentials.hpp"
#include "platform/process_descriptor.hpp"

namespace memproxy::heapwatch {
namespace {

// What may be shown of `pid` with these credentials: "" or why not.
std::string showable(pid_t pid, uid_t uid, gid_t gid) {
  auto c = platform::credentials_of(pid);
  if (!c) return "it is gone";
  if (!c->all_equal(uid, gid)) return "its credentials are not those it registered with (set-id or changed)";
  if (!platform::dumpable_as(pid, uid, gid)) return "it is not dumpable";
  return "";
}

std::shared_ptr<const ProcessHandle> complete(UniqueFd pidfd, pid_t pid, uid_t uid, gid_t gid,
                                              std::string* why) {
  auto ticks = process::start_ticks(pid);
  std::string refused = ticks ? showable(pid, uid, gid) : "it is gone";
  // Read first, then found running: what was read is this process's.
  if (refused.empty() && platform::process_ended(pidfd.get())) refused = "it is gone";
  if (!refused.empty()) {
    *why = refused;
    return nullptr;
  }
  return std::make_shared<const ProcessHandle>(std::move(pidfd), ProcessId{pid, *ticks}, uid, gid);
}

}  // namespace

std::shared_ptr<const ProcessHandle> ProcessHandle::of_peer(int socket, std::string* why) {
  std::optional<platform::PeerCredentials> peer = platform::peer_credentials(socket);
  if (!peer || peer->pid <= 0) {
    *why = "the kernel names no peer";
    return nullptr;
  }
  // Where the kernel kept no descriptor of the peer, the pid may have been
  // reused since connect, but a process of another user fails the
  // credentials check in complete().
  UniqueFd process = platform::open_peer_process(socket, peer->pid);
  if (!process) {
    *why = "it is gone";
    return nullptr;
  }
  return complete(std::move(process), peer->pid, peer->uid, peer->gid, why);
}

std::shared_ptr<const ProcessHandle> ProcessHandle::of_pid(pid_t pid, std::string* why) {
  UniqueFd pidfd = platform::open_process(pid);
  if (!pidfd) {
    *why = std::string("pidfd_open: ") + std::strerror(errno);
    return nullptr;
  }
  auto c = platform::credentials_of(pid);
  if (!c) {
    *why = "it is gone";
    return nullptr;
  }
  return complete(std::move(pidfd), pid, static_cast<uid_t>(c->uids[0]), static_cast<gid_t>(c->gids[0]), why);
}

bool ProcessHandle::ended() const { return platform::process_ended(pidfd_.get()); }

std::string ProcessHandle::check() const {
  auto ticks = process::start_ticks(id_.pid);
  std::string why = !ticks || *ticks != id_.start_ticks ? "it is gone" : showable(id_.pid, uid_, gid_);
  if (why.empty() && ended()) why = "it is gone";
  return why;
}

}  // namespace memproxy::heapwatch
