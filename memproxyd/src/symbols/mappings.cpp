#include "symbols/mappings.hpp"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "memproxy/unique_fd.hpp"

namespace memproxy::symbols {
namespace {

std::string_view next_field(std::string_view& line) {
  size_t begin = line.find_first_not_of(' ');
  if (begin == std::string_view::npos) {
    line = {};
    return {};
  }
  line.remove_prefix(begin);
  size_t end = line.find(' ');
  std::string_view field = line.substr(0, end);
  line.remove_prefix(end == std::string_view::npos ? line.size() : end);
  return field;
}

bool parse_hex(std::string_view text, uint64_t* value) {
  if (text.empty() || text.size() > 16) return false;
  uint64_t result = 0;
  for (char c : text) {
    int digit;
    if (c >= '0' && c <= '9') digit = c - '0';
    else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    else return false;
    result = (result << 4) | static_cast<uint64_t>(digit);
  }
  *value = result;
  return true;
}

bool parse_decimal(std::string_view text, uint64_t* value) {
  if (text.empty() || text.size() > 20) return false;
  uint64_t result = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (result > (UINT64_MAX - digit) / 10) return false;
    result = result * 10 + digit;
  }
  *value = result;
  return true;
}

// The kernel escapes only the newline in a mapped path (as "\012").
std::string unescape_path(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 4, "\\012") == 0) {
      out += '\n';
      i += 3;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::optional<Mapping> parse_line(std::string_view line) {
  std::string_view range = next_field(line);
  std::string_view perms = next_field(line);
  std::string_view offset = next_field(line);
  std::string_view device = next_field(line);
  std::string_view inode = next_field(line);
  size_t path_begin = line.find_first_not_of(' ');
  if (path_begin == std::string_view::npos) return std::nullopt;
  std::string_view path = line.substr(path_begin);
  if (perms.size() != 4 || perms[2] != 'x' || path.empty() || path[0] != '/') return std::nullopt;

  Mapping m;
  size_t dash = range.find('-');
  size_t colon = device.find(':');
  uint64_t major = 0, minor = 0;
  if (dash == std::string_view::npos || colon == std::string_view::npos ||
      !parse_hex(range.substr(0, dash), &m.start) || !parse_hex(range.substr(dash + 1), &m.end) ||
      !parse_hex(offset, &m.offset) || !parse_hex(device.substr(0, colon), &major) ||
      !parse_hex(device.substr(colon + 1), &minor) || !parse_decimal(inode, &m.inode) || m.start >= m.end ||
      major > 0xfffff || minor > 0xfffff) {
    return std::nullopt;
  }
  m.dev = makedev(static_cast<unsigned>(major), static_cast<unsigned>(minor));
  constexpr std::string_view kDeleted = " (deleted)";
  if (path.size() > kDeleted.size() && path.substr(path.size() - kDeleted.size()) == kDeleted) {
    m.deleted = true;
    path.remove_suffix(kDeleted.size());
  }
  m.path = unescape_path(path);
  return m;
}

}  // namespace

std::vector<Mapping> parse_maps(std::string_view text) {
  std::vector<Mapping> out;
  while (!text.empty() && out.size() < kMaxMappings) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (auto m = parse_line(line)) out.push_back(std::move(*m));
  }
  std::sort(out.begin(), out.end(), [](const Mapping& a, const Mapping& b) { return a.start < b.start; });
  // The kernel never shows overlapping mappings; a text that does is not
  // the kernel's, and the later of two overlapping lines is dropped.
  std::vector<Mapping> disjoint;
  disjoint.reserve(out.size());
  for (Mapping& m : out) {
    if (disjoint.empty() || disjoint.back().end <= m.start) disjoint.push_back(std::move(m));
  }
  return disjoint;
}

std::optional<std::vector<Mapping>> read_maps(pid_t pid, std::string* why) {
  const std::string path = "/proc/" + std::to_string(pid) + "/maps";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    *why = path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::string text;
  char buffer[65536];
  for (;;) {
    ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      *why = path + ": " + std::strerror(errno);
      return std::nullopt;
    }
    if (got == 0) break;
    if (text.size() + static_cast<size_t>(got) > kMaxMapsBytes) {
      *why = path + ": larger than " + std::to_string(kMaxMapsBytes >> 20) + " MiB";
      return std::nullopt;
    }
    text.append(buffer, static_cast<size_t>(got));
  }
  return parse_maps(text);
}

const Mapping* find_mapping(const std::vector<Mapping>& mappings, uint64_t address) {
  auto it = std::upper_bound(mappings.begin(), mappings.end(), address,
                             [](uint64_t a, const Mapping& m) { return a < m.start; });
  if (it == mappings.begin()) return nullptr;
  --it;
  return address < it->end ? &*it : nullptr;
}

const Mapping* find_call_mapping(const std::vector<Mapping>& mappings, uint64_t return_address) {
  if (return_address == 0) return nullptr;
  return find_mapping(mappings, return_address - 1);
}

}  // namespace memproxy::symbols
