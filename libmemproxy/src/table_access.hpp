// Consulting the table once: open, check who may have written it, map, look
// the program up, copy the few settings the decision needs, unmap.
// Nothing of the mapping survives the call, and nothing is allocated.
#ifndef MEMPROXY_TABLE_ACCESS_HPP
#define MEMPROXY_TABLE_ACCESS_HPP

#include <stdint.h>

#include "memproxy/table_format.h"
#include "program_identity.hpp"

namespace memproxy {

enum class TableOutcome {
  missing,        // no file: the host does not use memproxy routing
  untrusted,      // not a regular file, not root's, or writable by group/others
  unusable,       // cannot be opened, mapped, or its header is invalid
  lookup_failed,  // header valid, a block on the lookup path is not: fail policy
  listed,         // the program has an entry; see flags
  not_listed,
};

struct TableVerdict {
  TableOutcome outcome;
  const char* detail;       // static text for the debug line
  const char* matched_key;  // the identity form that matched (listed only)
  uint32_t flags;           // EntryFlags of the matched key
  bool has_header;          // the fields below come from a validated header
  uint64_t generation;
  uint32_t fail_policy;
  char allocator[memproxy::table::kMaxAllocatorLength + 1];
};

// `trust_owner`: enforce root ownership and mode (false only for a table
// selected by MEMPROXY_TABLE outside secure mode).
void consult_table(const char* path, bool trust_owner, const ProgramIdentity& id, TableVerdict* out);

}  // namespace memproxy

#endif
