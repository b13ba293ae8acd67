// Reading a monitored process's heap account (heap_account.h) from
// outside: the daemon's sampler, memproxyctl and the tests.
//
// Everything is untrusted: the region's header is checked against the
// region's real size before a slot is read, sums saturate instead of
// wrapping, and nothing read can make the reader leave the mapping or loop
// longer than kMaxSlotCount slots. A hostile process can only make its own
// numbers wrong.
#ifndef MEMPROXY_HEAP_READER_HPP
#define MEMPROXY_HEAP_READER_HPP

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "memproxy/heap_account.h"

namespace memproxy::heap {

struct Totals {
  uint64_t calls[kCounters] = {};
  uint64_t bytes_allocated = 0;
  uint64_t bytes_freed = 0;
  uint64_t live_bytes = 0;   // bytes_allocated - bytes_freed (0 if the account says less)
  uint64_t peak_bytes = 0;   // at least live_bytes
  uint64_t overflow_calls = 0;
  uint32_t threads = 0;      // slots in use
  int64_t started_unix_ns = 0;
  int64_t pid = 0;           // as the process wrote it: not to be trusted
  uint64_t allocations() const { return calls[kMalloc] + calls[kCalloc] + calls[kAligned] + calls[kNew]; }
  uint64_t frees() const { return calls[kFree] + calls[kDelete]; }
};

// Checks the header of a region of `size` bytes; "" when it can be read,
// else why not.
std::string check_region(const void* region, size_t size);

// Sums the account; check_region() must have accepted the region. Pages the
// process never touched are not read (they would be allocated, charged to
// the reader): they count as the zeros they hold.
//
// `pid`, when not 0, is the process the account is of, by the reader's own
// knowledge (never Header::pid, which the process writes): the backend
// counters its slots follow (Slot::backend_counter) are then read in the
// process itself (process_vm_readv, which needs the reader to be allowed to
// ptrace it), so they count every call to now; else, or where they cannot
// be read, as each thread last saw them, short of what it did since its
// last event (heap_account.h).
// A process can only point its slots at its own memory. The caller keeps
// the totals only if the process still runs after the read (its pidfd):
// else its pid may already name another.
Totals read_totals(const void* region, int pid = 0);

// A sampled allocation, copied out of its record while the record was stable.
struct Sample {
  uint64_t address = 0;
  uint64_t size = 0;        // usable bytes
  uint64_t mean_bytes = 0;  // the sampling mean it was taken with
  int64_t allocated_unix_ns = 0;
  uint32_t thread = 0;
  uint16_t flags = 0;       // SampleFlags
  std::vector<uint64_t> pcs;  // return addresses, innermost first
};

// The bytes a sample stands for: a block of `size` bytes is sampled with
// probability 1 - exp(-size / mean), so weighting it by the inverse makes
// the sum over a call site's samples an unbiased estimate of its bytes.
double estimated_bytes(uint64_t size, uint64_t mean_bytes);

// The live samples. A record being written while it is read is retried a
// few times, then left out; a record that says more frames than a record
// holds is clamped. Bounded by kSampleCapacity records whatever the
// process wrote. Records on pages the process never touched are not read.
std::vector<Sample> read_samples(const SampleSection& section);

// Holds the trace ring's lease for `lease_ns` from now (CLOCK_MONOTONIC) and
// switches the ring on: the lease first, then `on` with release order, so a
// writer that sees the ring on sees this lease or a later one. A reader
// that traces calls it on every drain, which also turns the ring on again
// if a writer found the lease lapsed. Then it forces the events of
// `event_slots` (MappedAccount::event_slots): in each slot that follows
// backend counters, 0 replaces until_event and until_free_event with
// compare-and-swap; in each that counts by block sizes, where the account
// says so (Header::sized_events), kForceBytes is subtracted from them
// instead (the thread adds it back). Either way that thread's next call,
// whose common path does not read the switch, takes its events and is
// traced (heap_account.h). A thread's own store that races the write
// undoes it; the next drain's forcing comes after (a thread keeps its own
// slot forced while it sees the ring on).
struct EventSlots {
  std::span<Slot> slots;
  // The account's Header::sized_events, which its process sets after the
  // account is handed over: read at each forcing. Null before format 5.
  const uint64_t* sized_events = nullptr;
  bool empty() const { return slots.empty(); }
};
void hold_trace_lease(TraceSection& ring, int64_t lease_ns, const EventSlots& event_slots);

// Takes the trace ring's published records, oldest first, up to `max`, and
// hands their positions back to the process (advances the tail). Stops at
// the first record not yet published: a thread between reserving a position
// and writing it holds the reader up, never the other threads.
size_t drain_trace(TraceSection& ring, std::vector<TraceRecord>* out, size_t max);

// An account mapped from outside. Made only from a memfd sealed against
// shrinking and growing, so the mapping can never fault under the reader,
// and no larger than the biggest account a process makes.
class MappedAccount {
 public:
  // Takes `fd` (closed on failure too); `why` says what was wrong.
  static MappedAccount from_fd(int fd, std::string* why);
  // The account of a running process, found among its mappings by the
  // memfd's name (/proc/PID/maps) and opened through /proc/PID/map_files
  // (a reader with CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN: root, the daemon):
  // the account meant for `heap_socket` (memfd_name_for), or any account
  // when it is null.
  static MappedAccount of_process(int pid, std::string* why, const char* heap_socket = nullptr);

  MappedAccount() = default;
  MappedAccount(MappedAccount&& other) noexcept { *this = std::move(other); }
  MappedAccount& operator=(MappedAccount&& other) noexcept;
  MappedAccount(const MappedAccount&) = delete;
  MappedAccount& operator=(const MappedAccount&) = delete;
  ~MappedAccount();

  explicit operator bool() const { return data_ != nullptr; }
  const void* data() const { return data_; }
  size_t size() const { return size_; }
  Totals totals(int pid = 0) const { return read_totals(data_, pid); }
  // The sections, at the offsets check_region() verified: those of
  // kSlotCount slots, never the header's words again, which the process
  // may have rewritten since (it could point the reader anywhere).
  const Header& header() const { return *static_cast<const Header*>(data_); }
  const SampleSection& samples() const {
    return *reinterpret_cast<const SampleSection*>(static_cast<const unsigned char*>(data_) +
                                                   samples_offset_for(kSlotCount));
  }
  // The trace ring, whose on/min_size/tail words the daemon writes.
  TraceSection& trace() const {
    return *reinterpret_cast<TraceSection*>(static_cast<unsigned char*>(data_) + trace_offset_for(kSlotCount));
  }
  // The slots whose events a reader switching the trace ring on forces
  // (hold_trace_lease): all of them where the account's format has the
  // process read the switch only at its events, none before.
  EventSlots event_slots() const;

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

inline constexpr size_t kMaxRegionSize = region_size_for(kMaxSlotCount);

}  // namespace memproxy::heap

#endif
