// memproxy.conf: the administrator's exclusion and monitoring list.
//
// The format (ARCHITECTURE.md, "memproxy.conf"): one entry per line; blank
// lines and lines whose first non-blank character is '#' or ';' are ignored;
// surrounding blanks are trimmed; CRLF is accepted with a warning; an entry is a
// program name (no '/') or an absolute path; [exclude] (the default) and
// [monitor] sections. User mistakes never throw: they become Diagnostics.
#ifndef MEMPROXY_CONFIG_HPP
#define MEMPROXY_CONFIG_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace memproxy::config {

enum class Section { exclude, monitor };
enum class EntryKind { name, path };

struct Entry {
  std::string text;  // trimmed entry: the name, or the absolute path
  EntryKind kind = EntryKind::name;
  Section section = Section::exclude;
  uint32_t line = 0;  // 1-based line in the file
};

enum class Severity { warning, error };

struct Diagnostic {
  std::string file;
  uint32_t line = 0;  // 0 = about the whole file (unreadable, ...)
  Severity severity = Severity::error;
  std::string message;

  // "FILE:LINE: error: MESSAGE" (or "FILE: error: MESSAGE" when line is 0).
  std::string format() const;
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

// Parses config text; `file_name` is only used in diagnostics.
ParseResult parse(std::string_view text, std::string_view file_name);

// Reads and parses a file. A missing file yields FileStatus::missing with one
// error; an unreadable one (permissions, a directory, I/O error)
// FileStatus::unreadable with one error naming the reason.
ParseResult parse_file(const std::string& path);

}  // namespace memproxy::config

#endif
