// The routing decision libmemproxy makes for a process, recomputed with the
// library's own consultation of the table and routing rule
// (common/include/memproxy/table_consult.hpp): the same blocks verified, so
// a table corrupt off a program's lookup path decides for it as it does in
// the library, even though it fails the full verification `check` reports.
#ifndef MEMPROXYCTL_DECISION_HPP
#define MEMPROXYCTL_DECISION_HPP

#include <cstdint>
#include <string>
#include <vector>

#include "memproxy/match.hpp"
#include "table_file.hpp"

namespace memproxyctl {

struct Subject {
  std::string invoked_name;   // basename the process was started as
  std::string resolved_path;  // absolute path of the real binary; "" when unknown
};

struct Match {
  std::string key;    // the table entry
  std::string as;     // "invoked name", "binary name" or "binary path"
  uint32_t flags = 0; // as stored: section flags and sampling code
};

struct Decision {
  std::string backend;    // "system" or "custom"
  std::string allocator;  // custom: the library named by the table ("" = the preloaded one)
  bool monitored = false;
  // Monitored: the mean libmemproxy samples with, by the library's rule
  // with no MEMPROXY_SAMPLE_BYTES (explain cannot see a program's
  // environment; when set, it overrides this).
  memproxy::match::SampleRate sampling{memproxy::match::kDefaultSampleBytes, memproxy::match::SampleSource::fallback};
  bool fail_safe = false;  // the table could not be used: the fail policy decided
  std::string reason;      // one sentence
  std::vector<Match> matches;
};

// Reads the table at table.path again, as a starting process would.
Decision decide(const TableFile& table, const Subject& subject);

}  // namespace memproxyctl

#endif
