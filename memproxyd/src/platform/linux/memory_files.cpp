#include "platform/memory_files.hpp"

#include <string>

#include "memproxy/process_info.hpp"

namespace memproxy::platform {

const char* cgroup_root() { return "/sys/fs/cgroup"; }

const char* meminfo_path() { return "/proc/meminfo"; }

std::string cgroup_membership(pid_t pid) {
  bool ok = false;
  return process::read_proc_file("/proc/" + std::to_string(pid) + "/cgroup", &ok);
}

}  // namespace memproxy::platform
