#include "heapwatch/finder.hpp"

#include <dirent.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <string>

#include "heapwatch/process_identity.hpp"
#include "memproxy/process_info.hpp"

namespace memproxy::heapwatch {

size_t find_running(Registry& registry, const std::string& heap_socket) {
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return 0;
  size_t added = 0;
  const pid_t self = ::getpid();
  while (dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || pid <= 0 || pid == self) continue;
    std::string why;
    heap::MappedAccount account = heap::MappedAccount::of_process(static_cast<pid_t>(pid), &why, heap_socket.c_str());
    if (!account) continue;
    auto uid = process::real_uid(static_cast<pid_t>(pid));
    auto identity = uid ? identify(static_cast<pid_t>(pid), *uid) : std::nullopt;
    if (!identity || registry.contains(identity->id)) continue;
    why = registry.add(std::move(*identity), std::move(account), false);
    if (why.empty()) {
      ++added;
    } else {
      spdlog::warn("not watching running pid {}: {}", pid, why);
    }
  }
  ::closedir(proc);
  return added;
}

}  // namespace memproxy::heapwatch
