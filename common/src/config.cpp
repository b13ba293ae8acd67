// memproxy.conf parser. Invariants: never throws for any input text (only
// std::bad_alloc can escape parse(); parse_file() turns it into an error),
// reports every problem with file and line, and bounds its output
// (kMaxErrors, kMaxWarnings) so that hostile input stays cheap to reject.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <unordered_map>

#include "config_text.hpp"
#include "memproxy/config.hpp"
#include "memproxy/table_format.h"
#include "section_header.hpp"
#include "memproxy/unique_fd.hpp"

namespace memproxy::config {
namespace {

using text::quote;
using text::trim;

constexpr std::size_t kNameMax = 255;  // NAME_MAX
constexpr std::size_t kPathMax = table::kMaxKeyLength + 1;  // PATH_MAX, including the NUL

std::string hex_byte(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", c);
  return buf;
}

bool is_canonical_path(std::string_view path) {
  if (path.size() > 1 && path.back() == '/') return false;
  if (path.find("//") != std::string_view::npos) return false;
  for (std::string_view dot : {"/./", "/../"}) {
    if (path.find(dot) != std::string_view::npos) return false;
  }
  for (std::string_view tail : {"/.", "/.."}) {
    if (path.size() >= tail.size() && path.substr(path.size() - tail.size()) == tail) return false;
  }
  return true;
}

const char* section_name(Section s) { return s == Section::exclude ? "[exclude]" : "[monitor]"; }

class Parser {
 public:
  Parser(std::string_view file) : file_(file) {}

  ParseResult run(std::string_view text) {
    // Every entry takes a line: reserve once instead of rehashing.
    std::size_t expected_entries = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    result_.entries.reserve(expected_entries);
    first_seen_[static_cast<int>(Section::exclude)].reserve(expected_entries);
    uint32_t line_number = 0;
    while (!text.empty() && !stopped_) {
      ++line_number;
      std::size_t newline = text.find('\n');
      std::string_view line = text.substr(0, newline);
      text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
      parse_line(line_number, line);
    }
    if (result_.warning_count > kMaxWarnings) {
      const std::size_t hidden = result_.warning_count - kMaxWarnings;
      result_.diagnostics.push_back({std::string(file_), 0, Severity::warning,
                                     std::to_string(hidden) + " more warning" + (hidden == 1 ? "" : "s") +
                                         " not shown (at most " + std::to_string(kMaxWarnings) + " are reported)",
                                     Problem::more_not_shown});
    }
    return std::move(result_);
  }

 private:
  void add(uint32_t line, Severity severity, Problem problem, std::string message) {
    if (stopped_) return;
    if (severity == Severity::error) {
      if (result_.error_count == kMaxErrors) {
        result_.diagnostics.push_back({std::string(file_), line, Severity::error,
                                       "too many errors (" + std::to_string(kMaxErrors) + "); giving up",
                                       Problem::too_many_errors});
        ++result_.error_count;
        stopped_ = true;
        return;
      }
      ++result_.error_count;
    } else if (++result_.warning_count > kMaxWarnings) {
      return;
    }
    result_.diagnostics.push_back({std::string(file_), line, severity, std::move(message), problem});
  }

  // False when the line holds bytes a text file cannot; the error is reported.
  bool check_bytes(uint32_t number, std::string_view line) {
    for (std::size_t i = 0; i < line.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      if (c == '\0') {
        add(number, Severity::error, Problem::nul_byte, "NUL byte at column " + std::to_string(i + 1));
        return false;
      }
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        add(number, Severity::error, Problem::not_text,
            "not a text file: control byte " + hex_byte(c) + " at column " + std::to_string(i + 1));
        stopped_ = true;  // the rest of a binary file is noise, not diagnostics
        return false;
      }
    }
    return true;
  }

  void parse_line(uint32_t number, std::string_view line) {
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
      add(number, Severity::warning, Problem::crlf, "line ends with CR (DOS line ending); accepted");
    }
    if (!check_bytes(number, line)) return;
    std::string_view text = trim(line);
    if (text.empty() || text.front() == '#' || text.front() == ';') return;
    if (text.front() == '[') {
      parse_section(number, text);
    } else {
      parse_entry(number, text);
    }
  }

  // A header with a bad option still starts its section, so that the
  // entries below it are judged where they belong.
  void parse_section(uint32_t number, std::string_view text) {
    SectionHeader header = parse_section_header(text);
    if (!header.error.empty()) add(number, Severity::error, header.problem, std::move(header.error));
    if (!header.known) return;
    section_ = header.section;
    sample_ = header.sample;
    sample_code_ = sample_.specified ? table::sample_code_for_bytes(sample_.mean_bytes) : table::kSampleCodeUnset;
  }

  void parse_entry(uint32_t number, std::string_view text) {
    EntryKind kind = EntryKind::name;
    if (text.front() == '/') {
      kind = EntryKind::path;
      if (text.size() >= kPathMax) {
        add(number, Severity::error, Problem::path_too_long,
            "path is " + std::to_string(text.size()) + " bytes, longer than PATH_MAX allows (" +
                std::to_string(kPathMax - 1) + ")");
        return;
      }
      if (!is_canonical_path(text)) {
        add(number, Severity::warning, Problem::not_canonical,
            "path " + quote(text) +
                " is not canonical; a path entry matches only the resolved binary path, which never is");
      }
    } else if (text.find('/') != std::string_view::npos) {
      add(number, Severity::error, Problem::relative_path,
          "relative path " + quote(text) + ": an entry is a program name (no '/') or an absolute path");
      return;
    } else if (text.size() > kNameMax) {
      add(number, Severity::error, Problem::name_too_long,
          "name is " + std::to_string(text.size()) + " bytes, longer than NAME_MAX (" +
              std::to_string(kNameMax) + ")");
      return;
    }
    if (text.find_first_of(" \t") != std::string_view::npos) {
      add(number, Severity::warning, Problem::blanks,
          "entry " + quote(text) + " contains blanks; comments must start their own line");
    }
    // Views into the caller's text, which outlives the parse.
    auto [it, inserted] = first_seen_[static_cast<int>(section_)].emplace(text, FirstSeen{number, sample_code_});
    if (!inserted) {
      const std::string first_line = std::to_string(it->second.line);
      if (it->second.sample_code == sample_code_) {
        add(number, Severity::warning, Problem::duplicate,
            "duplicate entry " + quote(text) + " in " + section_name(section_) + " (first at line " + first_line +
                ")");
        return;
      }
      // Another rate for the same program: kept, and combined as entries are.
      add(number, Severity::warning, Problem::duplicate,
          "duplicate entry " + quote(text) + " in " + section_name(section_) +
              " with another sample= setting (first at line " + first_line +
              "); both count: the most detailed sampling asked for applies");
    }
    result_.entries.push_back({std::string(text), kind, section_, number, sample_});
  }

  // Small: a map entry per line of the file.
  struct FirstSeen {
    uint32_t line;
    uint32_t sample_code;  // the table's code for the entry's SampleSetting
  };

  std::string_view file_;
  ParseResult result_;
  Section section_ = Section::exclude;
  SampleSetting sample_;       // of the current section's header
  uint32_t sample_code_ = 0;   // its code in the table
  std::unordered_map<std::string_view, FirstSeen> first_seen_[2];  // per Section
  bool stopped_ = false;
};

ParseResult file_error(const std::string& path, FileStatus status, Problem problem, const std::string& message) {
  ParseResult result;
  result.file_status = status;
  result.error_count = 1;
  result.diagnostics.push_back({path, 0, Severity::error, message, problem});
  return result;
}

std::string too_large_message(uint64_t size) {
  return "too large: " + std::to_string(size) + " bytes, over the limit of " + std::to_string(kMaxConfigBytes >> 20) +
         " MiB (" + std::to_string(kMaxConfigBytes) + " bytes); not read";
}

// Reads the whole file into `text`, or returns the error result.
std::optional<ParseResult> read_config(const std::string& path, std::string* text, struct stat* st) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (fd.get() < 0) {
    int err = errno;
    FileStatus status = err == ENOENT ? FileStatus::missing : FileStatus::unreadable;
    return file_error(path, status, Problem::cannot_open, std::string("cannot open: ") + std::strerror(err));
  }
  if (::fstat(fd.get(), st) != 0 || !S_ISREG(st->st_mode)) {
    return file_error(path, FileStatus::unreadable, Problem::not_regular, "cannot read: not a regular file");
  }
  if (static_cast<uint64_t>(st->st_size) > kMaxConfigBytes) {
    return file_error(path, FileStatus::unreadable, Problem::too_large,
                      too_large_message(static_cast<uint64_t>(st->st_size)));
  }
  text->reserve(static_cast<std::size_t>(st->st_size));
  char buffer[65536];
  for (;;) {
    ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
    if (got == 0) break;
    if (got < 0) {
      if (errno == EINTR) continue;
      return file_error(path, FileStatus::unreadable, Problem::read_error,
                        std::string("cannot read: ") + std::strerror(errno));
    }
    // The file may grow while it is read.
    if (text->size() + static_cast<std::size_t>(got) > kMaxConfigBytes) {
      return file_error(path, FileStatus::unreadable, Problem::too_large,
                        too_large_message(text->size() + static_cast<std::size_t>(got)));
    }
    text->append(buffer, static_cast<std::size_t>(got));
  }
  return std::nullopt;
}

}  // namespace

ParseResult parse(std::string_view text, std::string_view file_name) { return Parser(file_name).run(text); }

ParseResult parse_file(const std::string& path, struct stat* opened) {
  struct stat st {};
  ParseResult result;
  bool out_of_memory = false;
  try {
    std::string text;
    if (auto failed = read_config(path, &text, &st)) {
      result = std::move(*failed);
    } else {
      result = parse(text, path);
    }
  } catch (const std::bad_alloc&) {
    // Everything the attempt allocated is released by now.
    out_of_memory = true;
  }
  if (out_of_memory) {
    result = file_error(path, FileStatus::unreadable, Problem::out_of_memory,
                        "out of memory while reading or parsing it (" + std::to_string(st.st_size) + " bytes)");
  }
  if (opened != nullptr) {
    *opened = {};
    if (result.file_status == FileStatus::ok) *opened = st;
  }
  return result;
}

}  // namespace memproxy::config
