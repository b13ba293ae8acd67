#include "decision.hpp"

#include <algorithm>

#include "process_info.hpp"

namespace memproxyctl {
namespace mt = memproxy::table;

namespace {

void try_key(const TableFile& table, const std::string& key, const char* as, Decision* decision) {
  if (key.empty()) return;
  auto found = std::find_if(decision->matches.begin(), decision->matches.end(),
                            [&key](const Match& m) { return m.key == key; });
  if (found != decision->matches.end()) return;  // same key reached twice (name == binary name)
  auto result = table.lookup(key);
  if (result.status == mt::Status::ok && result.flags != 0) decision->matches.push_back({key, as, result.flags});
}

}  // namespace

Decision decide(const TableFile& table, const Subject& subject) {
  Decision decision;
  if (!table.valid()) {
    // No usable table: the library routes to the system allocator, unless a
    // table whose header is sound asks otherwise (its fail policy).
    decision.fail_safe = true;
    bool custom = table.header_ok &&
                  table.view.header->fail_policy == mt::kFailCustom;
    decision.backend = custom ? "custom" : "system";
    decision.reason = table.error.empty() ? "no usable table" : table.error;
    decision.reason += custom ? ": the table's fail policy routes to the custom allocator"
                              : ": libmemproxy fails safe to the system allocator";
    return decision;
  }
  try_key(table, subject.invoked_name, "invoked name", &decision);
  if (!subject.resolved_path.empty()) {
    try_key(table, base_name(subject.resolved_path), "binary name", &decision);
    try_key(table, subject.resolved_path, "binary path", &decision);
  }
  uint32_t flags = 0;
  for (const auto& match : decision.matches) flags |= match.flags;
  decision.monitored = (flags & mt::kFlagMonitor) != 0;
  if (flags & mt::kFlagExclude) {
    decision.backend = "system";
    decision.reason = "listed in [exclude]";
  } else {
    decision.backend = "custom";
    decision.allocator = table.allocator();
    decision.reason = "not listed in [exclude]";
  }
  return decision;
}

}  // namespace memproxyctl
