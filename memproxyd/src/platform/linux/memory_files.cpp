#include "platform/memory_files.hpp"

#include <fstream>
#include <sstream>

namespace memproxy::platform {

const char* cgroup_root() { return "/sys/fs/cgroup"; }

const char* meminfo_path() { return "/proc/meminfo"; }

std::string cgroup_membership(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace memproxy::platform
