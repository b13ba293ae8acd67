// Consulting the table once, as a starting process does: open it as the
// trust rule says (trust.hpp), read the header and the few blocks a lookup
// needs with pread (nothing is mapped: a table rewritten in place cannot
// raise SIGBUS), apply the matching rule (match.hpp) and copy out what the
// decision needs; then the routing rule (route_of) turns that into system or
// custom. Defined once for libmemproxy and `memproxyctl explain`, so the two
// verify the same blocks and cannot disagree about a table that is corrupt
// off the lookup path (explain reports full verification separately).
//
// Freestanding by contract (table_reader.hpp): nothing of the file survives
// the call, nothing is allocated, only libc is called.
#ifndef MEMPROXY_TABLE_CONSULT_HPP
#define MEMPROXY_TABLE_CONSULT_HPP

#include <stdint.h>

#include "memproxy/match.hpp"
#include "memproxy/table_format.h"
#include "memproxy/trust.hpp"

namespace memproxy {

enum class TableOutcome {
  missing,        // no file: the host does not use memproxy routing
  untrusted,      // not a regular file, or it or a directory above is not root's or writable by others
  unusable,       // cannot be opened or read, or its header is invalid
  lookup_failed,  // header valid, a block on the lookup path is not: fail policy
  matched,        // the lookup answered; see match (flags 0 = not listed)
};

// Whose table it is: the standard one and, in a process where root is the
// real or effective user, one named by MEMPROXY_TABLE are believed only
// when trusted; otherwise a user's own table for the user's own processes.
struct TablePolicy {
  bool trusted_only;
};

struct TableVerdict {
  TableOutcome outcome;
  const char* detail;       // static text for the debug line
  trust::Verdict trust;     // untrusted: why
  char trust_where[256];    // untrusted: the component that failed (truncated)
  match::Result match;
  bool has_header;          // the fields below come from a validated header
  uint64_t generation;
  uint32_t fail_policy;
  char allocator[memproxy::table::kMaxAllocatorLength + 1];
};

void consult_table(const char* path, TablePolicy policy, const match::Identity& who, TableVerdict* out);

// The routing rule, before any allocator is looked for: a table that is
// absent, untrusted or unreadable routes to the system allocator; one whose
// lookup failed routes by its header's fail policy; otherwise any [exclude]
// among the matching entries routes to the system allocator, and everything
// else to the custom one. Monitoring is the match's, and only a matched
// table monitors.
struct TableRoute {
  bool custom;
  bool by_fail_policy;  // the table could not answer for this process
};

inline TableRoute route_of(const TableVerdict& v) {
  switch (v.outcome) {
    case TableOutcome::missing:
    case TableOutcome::untrusted:
    case TableOutcome::unusable:
      return {false, true};
    case TableOutcome::lookup_failed:
      return {v.fail_policy == table::kFailCustom, true};
    case TableOutcome::matched:
      break;
  }
  return {!v.match.excluded(), false};
}

inline bool monitored_by_table(const TableVerdict& v) {
  return v.outcome == TableOutcome::matched && v.match.monitored();
}

}  // namespace memproxy

#endif
