#include "heapwatch/intake/finder.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "heapwatch/intake/process_identity.hpp"
#include "memproxy/process_info.hpp"
#include "platform/boot_clock.hpp"
#include "platform/process_list.hpp"

namespace memproxy::heapwatch {

size_t Finder::scan(bool settle) {
  const uint64_t settled_before =
      settle ? platform::ticks_since_boot() - static_cast<uint64_t>(kSettleTime.count() * ::sysconf(_SC_CLK_TCK))
             : UINT64_MAX;
  std::set<ProcessId> running;
  size_t added = 0;
  const pid_t self = ::getpid();
  const bool listed = platform::for_each_process([&](pid_t pid) {
    if (pid == self) return;
    auto ticks = process::start_ticks(pid);
    if (!ticks || *ticks > settled_before) return;
    const ProcessId seen{pid, *ticks};
    running.insert(seen);
    if (examined_.count(seen) != 0) return;
    std::string why;
    // The handle first: the account is then read from the process it names
    // (a process that is set-id or not dumpable is not read at all).
    Handle handle = ProcessHandle::of_pid(pid, &why);
    if (!handle || registry_.contains(handle->id())) return;
    heap::MappedAccount account = heap::MappedAccount::of_process(pid, &why, heap_socket_.c_str());
    if (!account) return;
    auto identity = identify(pid, handle->uid());
    if (!identity || id_of(*identity) != handle->id() || !handle->check().empty()) return;
    const uid_t uid = identity->uid;
    why = registry_.add(std::move(*identity), std::move(account), std::move(handle));
    if (why.empty()) {
      ++added;
      spdlog::info("watching the heap of pid {} (uid {}), found running", pid, uid);
    } else {
      spdlog::warn("not watching running pid {}: {}", pid, why);
    }
  });
  if (!listed) return 0;
  // Only the running are remembered: a pid reused later is a new process
  // anyway (another start time), and the set stays as large as the process list.
  examined_.swap(running);
  return added;
}

}  // namespace memproxy::heapwatch
