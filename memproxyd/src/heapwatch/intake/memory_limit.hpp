// What a watched process may use before it runs out of memory: the lowest
// limit of its memory cgroup and the cgroups above it (v2 memory.max and
// memory.high, v1 memory.limit_in_bytes), else what the host has available
// (MemAvailable) on top of what the process already holds.
//
// The cgroup is read once, when the process is identified (its pid is
// then bound to it); the limits are read at each forecast, since an admin
// may change them while the process runs. Linux only: elsewhere a process
// has no cgroup and the host's available memory is the limit.
#ifndef MEMPROXYD_HEAPWATCH_MEMORY_LIMIT_HPP
#define MEMPROXYD_HEAPWATCH_MEMORY_LIMIT_HPP

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "platform/memory_files.hpp"

namespace memproxy::heapwatch {

// "v2:/system.slice/x.service", "v1:/user/1000", or "" (none known): the
// process's memory cgroup, from its membership (platform::cgroup_membership).
std::string memory_cgroup_of(pid_t pid);
// The same from the text of a cgroup membership file.
std::string memory_cgroup_in(const std::string& proc_cgroup_text);

struct MemoryLimit {
  uint64_t bytes = 0;   // 0: unknown
  std::string source;   // "cgroup memory.max", "cgroup memory.high", "cgroup memory.limit_in_bytes", "host"
};

struct MemoryLimitPaths {
  std::string cgroup_root = platform::cgroup_root();
  std::string meminfo = platform::meminfo_path();
};

// The limit of a process in `cgroup` (memory_cgroup_of) holding `rss_bytes`.
MemoryLimit memory_limit(const std::string& cgroup, uint64_t rss_bytes, const MemoryLimitPaths& paths = {});

// How many of `cgroup`'s processes an OOM killer has killed (the kernel
// counts each victim in its own cgroup: v2 memory.events, v1
// memory.oom_control, "oom_kill N"); none where the cgroup or the count
// cannot be read (a kernel before 4.13, no memory controller).
std::optional<uint64_t> cgroup_oom_kills(const std::string& cgroup, const MemoryLimitPaths& paths = {});

}  // namespace memproxy::heapwatch

#endif
