// Formatting shared by the subcommands.
#ifndef MEMPROXYCTL_OUTPUT_HPP
#define MEMPROXYCTL_OUTPUT_HPP

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace memproxyctl {

// "2026-11-21T10:00:00.123Z", or "never" for 0.
std::string format_unix_ns(int64_t unix_ns);

// Pretty-printed JSON on stdout, one document per invocation.
void print_json(const nlohmann::json& document);

}  // namespace memproxyctl

#endif
