// Reading a published table from disk for inspection (list, explain, status,
// doctor), and judging whether libmemproxy would trust it.
#ifndef MEMPROXYCTL_TABLE_FILE_HPP
#define MEMPROXYCTL_TABLE_FILE_HPP

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "memproxy/table_reader.hpp"

namespace memproxyctl {

struct TableEntry {
  std::string key;
  uint32_t flags = 0;
  bool is_path() const { return !key.empty() && key.front() == '/'; }
};

struct TableFile {
  std::string path;
  bool loaded = false;   // the file was read
  std::string error;     // why it could not be read or is invalid ("" when valid)
  memproxy::table::Status status = memproxy::table::Status::ok;
  std::vector<unsigned char> bytes;  // the whole file: tables are small and may be replaced any time
  memproxy::table::View view;        // valid only when valid()
  bool header_ok = false;            // the header block is sound even if a later block is not

  bool valid() const { return loaded && error.empty(); }
  const memproxy::table::Header& header() const { return *view.header; }
  std::string allocator() const;
  memproxy::table::LookupResult lookup(const std::string& key) const;
  // Every entry, sorted by key; empty unless valid().
  std::vector<TableEntry> entries() const;
};

// Reads and fully verifies (every block and the payload checksum) the table.
TableFile load_table(const std::string& path);

// Why libmemproxy would not believe the table at the system path, by the
// trust rule it applies itself (common/include/memproxy/trust.hpp): empty
// when it would, else one sentence naming the component that fails.
std::vector<std::string> ownership_problems(const std::string& table_path);

// "exclude", "monitor", "exclude+monitor" or "" for the flags of an entry.
std::string section_names(uint32_t flags);

// The sampling an entry's flags ask for, as memproxy.conf writes it ("64K",
// "off"), or "" when they ask for none.
std::string sample_setting(uint32_t flags);

}  // namespace memproxyctl

#endif
