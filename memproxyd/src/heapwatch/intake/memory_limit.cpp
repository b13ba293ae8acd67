#include "heapwatch/intake/memory_limit.hpp"

#include <charconv>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

namespace memproxy::heapwatch {
namespace {

// v1 reports "no limit" as the largest page-aligned signed 64-bit value;
// anything beyond an exbibyte is no limit on any real host.
constexpr uint64_t kNoLimitAbove = uint64_t{1} << 60;

std::optional<uint64_t> read_number(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text)) return std::nullopt;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value >= kNoLimitAbove) return std::nullopt;
  return value;
}

// The cgroup's path and each of its parents, the cgroup first, the root last.
template <typename Visit>
void walk_up(std::string path, Visit visit) {
  for (;;) {
    visit(path);
    if (path.empty() || path == "/") return;
    auto slash = path.rfind('/');
    path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
  }
}

std::optional<uint64_t> mem_available(const std::string& meminfo) {
  std::ifstream in(meminfo);
  std::string key;
  uint64_t kib = 0;
  while (in >> key) {
    if (key == "MemAvailable:" && in >> kib) return kib * 1024;
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return std::nullopt;
}

}  // namespace

std::string memory_cgroup_in(const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  std::string v2;
  while (std::getline(lines, line)) {
    auto first = line.find(':');
    auto second = first == std::string::npos ? std::string::npos : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (path.empty() || path[0] != '/' || path.find("/../") != std::string::npos ||
        path.ends_with("/..")) {
      continue;
    }
    if (line.compare(0, first, "0") == 0 && controllers.empty()) v2 = "v2:" + path;
    std::istringstream names(controllers);
    std::string name;
    while (std::getline(names, name, ',')) {
      if (name == "memory") return "v1:" + path;
    }
  }
  return v2;
}

std::string memory_cgroup_of(pid_t pid) { return memory_cgroup_in(platform::cgroup_membership(pid)); }

MemoryLimit memory_limit(const std::string& cgroup, uint64_t rss_bytes, const MemoryLimitPaths& paths) {
  MemoryLimit limit;
  auto consider = [&](std::optional<uint64_t> bytes, const char* source) {
    if (bytes && (limit.bytes == 0 || *bytes < limit.bytes)) {
      limit.bytes = *bytes;
      limit.source = source;
    }
  };
  if (cgroup.starts_with("v2:")) {
    walk_up(cgroup.substr(3), [&](const std::string& dir) {
      const std::string base = paths.cgroup_root + (dir == "/" ? "" : dir);
      consider(read_number(base + "/memory.max"), "cgroup memory.max");
      consider(read_number(base + "/memory.high"), "cgroup memory.high");
    });
  } else if (cgroup.starts_with("v1:")) {
    walk_up(cgroup.substr(3), [&](const std::string& dir) {
      consider(read_number(paths.cgroup_root + "/memory" + (dir == "/" ? "" : dir) + "/memory.limit_in_bytes"),
               "cgroup memory.limit_in_bytes");
    });
  }
  if (limit.bytes == 0) {
    if (std::optional<uint64_t> available = mem_available(paths.meminfo)) {
      limit.bytes = *available + rss_bytes;
      limit.source = "host";
    }
  }
  return limit;
}

std::optional<uint64_t> cgroup_oom_kills(const std::string& cgroup, const MemoryLimitPaths& paths) {
  std::string file;
  if (cgroup.starts_with("v2:")) {
    const std::string dir = cgroup.substr(3);
    file = paths.cgroup_root + (dir == "/" ? "" : dir) + "/memory.events";
  } else if (cgroup.starts_with("v1:")) {
    const std::string dir = cgroup.substr(3);
    file = paths.cgroup_root + "/memory" + (dir == "/" ? "" : dir) + "/memory.oom_control";
  } else {
    return std::nullopt;
  }
  std::ifstream in(file);
  std::string key;
  uint64_t count = 0;
  while (in >> key) {
    if (key == "oom_kill") return in >> count ? std::optional<uint64_t>(count) : std::nullopt;
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return std::nullopt;
}

}  // namespace memproxy::heapwatch
