#include "heapwatch/intake/finder.hpp"

#include <dirent.h>
#include <spdlog/spdlog.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "heapwatch/intake/process_identity.hpp"
#include "memproxy/process_info.hpp"

namespace memproxy::heapwatch {
namespace {

// Clock ticks since boot now, the unit of /proc/PID/stat's start time.
uint64_t ticks_since_boot() {
  timespec now{};
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  const auto hz = static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
  return static_cast<uint64_t>(now.tv_sec) * hz + static_cast<uint64_t>(now.tv_nsec) * hz / 1000000000u;
}

}  // namespace

size_t Finder::scan(bool settle) {
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return 0;
  const uint64_t settled_before =
      settle ? ticks_since_boot() - static_cast<uint64_t>(kSettleTime.count() * ::sysconf(_SC_CLK_TCK)) : UINT64_MAX;
  std::set<ProcessId> running;
  size_t added = 0;
  const pid_t self = ::getpid();
  while (dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    long number = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || number <= 0 || number == self) continue;
    const auto pid = static_cast<pid_t>(number);
    auto ticks = process::start_ticks(pid);
    if (!ticks || *ticks > settled_before) continue;
    const ProcessId seen{pid, *ticks};
    running.insert(seen);
    if (examined_.count(seen) != 0) continue;
    std::string why;
    // The handle first: the account is then read from the process it names
    // (a process that is set-id or not dumpable is not read at all).
    Handle handle = ProcessHandle::of_pid(pid, &why);
    if (!handle || registry_.contains(handle->id())) continue;
    heap::MappedAccount account = heap::MappedAccount::of_process(pid, &why, heap_socket_.c_str());
    if (!account) continue;
    auto identity = identify(pid, handle->uid());
    if (!identity || id_of(*identity) != handle->id() || !handle->check().empty()) continue;
    const uid_t uid = identity->uid;
    why = registry_.add(std::move(*identity), std::move(account), std::move(handle));
    if (why.empty()) {
      ++added;
      spdlog::info("watching the heap of pid {} (uid {}), found running", pid, uid);
    } else {
      spdlog::warn("not watching running pid {}: {}", pid, why);
    }
  }
  ::closedir(proc);
  // Only the running are remembered: a pid reused later is a new process
  // anyway (another start time), and the set stays as large as /proc.
  examined_.swap(running);
  return added;
}

}  // namespace memproxy::heapwatch
