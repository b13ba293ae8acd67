// The monitored processes memproxyd watches now, each with its mapped heap
// account and its recent samples. Owned by the event loop's thread: nothing
// here locks.
//
// Bounded: at most `max_processes` entries, and at most `max_per_user` of
// any user other than root, so no user can exhaust the daemon by starting
// monitored processes; a process beyond the bounds is refused (it keeps
// running, unwatched). Each entry keeps at most kRecentSamples samples.
//
// A process that execs keeps its ProcessId and hands over the new image's
// account: it replaces the old one, whose image no longer exists (its names
// and samples go with it). The replaced accounts stay mapped, their rings
// off, until the process ends, because a trace of the old image may still
// hold its ring; at most kMaxImages per process, later images are refused.
#ifndef MEMPROXYD_HEAPWATCH_REGISTRY_HPP
#define MEMPROXYD_HEAPWATCH_REGISTRY_HPP

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "heapwatch/intake/process_handle.hpp"
#include "heapwatch/intake/watched_process.hpp"
#include "memproxy/heap_reader.hpp"

namespace memproxy::heapwatch {

inline constexpr size_t kRecentSamples = 3600;
inline constexpr size_t kMaxImages = 8;

struct Watched {
  WatchedProcess process;
  heap::MappedAccount account;
  Handle handle;               // the process itself; null only for a test's made-up process
  std::deque<Reading> recent;   // oldest first
  heap::Totals last_totals;    // of the newest sample
  std::vector<heap::MappedAccount> replaced;  // of the images it ran before an exec, < kMaxImages
};

struct RegistryLimits {
  size_t max_processes = 4096;
  size_t max_per_user = 512;
};

class Registry {
 public:
  explicit Registry(RegistryLimits limits = {}) : limits_(limits) {}

  // Takes a newly found process, or the new account of a watched one that
  // exec'd (logged as such); "" on success, else why it is refused.
  std::string add(WatchedProcess process, heap::MappedAccount account, Handle handle);
  bool contains(const ProcessId& id) const { return entries_.count(id) != 0; }
  // nullptr when `id` is not watched; valid until the registry changes.
  const Watched* find(const ProcessId& id) const;
  // The process ended, or (`why`) may no longer be shown: its entry is
  // removed and handed to `on_end` first. Logged either way, as the start
  // of a watch is: a watch never ends silently.
  void end(const ProcessId& id, int64_t unix_ns, const std::string& why = "");
  void record(const ProcessId& id, const Reading& sample, const heap::Totals& totals);

  size_t size() const { return entries_.size(); }
  void for_each(const std::function<void(Watched&)>& visit);
  void for_each(const std::function<void(const Watched&)>& visit) const;

  std::function<void(const Watched&)> on_end;
  // The heap watch's own hooks (the exit watch), apart from on_end's users.
  std::function<void(const Watched&)> on_added;
  std::function<void(const ProcessId&)> on_removed;

 private:
  std::string replace_image(Watched& w, WatchedProcess process, heap::MappedAccount account);

  RegistryLimits limits_;
  std::map<ProcessId, Watched> entries_;
  std::map<uid_t, size_t> per_user_;
};

}  // namespace memproxy::heapwatch

#endif
