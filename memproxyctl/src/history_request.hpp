// The history request that `history` and `report` send for PID|PROGRAM and
// --since/--until: an all-digit target is a pid unless `force_name`, and a
// pid names that process while a name names its newest process.
#ifndef MEMPROXYCTL_HISTORY_REQUEST_HPP
#define MEMPROXYCTL_HISTORY_REQUEST_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "memproxy/heap_query.hpp"

namespace memproxyctl {

// The request, or the usage error to print ("--since: ...").
std::variant<memproxy::heap_query::Request, std::string> history_request(const std::string& target, bool force_name,
                                                                         const std::string& since,
                                                                         const std::string& until,
                                                                         int64_t now_unix_ns);

// When a program's name chose the process: which one of those so named
// (`running`: the daemon's top answer) it is, and how to choose another;
// "" when no other process has the name.
std::string chosen_process_note(const std::string& program, const memproxy::heap_query::Process& chosen,
                                const std::vector<memproxy::heap_query::View>& running);
// The same, asking the daemon on `socket` which processes run; "" when
// `request` names a pid, or the daemon cannot say.
std::string chosen_process_note(const std::string& socket, const memproxy::heap_query::Request& request,
                                const memproxy::heap_query::Process& chosen);

}  // namespace memproxyctl

#endif
