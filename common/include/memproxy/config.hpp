// memproxy.conf: the administrator's exclusion and monitoring list.
//
// The format (ARCHITECTURE.md, "memproxy.conf"): one entry per line; blank
// lines and lines whose first non-blank character is '#' or ';' are ignored;
// surrounding blanks are trimmed; CRLF is accepted with a warning; an entry is a
// program name (no '/') or an absolute path; [exclude] (the default) and
// [monitor] sections; a monitor header may set the sampling rate of its
// entries, `[monitor sample=SIZE]` (SIZE a power of two from 16 to 1G, with
// an optional K, M or G suffix, binary) or `[monitor sample=off]`. User
// mistakes never throw: they become Diagnostics.
//
// Bounded for any input: a file over kMaxConfigBytes is not read, at most
// kMaxErrors errors and kMaxWarnings warnings are kept (the rest counted),
// and running out of memory is an error diagnostic, not an exception.
#ifndef MEMPROXY_CONFIG_HPP
#define MEMPROXY_CONFIG_HPP

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace memproxy::config {

enum class Section { exclude, monitor };
enum class EntryKind { name, path };

// What an entry's section header says about sampling.
struct SampleSetting {
  bool specified = false;   // false: [exclude], or [monitor] without sample=
  uint64_t mean_bytes = 0;  // specified: a power of two in range, or 0 for sample=off
};

struct Entry {
  std::string text;  // trimmed entry: the name, or the absolute path
  EntryKind kind = EntryKind::name;
  Section section = Section::exclude;
  uint32_t line = 0;  // 1-based line in the file
  SampleSetting sample;
};

enum class Severity { warning, error };

// What a diagnostic is about, in words that quote nothing from the file.
enum class Problem : uint8_t {
  // the whole file
  cannot_open,
  not_regular,
  read_error,
  too_large,
  out_of_memory,
  untrusted,
  // a line
  not_text,
  nul_byte,
  malformed_section,
  unknown_section,
  unknown_option,
  bad_sample_rate,
  option_not_allowed,
  repeated_option,
  relative_path,
  path_too_long,
  name_too_long,
  crlf,
  not_canonical,
  blanks,
  duplicate,
  // the report itself
  too_many_errors,
  more_not_shown,
};

// "relative path entry", "duplicate entry", ...: fixed text.
const char* describe(Problem problem);

struct Diagnostic {
  std::string file;
  uint32_t line = 0;  // 0 = about the whole file (unreadable, ...)
  Severity severity = Severity::error;
  std::string message;  // may quote the file's text
  Problem problem = Problem::read_error;

  // "FILE:LINE: error: MESSAGE" (or "FILE: error: MESSAGE" when line is 0).
  std::string format() const;

  // "FILE:LINE: error: PROBLEM": the form for places that someone who cannot
  // read the file may see (world-readable status, listings). It carries the
  // file's name and the line number, never its text.
  std::string redacted() const;
};

enum class FileStatus { ok, missing, unreadable };

struct ParseResult {
  std::vector<Entry> entries;
  std::vector<Diagnostic> diagnostics;
  FileStatus file_status = FileStatus::ok;
  std::size_t error_count = 0;
  std::size_t warning_count = 0;

  // True when the file was read and has no error: only then may it be published.
  bool publishable() const { return file_status == FileStatus::ok && error_count == 0; }
};

// After this many errors parsing stops with one final error saying so, so that a
// binary file cannot produce millions of lines of diagnostics.
inline constexpr std::size_t kMaxErrors = 50;

// Warnings beyond this many are counted (warning_count) but not kept; one
// final warning on line 0 says how many were not shown.
inline constexpr std::size_t kMaxWarnings = 100;

// A larger file is refused unread (an error, FileStatus::unreadable). A real
// list is far smaller: a million entries take about 20 MB, and parsing them
// well under a second.
inline constexpr std::size_t kMaxConfigBytes = 64u << 20;

// A size as a sample= option writes it: the largest binary suffix that
// divides it (65536 -> "64K", 1 << 30 -> "1G", 16 -> "16").
std::string size_text(uint64_t bytes);

// Parses config text; `file_name` is only used in diagnostics.
ParseResult parse(std::string_view text, std::string_view file_name);

// Reads and parses a file. A missing file yields FileStatus::missing with one
// error; an unreadable one (permissions, not a regular file, over
// kMaxConfigBytes, I/O error, out of memory) FileStatus::unreadable with one
// error naming the reason. The open never blocks: a FIFO or device in the
// file's place is refused, not waited on. When `opened` is given it receives
// the fstat() of the file that was read (zeroed when none was).
ParseResult parse_file(const std::string& path, struct stat* opened = nullptr);

}  // namespace memproxy::config

#endif
