// Moving protocol messages (protocol.hpp) over the worker's Unix stream
// socket: the daemon's side with a deadline on a non-blocking socket, the
// worker's side blocking. Descriptors travel as SCM_RIGHTS with a
// message's first bytes.
#ifndef MEMPROXYD_SYMBOLS_MESSAGE_IO_HPP
#define MEMPROXYD_SYMBOLS_MESSAGE_IO_HPP

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "memproxy/unique_fd.hpp"

namespace memproxy::symbols {

using Deadline = std::chrono::steady_clock::time_point;

// Why a transfer stopped: the peer closed (or died), the deadline passed,
// or anything else.
enum class IoStatus { ok, closed, timed_out, failed };

// Waits for `events` (POLLIN, POLLOUT) on `fd` until `deadline`: ok,
// timed_out, or failed with `why`.
IoStatus wait_for(int fd, short events, Deadline deadline, std::string* why);
// Sends header+body (`bytes`) with `fds` attached, before `deadline`.
IoStatus send_message(int socket, std::string_view bytes, std::span<const int> fds, Deadline deadline,
                      std::string* why);
// Reads exactly `size` bytes into `out`, before `deadline`.
IoStatus receive_exact(int socket, size_t size, std::string* out, Deadline deadline, std::string* why);

// The worker's side: one message (header checked, body at most `max`
// bytes) and the descriptors sent with it, received close-on-exec.
// `closed` at a clean end of input.
IoStatus read_message(int socket, size_t max, std::string* body, std::vector<UniqueFd>* fds, std::string* why);
bool write_all(int fd, std::string_view bytes);

}  // namespace memproxy::symbols

#endif
