#include "heapwatch/intake/memory_limit.hpp"

#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>

#include "memproxy/process_info.hpp"

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

struct CgroupPath {
  bool v1 = false;
  std::string path;  // within its hierarchy, "/" its root
};

// "v1:PATH" or "v2:PATH" (memory_cgroup_in); none for anything else.
std::optional<CgroupPath> cgroup_path_of(const std::string& cgroup) {
  if (cgroup.starts_with("v2:")) return CgroupPath{false, cgroup.substr(3)};
  if (cgroup.starts_with("v1:")) return CgroupPath{true, cgroup.substr(3)};
  return std::nullopt;
}

// The directory of the cgroup at `path`: v1's memory controller has a
// hierarchy of its own, v2's is the unified one.
std::string cgroup_dir(bool v1, const std::string& path, const MemoryLimitPaths& paths) {
  return paths.cgroup_root + (v1 ? "/memory" : "") + (path == "/" ? "" : path);
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
  if (std::optional<CgroupPath> c = cgroup_path_of(cgroup)) {
    walk_up(c->path, [&](const std::string& path) {
      const std::string dir = cgroup_dir(c->v1, path, paths);
      if (c->v1) {
        consider(read_number(dir + "/memory.limit_in_bytes"), "cgroup memory.limit_in_bytes");
      } else {
        consider(read_number(dir + "/memory.max"), "cgroup memory.max");
        consider(read_number(dir + "/memory.high"), "cgroup memory.high");
      }
    });
  }
  if (limit.bytes == 0) {
    if (std::optional<uint64_t> available_kib = process::keyed_number(paths.meminfo, "MemAvailable:")) {
      limit.bytes = *available_kib * 1024 + rss_bytes;
      limit.source = "host";
    }
  }
  return limit;
}

std::optional<uint64_t> cgroup_oom_kills(const std::string& cgroup, const MemoryLimitPaths& paths) {
  const std::optional<CgroupPath> c = cgroup_path_of(cgroup);
  if (!c) return std::nullopt;
  const std::string dir = cgroup_dir(c->v1, c->path, paths);
  return process::keyed_number(dir + (c->v1 ? "/memory.oom_control" : "/memory.events"), "oom_kill");
}

}  // namespace memproxy::heapwatch
