// The matching rule: which table entries speak for a process, and what they
// decide. Defined once for the library (MEMPROXY_DEBUG), the daemon and
// `memproxyctl explain`, which must never disagree.
//
// A process is known by three forms: the absolute path of its resolved
// binary (/proc/self/exe), that binary's name, and the name it was invoked
// by (basename of AT_EXECFN / getexecname(): a symlink or script name). An
// absolute-path entry matches the binary path; a name entry matches either
// name. Every matching entry counts and their flags combine:
// - routing: any [exclude] flag routes the process to the system allocator;
// - monitoring: any [monitor] flag makes the process monitored, whichever
//   allocator it is routed to.
// So `[exclude] prog` with `[monitor] /abs/path/prog` is a monitored process
// on the system allocator.
//
// Freestanding (header-only, no heap, no exceptions): the library includes it.
#ifndef MEMPROXY_MATCH_HPP
#define MEMPROXY_MATCH_HPP

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "memproxy/table_format.h"

namespace memproxy::match {

enum Form : uint32_t { kBinaryPath = 0, kBinaryName = 1, kInvokedName = 2, kForms = 3 };

inline const char* form_name(uint32_t form) {
  switch (form) {
    case kBinaryPath: return "binary path";
    case kBinaryName: return "binary name";
    case kInvokedName: return "invoked name";
  }
  return "?";
}

// Any form may be null or empty (unknown).
struct Identity {
  const char* key[kForms];
};

struct Result {
  bool failed = false;       // a lookup could not be trusted: the table's fail policy decides
  uint32_t failure = 0;      // the failing lookup's status (the reader's Status), when failed
  uint32_t flags = 0;        // EntryFlags of every matching entry, combined
  uint32_t key_flags[kForms] = {0, 0, 0};  // per form; 0 = no entry for it (or the same key as an earlier form)

  bool excluded() const { return (flags & table::kFlagExclude) != 0; }
  bool monitored() const { return (flags & table::kFlagMonitor) != 0; }
};

// `lookup(key, length, &flags)` returns 0 when the table answered (flags 0 =
// no entry) or a nonzero status when it could not. Forms are asked in Form
// order; a key equal to an earlier form's is asked once and credited to the
// earlier form. The first failure stops the match.
template <typename Lookup>
Result match(const Identity& id, Lookup&& lookup) {
  Result r;
  for (uint32_t form = 0; form < kForms; ++form) {
    const char* key = id.key[form];
    if (key == nullptr || key[0] == '\0') continue;
    bool seen = false;
    for (uint32_t earlier = 0; earlier < form; ++earlier) {
      const char* other = id.key[earlier];
      if (other != nullptr && strcmp(other, key) == 0) seen = true;
    }
    if (seen) continue;
    uint32_t flags = 0;
    uint32_t status = lookup(key, strlen(key), &flags);
    if (status != 0) {
      r.failed = true;
      r.failure = status;
      return r;
    }
    r.key_flags[form] = flags;
    r.flags |= flags;
  }
  return r;
}

}  // namespace memproxy::match

#endif
