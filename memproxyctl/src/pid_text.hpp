// A process id as a user types it on the command line.
#ifndef MEMPROXYCTL_PID_TEXT_HPP
#define MEMPROXYCTL_PID_TEXT_HPP

#include <sys/types.h>

#include <optional>
#include <string>

namespace memproxyctl {

// Digits only, 1 to the largest pid_t; anything else is not a pid.
std::optional<pid_t> parse_pid(const std::string& text);

// "not a pid: TEXT", for a usage error.
std::string not_a_pid(const std::string& text);

}  // namespace memproxyctl

#endif
