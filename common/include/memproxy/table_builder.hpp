// Building an exclusion table image (daemon and tools side; uses the heap freely).
#ifndef MEMPROXY_TABLE_BUILDER_HPP
#define MEMPROXY_TABLE_BUILDER_HPP

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "memproxy/config.hpp"
#include "memproxy/table_format.h"

namespace memproxy::table {

struct Settings {
  std::string allocator;               // custom allocator library ("" = none named)
  FailPolicy fail_policy = kFailSystem;
  uint32_t monitor_flags = 0;
};

struct BuildEntry {
  std::string key;     // a program name (no '/') or an absolute path
  // EntryFlags and sampling code, as a Slot stores them. Entries with the
  // same key merge: section flags by OR, sampling codes by the matching
  // rule (match::combine_sample_codes).
  uint32_t flags = 0;
};

// Raised only for inputs a validated config cannot produce (a key over
// kMaxKeyLength, flags the reader would refuse, an allocator name over
// kMaxAllocatorLength, a string area over 4 GiB): a programming error in the
// caller, not a user mistake.
class BuildError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// The complete table file image.
std::vector<unsigned char> build(const std::vector<BuildEntry>& entries, const Settings& settings,
                                 uint64_t generation, uint64_t published_unix_ns = 0);

// The table entries a parsed config describes ([exclude] -> kFlagExclude,
// [monitor] -> kFlagMonitor, with the header's sampling code if it set one).
std::vector<BuildEntry> entries_from_config(const config::ParseResult& parsed);

}  // namespace memproxy::table

#endif
