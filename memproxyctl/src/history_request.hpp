// The history request that `history` and `report` send for PID|PROGRAM and
// --since/--until: an all-digit target is a pid unless `force_name`, and a
// pid names that process while a name names its newest process.
#ifndef MEMPROXYCTL_HISTORY_REQUEST_HPP
#define MEMPROXYCTL_HISTORY_REQUEST_HPP

#include <cstdint>
#include <string>
#include <variant>

#include "memproxy/heap_query.hpp"

namespace memproxyctl {

// The request, or the usage error to print ("--since: ...").
std::variant<memproxy::heap_query::Request, std::string> history_request(const std::string& target, bool force_name,
                                                                         const std::string& since,
                                                                         const std::string& until,
                                                                         int64_t now_unix_ns);

int64_t now_unix_ns();

}  // namespace memproxyctl

#endif
