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
//   allocator it is routed to;
// - sampling: of the entries whose `[monitor sample=...]` header set a
//   rate, the most detailed (smallest mean) wins; off only when every entry
//   that says something says off; the default when none does. The same rule
//   merges one key's entries in the table (table_builder.cpp).
// So `[exclude] prog` with `[monitor] /abs/path/prog` is a monitored process
// on the system allocator, and `[monitor sample=off] prog` with
// `[monitor sample=64K] /abs/path/prog` samples every 64 KiB.
//
// The mean a monitored process samples with (sample_rate): the
// environment's MEMPROXY_SAMPLE_BYTES when set (it overrides the table as
// MEMPROXY_MONITOR does), else the combined code, else kDefaultSampleBytes.
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

// The mean bytes between sampled allocations when nothing asks for another:
// 512 KiB, jemalloc's lg_prof_sample 19.
inline constexpr uint64_t kDefaultSampleBytes = 512 * 1024;

// Two sampling codes combined: the smaller specified one (a smaller code is
// a smaller mean; off is the largest code).
constexpr uint32_t combine_sample_codes(uint32_t a, uint32_t b) {
  if (a == table::kSampleCodeUnset) return b;
  if (b == table::kSampleCodeUnset) return a;
  return a < b ? a : b;
}

struct Result {
  bool failed = false;       // a lookup could not be trusted: the table's fail policy decides
  uint32_t failure = 0;      // the failing lookup's status (the reader's Status), when failed
  uint32_t flags = 0;        // section flags (EntryFlags) of every matching entry, ORed
  uint32_t sample_code = 0;  // sampling codes of every matching entry, combined
  uint32_t key_flags[kForms] = {0, 0, 0};  // per form, as stored (section flags and sampling code);
                                           // 0 = no entry for it (or the same key as an earlier form)

  bool excluded() const { return (flags & table::kFlagExclude) != 0; }
  bool monitored() const { return (flags & table::kFlagMonitor) != 0; }
  bool sample_specified() const { return sample_code != table::kSampleCodeUnset; }
  // The mean the entries ask for, 0 = off; meaningful when sample_specified().
  uint64_t sample_bytes() const { return table::sample_bytes_of_code(sample_code); }
};

enum class SampleSource : uint32_t { environment, table, fallback };

inline const char* sample_source_name(SampleSource source) {
  switch (source) {
    case SampleSource::environment: return "MEMPROXY_SAMPLE_BYTES";
    case SampleSource::table: return "memproxy.conf";
    case SampleSource::fallback: return "default";
  }
  return "?";
}

struct SampleRate {
  uint64_t mean_bytes;  // 0 = no sampled stacks
  SampleSource source;
};

// A monitored process's sampling mean: `environment_bytes` is
// MEMPROXY_SAMPLE_BYTES, or negative when it is unset (or ignored, in
// secure mode, or unknown, for a program not running).
inline SampleRate sample_rate(const Result& r, int64_t environment_bytes) {
  if (environment_bytes >= 0) return {static_cast<uint64_t>(environment_bytes), SampleSource::environment};
  if (r.sample_specified()) return {r.sample_bytes(), SampleSource::table};
  return {kDefaultSampleBytes, SampleSource::fallback};
}

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
    r.flags |= flags & table::kSectionFlags;
    r.sample_code = combine_sample_codes(r.sample_code, table::sample_code_of(flags));
  }
  return r;
}

}  // namespace memproxy::match

#endif
