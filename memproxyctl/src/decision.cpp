#include "decision.hpp"

#include "memproxy/match.hpp"
#include "memproxy/table_consult.hpp"
#include "process_info.hpp"

namespace memproxyctl {
namespace match = memproxy::match;

namespace {

std::string fail_safe_reason(const memproxy::TableVerdict& v, bool custom) {
  if (v.outcome == memproxy::TableOutcome::lookup_failed) {
    return std::string("table lookup failed (") + v.detail + "): the table's fail policy decides";
  }
  std::string reason = v.detail;
  if (v.outcome == memproxy::TableOutcome::untrusted) {
    reason += std::string(": ") + (v.trust_where[0] != '\0' ? v.trust_where : "it") + " " +
              memproxy::trust::describe(v.trust);
  }
  return reason + (custom ? ": the table's fail policy routes to the custom allocator"
                          : ": libmemproxy fails safe to the system allocator");
}

}  // namespace

Decision decide(const TableFile& table, const Subject& subject) {
  const std::string binary_name = subject.resolved_path.empty() ? std::string() : base_name(subject.resolved_path);
  const match::Identity who{{subject.resolved_path.c_str(), binary_name.c_str(), subject.invoked_name.c_str()}};
  // The library's own consultation: the same blocks verified, the same rule.
  // Owner and mode are explain's warnings (ownership_problems), not its
  // decision, as for a table a user names with MEMPROXY_TABLE.
  memproxy::TableVerdict verdict;
  memproxy::consult_table(table.path.c_str(), memproxy::TablePolicy{false}, who, &verdict);
  const memproxy::TableRoute route = memproxy::route_of(verdict);

  Decision decision;
  decision.backend = route.custom ? "custom" : "system";
  decision.fail_safe = route.by_fail_policy;
  if (route.custom) decision.allocator = verdict.allocator;
  if (route.by_fail_policy) {
    decision.reason = fail_safe_reason(verdict, route.custom);
    return decision;
  }
  for (uint32_t form = 0; form < match::kForms; ++form) {
    if (verdict.match.key_flags[form] != 0) {
      decision.matches.push_back({who.key[form], match::form_name(form), verdict.match.key_flags[form]});
    }
  }
  decision.monitored = memproxy::monitored_by_table(verdict);
  decision.sampling = match::sample_rate(verdict.match, -1);
  decision.reason = route.custom ? "not listed in [exclude]" : "listed in [exclude]";
  return decision;
}

}  // namespace memproxyctl
