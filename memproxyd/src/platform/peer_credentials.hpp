// Who is at the other end of a connected Unix socket, as the kernel
// recorded it at connect: never what the client claims.
#ifndef MEMPROXYD_PLATFORM_PEER_CREDENTIALS_HPP
#define MEMPROXYD_PLATFORM_PEER_CREDENTIALS_HPP

#include <sys/types.h>

#include <optional>

namespace memproxy::platform {

struct PeerCredentials {
  pid_t pid = 0;  // may be 0 where the kernel has no process to name
  uid_t uid = 0;
  gid_t gid = 0;
};

// nullopt when the kernel cannot say (not a connected Unix socket).
std::optional<PeerCredentials> peer_credentials(int socket);

}  // namespace memproxy::platform

#endif
