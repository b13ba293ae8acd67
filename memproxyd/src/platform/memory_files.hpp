// Where the host tells how much memory a process may use: its memory
// cgroup's files, and the host's memory summary.
#ifndef MEMPROXYD_PLATFORM_MEMORY_FILES_HPP
#define MEMPROXYD_PLATFORM_MEMORY_FILES_HPP

#include <sys/types.h>

#include <string>

namespace memproxy::platform {

// The root of the cgroup file system, under which a cgroup's path names
// its directory (v2), or the memory controller's hierarchy is (v1).
const char* cgroup_root();

// The host's memory summary, with its "MemAvailable:" line.
const char* meminfo_path();

// The text of the process's cgroup membership file ("ID:CONTROLLERS:PATH"
// lines); "" when it is gone or has none.
std::string cgroup_membership(pid_t pid);

}  // namespace memproxy::platform

#endif
