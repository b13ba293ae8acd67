#include "heapwatch/finder.hpp"

#include <dirent.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <string>

#include "heapwatch/process_identity.hpp"

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
    // The handle first: the account is then read from the process it names
    // (a process that is set-id or not dumpable is not read at all).
    Handle handle = ProcessHandle::of_pid(static_cast<pid_t>(pid), &why);
    if (!handle || registry.contains(handle->id())) continue;
    heap::MappedAccount account = heap::MappedAccount::of_process(static_cast<pid_t>(pid), &why, heap_socket.c_str());
    if (!account) continue;
    auto identity = identify(static_cast<pid_t>(pid), handle->uid());
    if (!identity || identity->id != handle->id() || !handle->check().empty()) continue;
    why = registry.add(std::move(*identity), std::move(account), std::move(handle));
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
