#include "decision.hpp"

#include "memproxy/match.hpp"
#include "process_info.hpp"

namespace memproxyctl {
namespace mt = memproxy::table;
namespace match = memproxy::match;

Decision decide(const TableFile& table, const Subject& subject) {
  Decision decision;
  if (!table.valid()) {
    // No usable table: the library routes to the system allocator, unless a
    // table whose header is sound asks otherwise (its fail policy).
    decision.fail_safe = true;
    bool custom = table.header_ok && table.view.header->fail_policy == mt::kFailCustom;
    decision.backend = custom ? "custom" : "system";
    decision.reason = table.error.empty() ? "no usable table" : table.error;
    decision.reason += custom ? ": the table's fail policy routes to the custom allocator"
                              : ": libmemproxy fails safe to the system allocator";
    return decision;
  }
  const std::string binary_name = subject.resolved_path.empty() ? std::string() : base_name(subject.resolved_path);
  match::Identity who{{subject.resolved_path.c_str(), binary_name.c_str(), subject.invoked_name.c_str()}};
  match::Result result = match::match(who, [&table](const char* key, size_t length, uint32_t* flags) {
    mt::LookupResult r = table.lookup(std::string(key, length));
    *flags = r.flags;
    return static_cast<uint32_t>(r.status);
  });
  if (result.failed) {
    decision.fail_safe = true;
    bool custom = table.view.header->fail_policy == mt::kFailCustom;
    decision.backend = custom ? "custom" : "system";
    decision.reason = std::string("table lookup failed (") + mt::status_message(static_cast<mt::Status>(result.failure)) +
                      "): the table's fail policy decides";
    return decision;
  }
  for (uint32_t form = 0; form < match::kForms; ++form) {
    if (result.key_flags[form] != 0) decision.matches.push_back({who.key[form], match::form_name(form), result.key_flags[form]});
  }
  decision.monitored = result.monitored();
  decision.sampling = match::sample_rate(result, -1);
  if (result.excluded()) {
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
