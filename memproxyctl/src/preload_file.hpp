// The text of /etc/ld.so.preload and the edits memproxyctl makes to it.
//
// glibc reads the file as library names separated by blanks, newlines or ':',
// with '#' starting a comment to the end of the line. Edits touch only
// libmemproxy's own entries: every other byte of a line without such an entry
// (foreign libraries, comments, blank lines) is kept as it was.
#ifndef MEMPROXYCTL_PRELOAD_FILE_HPP
#define MEMPROXYCTL_PRELOAD_FILE_HPP

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace memproxyctl {

// The active entries, in the order the dynamic linker loads them.
std::vector<std::string> preload_entries(const std::string& text);

struct PreloadAnalysis {
  std::vector<std::string> entries;
  std::vector<std::string> memproxy_entries;
  std::vector<std::string> allocator_entries;
  bool memproxy_present = false;
  // libmemproxy comes before every allocator (vacuously true without either).
  bool order_ok = true;
};

using EntryPredicate = std::function<bool(const std::string&)>;

// By default allocators are recognised by name (is_allocator_library).
PreloadAnalysis analyze_preload(const std::string& text, const EntryPredicate& is_allocator = {});

// `text` without the entries `remove` selects. A line left with no entry and
// no comment is dropped; every other line is kept byte for byte.
std::string remove_entries(const std::string& text, const EntryPredicate& remove);

// `text` without libmemproxy's entries.
std::string remove_memproxy(const std::string& text);

// `text` with `entry` (libmemproxy) placed before the first allocator entry (or
// last, when there is none), libmemproxy entries elsewhere removed, and
// `allocator` (when not empty and not present yet) right after it.
std::string enable_memproxy(const std::string& text, const std::string& entry, const std::string& allocator,
                            const EntryPredicate& is_allocator = {});

// The same library, whatever path spells it (equal base names).
bool same_library(const std::string& a, const std::string& b);

// The preload list as LD_PRELOAD would carry it.
std::string join_entries(const std::vector<std::string>& entries);

}  // namespace memproxyctl

#endif
