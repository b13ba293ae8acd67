// mp-query-client SOCKET LINE...: sends each LINE to a query socket and
// prints each answer line: a client the tests can run as another user.
// Exits 3 when it cannot connect, 4 when the socket closes before an answer.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: mp-query-client SOCKET LINE...\n");
    return 2;
  }
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", argv[1]);
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    std::perror("connect");
    return 3;
  }
  timeval patience{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
  std::string pending;
  for (int i = 2; i < argc; ++i) {
    std::string line = std::string(argv[i]) + "\n";
    if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) return 4;
    for (;;) {
      auto newline = pending.find('\n');
      if (newline != std::string::npos) {
        std::printf("%s\n", pending.substr(0, newline).c_str());
        pending.erase(0, newline + 1);
        break;
      }
      char buffer[65536];
      ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return 4;
      pending.append(buffer, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return 0;
}
