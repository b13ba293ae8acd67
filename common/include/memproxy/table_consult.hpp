// Consulting the table once: open it as the trust rule says (trust.hpp),
// read the header and the few blocks a lookup needs with pread (nothing is
// mapped: a table rewritten in place cannot raise SIGBUS), apply the
// matching rule (match.hpp) and copy out what the decision needs.
// Nothing of the file survives the call, and nothing is allocated.
#ifndef MEMPROXY_TABLE_LOOKUP_HPP
#define MEMPROXY_TABLE_LOOKUP_HPP

#include <stdint.h>

#include "memproxy/match.hpp"
#include "memproxy/table_format.h"
#include "memproxy/trust.hpp"
#include "program_identity.hpp"

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

void consult_table(const char* path, TablePolicy policy, const ProgramIdentity& id, TableVerdict* out);

}  // namespace memproxy

#endif
