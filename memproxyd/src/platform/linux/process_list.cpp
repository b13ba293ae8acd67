#include "platform/process_list.hpp"

#include <dirent.h>

#include <cstdlib>

namespace memproxy::platform {

bool for_each_process(const std::function<void(pid_t)>& visit) {
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return false;
  while (dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    long number = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || number <= 0) continue;
    visit(static_cast<pid_t>(number));
  }
  ::closedir(proc);
  return true;
}

}  // namespace memproxy::platform
