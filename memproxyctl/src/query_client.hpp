// memproxyctl's side of the heap watch's query socket
// (memproxy/heap_query.hpp): one connection, one request line, one answer
// line. Every wait is bounded, and so is the answer's size.
#ifndef MEMPROXYCTL_QUERY_CLIENT_HPP
#define MEMPROXYCTL_QUERY_CLIENT_HPP

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "memproxy/defaults.hpp"
#include "memproxy/heap_query.hpp"
#include "options.hpp"

namespace memproxyctl {

// The query socket of `options`: --query-socket, else query.sock beside the table.
std::string query_socket_path(const GlobalOptions& options);

// The daemon cannot be reached (no socket, nobody listening): the message
// names the socket and how to start the daemon.
struct DaemonUnreachable : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// The daemon answered with {"error":...}, or with something unreadable.
struct QueryFailed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A connected socket to the daemon (the caller closes it); throws
// DaemonUnreachable.
int connect_query_socket(const std::string& socket_path);

// Sends `request` and returns the answer; throws DaemonUnreachable or
// QueryFailed (an {"error":...} answer included).
nlohmann::json ask(const std::string& socket_path, const memproxy::heap_query::Request& request,
                   std::chrono::milliseconds patience = std::chrono::seconds(10));
// The same for a request line made elsewhere (without its newline).
nlohmann::json ask_line(const std::string& socket_path, const std::string& request_line,
                        std::chrono::milliseconds patience = std::chrono::seconds(10));
nlohmann::json ask(const std::string& socket_path, const memproxy::heap_query::SitesRequest& request,
                   std::chrono::milliseconds patience = std::chrono::seconds(10));

// Runs `view`, a command that asks the daemon. The daemon out of reach, its
// refusal, or an answer of the wrong shape (nlohmann::json::exception)
// become one message on stderr and kExitInput; a refusal because no
// watched process has `pid` also says why not (unwatched.hpp).
int with_daemon(const GlobalOptions& options, const std::function<int()>& view,
                std::optional<pid_t> pid = std::nullopt);

}  // namespace memproxyctl

#endif
