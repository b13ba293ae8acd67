// What the daemon shows in `memproxyctl top --json`, as the end-to-end tests
// ask it: nothing (no entry, no pid, 0 bytes) when top fails, so a caller's
// bounded wait asks again.
#ifndef MEMPROXY_TESTS_HEAPWATCH_TOP_ENTRIES_HPP
#define MEMPROXY_TESTS_HEAPWATCH_TOP_ENTRIES_HPP

#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "e2e_support.hpp"

namespace heapwatch_e2e {

inline std::vector<nlohmann::json> top_entries(const std::string& table) {
  Outcome top = memproxyctl(table, {"top", "--json"});
  if (!top.ok()) return {};
  return nlohmann::json::parse(top.out)["processes"].get<std::vector<nlohmann::json>>();
}

inline std::optional<nlohmann::json> entry_in_top(const std::string& table, pid_t pid) {
  for (const nlohmann::json& v : top_entries(table)) {
    if (v["process"]["pid"] == pid) return v;
  }
  return std::nullopt;
}

inline std::vector<pid_t> watched_pids(const std::string& table) {
  std::vector<pid_t> pids;
  for (const nlohmann::json& v : top_entries(table)) pids.push_back(v["process"]["pid"].get<pid_t>());
  return pids;
}

inline bool watches(const std::string& table, pid_t pid) { return entry_in_top(table, pid).has_value(); }

// 0 when the process is not shown.
inline uint64_t live_bytes_of(const std::string& table, pid_t pid) {
  std::optional<nlohmann::json> v = entry_in_top(table, pid);
  return v ? (*v)["latest"]["live_bytes"].get<uint64_t>() : 0;
}

}  // namespace heapwatch_e2e

#endif
