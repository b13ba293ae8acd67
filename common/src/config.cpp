// memproxy.conf parser. Invariants: never throws for any input text (only
// std::bad_alloc can escape), reports every problem with file and line, and
// bounds its output (kMaxErrors) so that binary input stays cheap to reject.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>

#include "memproxy/config.hpp"
#include "memproxy/table_format.h"

namespace memproxy::config {
namespace {

constexpr std::size_t kNameMax = 255;  // NAME_MAX
constexpr std::size_t kPathMax = table::kMaxKeyLength + 1;  // PATH_MAX, including the NUL
constexpr std::size_t kQuoteMax = 64;

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// Entries are quoted in messages; very long ones are shortened. (Built by
// append: GCC 12 raises a false -Wrestrict on chained operator+ at -O3.)
std::string quote(std::string_view s) {
  std::string out = "'";
  out.append(s.substr(0, kQuoteMax));
  out.append(s.size() > kQuoteMax ? "...'" : "'");
  return out;
}

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
    // A typical entry line is over 8 bytes: reserve once instead of rehashing.
    std::size_t expected_entries = text.size() / 8;
    result_.entries.reserve(expected_entries);
    first_line_[static_cast<int>(Section::exclude)].reserve(expected_entries);
    uint32_t line_number = 0;
    while (!text.empty() && !stopped_) {
      ++line_number;
      std::size_t newline = text.find('\n');
      std::string_view line = text.substr(0, newline);
      text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
      parse_line(line_number, line);
    }
    return std::move(result_);
  }

 private:
  void add(uint32_t line, Severity severity, std::string message) {
    if (stopped_) return;
    if (severity == Severity::error) {
      if (result_.error_count == kMaxErrors) {
        result_.diagnostics.push_back({std::string(file_), line, Severity::error,
                                       "too many errors (" + std::to_string(kMaxErrors) + "); giving up"});
        ++result_.error_count;
        stopped_ = true;
        return;
      }
      ++result_.error_count;
    } else {
      ++result_.warning_count;
    }
    result_.diagnostics.push_back({std::string(file_), line, severity, std::move(message)});
  }

  // False when the line holds bytes a text file cannot; the error is reported.
  bool check_bytes(uint32_t number, std::string_view line) {
    for (std::size_t i = 0; i < line.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      if (c == '\0') {
        add(number, Severity::error, "NUL byte at column " + std::to_string(i + 1));
        return false;
      }
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        add(number, Severity::error,
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
      add(number, Severity::warning, "line ends with CR (DOS line ending); accepted");
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

  void parse_section(uint32_t number, std::string_view text) {
    if (text.back() != ']') {
      add(number, Severity::error,
          "malformed section header " + quote(text) + ": expected [exclude] or [monitor]");
      return;
    }
    std::string_view name = trim(text.substr(1, text.size() - 2));
    if (name == "exclude") {
      section_ = Section::exclude;
    } else if (name == "monitor") {
      section_ = Section::monitor;
    } else {
      add(number, Severity::error,
          "unknown section " + quote(text) + "; known sections are [exclude] and [monitor]");
    }
  }

  void parse_entry(uint32_t number, std::string_view text) {
    EntryKind kind = EntryKind::name;
    if (text.front() == '/') {
      kind = EntryKind::path;
      if (text.size() >= kPathMax) {
        add(number, Severity::error,
            "path is " + std::to_string(text.size()) + " bytes, longer than PATH_MAX allows (" +
                std::to_string(kPathMax - 1) + ")");
        return;
      }
      if (!is_canonical_path(text)) {
        add(number, Severity::warning,
            "path " + quote(text) +
                " is not canonical; a path entry matches only the resolved binary path, which never is");
      }
    } else if (text.find('/') != std::string_view::npos) {
      add(number, Severity::error,
          "relative path " + quote(text) + ": an entry is a program name (no '/') or an absolute path");
      return;
    } else if (text.size() > kNameMax) {
      add(number, Severity::error,
          "name is " + std::to_string(text.size()) + " bytes, longer than NAME_MAX (" +
              std::to_string(kNameMax) + ")");
      return;
    }
    if (text.find_first_of(" \t") != std::string_view::npos) {
      add(number, Severity::warning,
          "entry " + quote(text) + " contains blanks; comments must start their own line");
    }
    // Views into the caller's text, which outlives the parse.
    auto [it, inserted] = first_line_[static_cast<int>(section_)].emplace(text, number);
    if (!inserted) {
      add(number, Severity::warning,
          "duplicate entry " + quote(text) + " in " + section_name(section_) + " (first at line " +
              std::to_string(it->second) + ")");
      return;
    }
    result_.entries.push_back({std::string(text), kind, section_, number});
  }

  std::string_view file_;
  ParseResult result_;
  Section section_ = Section::exclude;
  std::unordered_map<std::string_view, uint32_t> first_line_[2];  // per Section
  bool stopped_ = false;
};

ParseResult file_error(const std::string& path, FileStatus status, const std::string& message) {
  ParseResult result;
  result.file_status = status;
  result.error_count = 1;
  result.diagnostics.push_back({path, 0, Severity::error, message});
  return result;
}

}  // namespace

ParseResult parse(std::string_view text, std::string_view file_name) { return Parser(file_name).run(text); }

ParseResult parse_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    FileStatus status = err == ENOENT ? FileStatus::missing : FileStatus::unreadable;
    return file_error(path, status, std::string("cannot open: ") + std::strerror(err));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return file_error(path, FileStatus::unreadable, "cannot read: not a regular file");
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got == 0) break;
    if (got < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return file_error(path, FileStatus::unreadable, std::string("cannot read: ") + std::strerror(err));
    }
    text.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(fd);
  return parse(text, path);
}

}  // namespace memproxy::config
