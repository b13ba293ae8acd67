#include "platform/peer_credentials.hpp"

#include <sys/socket.h>

namespace memproxy::platform {

std::optional<PeerCredentials> peer_credentials(int socket) {
  ucred peer{};
  socklen_t length = sizeof peer;
  if (::getsockopt(socket, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0) return std::nullopt;
  return PeerCredentials{peer.pid, peer.uid, peer.gid};
}

}  // namespace memproxy::platform
