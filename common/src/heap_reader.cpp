#include "memproxy/heap_reader.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace memproxy::heap {
namespace {

uint64_t load(const uint64_t* word) { return __atomic_load_n(word, __ATOMIC_RELAXED); }
int64_t load_signed(const int64_t* word) { return __atomic_load_n(word, __ATOMIC_RELAXED); }

uint64_t saturating_add(uint64_t a, uint64_t b) {
  uint64_t sum;
  return __builtin_add_overflow(a, b, &sum) ? UINT64_MAX : sum;
}

// Which pages of a range of the account are resident, asked once per walk.
// A page the process never touched does not exist in its memfd, and reading
// it through the daemon's shared mapping would allocate it, charged to the
// daemon: 520 processes with 4,096 sparse slots grew the daemon from 24 MB
// to 1.59 GB. mincore() on a shared mapping tells whether the file's page
// exists without allocating it; a missing page holds only zeros, which is
// what a walk reads for it instead. (A page swapped out reads as missing:
// its counts are left out of this sample, never wrong in the next.) When
// mincore() fails (memory that is not a mapping), every page is read.
class ResidentPages {
 public:
  ResidentPages(const void* begin, size_t length) {
    const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    page_ = page;
    first_ = reinterpret_cast<uintptr_t>(begin) & ~(page - 1);
    const uintptr_t end = reinterpret_cast<uintptr_t>(begin) + length;
    const size_t pages = (end - first_ + page - 1) / page;
    map_.resize(pages);
    known_ = ::mincore(reinterpret_cast<void*>(first_), pages * page, map_.data()) == 0;
  }
  // Every page of [p, p + n) exists (n > 0, inside the range).
  bool resident(const void* p, size_t n) const {
    if (!known_) return true;
    const uintptr_t a = reinterpret_cast<uintptr_t>(p);
    for (uintptr_t i = (a - first_) / page_; i <= (a + n - 1 - first_) / page_; ++i) {
      if ((map_[i] & 1) == 0) return false;
    }
    return true;
  }

 private:
  uintptr_t first_ = 0;
  uintptr_t page_ = 4096;
  std::vector<unsigned char> map_;
  bool known_ = false;
};

uint64_t load(const ResidentPages& pages, const uint64_t* word) {
  return pages.resident(word, sizeof *word) ? load(word) : 0;
}

uint32_t load(const ResidentPages& pages, const uint32_t* word) {
  return pages.resident(word, sizeof *word) ? __atomic_load_n(word, __ATOMIC_ACQUIRE) : 0;
}

// A slot's backend counters as they stand in the process `pid` (0: not
// read there): false, and `now` untouched, where they cannot be read
// (no such address in the process, no permission, no pid).
bool read_in_process(int pid, const uint64_t address[2], uint64_t now[2]) {
  if (pid <= 0) return false;
  iovec local[2];
  iovec remote[2];
  uint64_t values[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    local[i] = {&values[i], sizeof values[i]};
    remote[i] = {reinterpret_cast<void*>(static_cast<uintptr_t>(address[i])), sizeof values[i]};
  }
  if (::process_vm_readv(pid, local, 2, remote, 2, 0) != static_cast<ssize_t>(sizeof values)) return false;
  now[0] = values[0];
  now[1] = values[1];
  return true;
}

// The backend counters of every slot that follows them, read in the
// process with one process_vm_readv before the slots are summed: one
// system call a reading, not one a thread. A slot's reading is used only
// if the slot, when it is summed, still has the detaching count (which a
// thread's exit changes, and so a new thread's attach to the slot after it)
// and the addresses it had here; else the slot is read by itself, as are
// the slots after the first address the process could not read.
class CounterReadings {
  static_assert(2 * kSlotCount <= 1024, "every slot's two counters fit one process_vm_readv (Linux's IOV_MAX)");

 public:
  CounterReadings(const ResidentPages& pages, const Slot* slots, uint32_t count, uint32_t version, int pid)
      : readings_(pid > 0 && version >= 3 ? count : 0) {
    std::vector<iovec> local, remote;
    for (uint32_t i = 0; i < readings_.size(); ++i) {
      Reading& r = readings_[i];
      const Slot& s = slots[i];
      if (load(pages, &s.owner) == 0) continue;
      r.detaching = load(pages, &s.detaching);
      __atomic_thread_fence(__ATOMIC_ACQUIRE);
      r.address[0] = load(pages, &s.backend_counter[0]);
      r.address[1] = load(pages, &s.backend_counter[1]);
      if (r.detaching % 2 != 0 || r.address[0] == 0) continue;
      for (int k = 0; k < 2; ++k) {
        local.push_back({&r.now[k], sizeof r.now[k]});
        remote.push_back({reinterpret_cast<void*>(static_cast<uintptr_t>(r.address[k])), sizeof r.now[k]});
      }
      r.wanted = true;
    }
    if (local.empty()) return;
    const ssize_t got = ::process_vm_readv(pid, local.data(), local.size(), remote.data(), remote.size(), 0);
    // Whole words, in order, up to the first the process could not give.
    size_t words = got > 0 ? static_cast<size_t>(got) / sizeof(uint64_t) : 0;
    for (Reading& r : readings_) {
      if (!r.wanted) continue;
      if (words < 2) break;
      r.read = true;
      words -= 2;
    }
  }

  // Slot i's counters as read above, if it still has `detaching` and
  // `address`.
  bool of(uint32_t i, uint32_t detaching, const uint64_t address[2], uint64_t now[2]) const {
    if (i >= readings_.size()) return false;
    const Reading& r = readings_[i];
    if (!r.read || r.detaching != detaching || r.address[0] != address[0] || r.address[1] != address[1]) return false;
    now[0] = r.now[0];
    now[1] = r.now[1];
    return true;
  }

 private:
  struct Reading {
    uint32_t detaching = 0;
    uint64_t address[2] = {0, 0};
    uint64_t now[2] = {0, 0};
    bool wanted = false;
    bool read = false;
  };
  std::vector<Reading> readings_;
};

// What one slot counts. Format 3: a slot that follows the backend's
// counters adds what they gained since it attached (seen - base, 0 when a
// process says less), read as one with the byte counts: a slot whose
// thread is folding them in at its exit (detaching odd, or changed while
// read) is read again, a few times at most (a process that keeps it odd
// only makes its own numbers wrong). Where the counters can be read in the
// process they stand for seen, unless they say less (counters only grow:
// only a process that lies about its slot says so).
struct SlotCounts {
  uint64_t calls[kCounters] = {};
  uint64_t bytes_allocated = 0;
  uint64_t bytes_freed = 0;
};

// `read`: the slot's counters if CounterReadings has them (`index` in it).
SlotCounts read_slot(const ResidentPages& pages, const Slot& s, uint32_t version, int pid,
                     const CounterReadings* read = nullptr, uint32_t index = 0) {
  SlotCounts c;
  for (uint32_t i = 0; i < kCounters; ++i) c.calls[i] = load(pages, &s.calls[i]);
  for (int attempt = 0; attempt < 4; ++attempt) {
    const uint32_t before = version >= 3 ? load(pages, &s.detaching) : 0;
    c.bytes_allocated = load(pages, &s.bytes_allocated);
    c.bytes_freed = load(pages, &s.bytes_freed);
    if (version < 3) break;
    const uint64_t address[2] = {load(pages, &s.backend_counter[0]), load(pages, &s.backend_counter[1])};
    if (address[0] != 0) {
      __atomic_thread_fence(__ATOMIC_ACQUIRE);  // base and seen were set before the counter
      uint64_t* counts[2] = {&c.bytes_allocated, &c.bytes_freed};
      uint64_t seen[2] = {load(pages, &s.backend_seen[0]), load(pages, &s.backend_seen[1])};
      uint64_t now[2];
      if ((attempt == 0 && read != nullptr && read->of(index, before, address, now)) ||
          read_in_process(pid, address, now)) {
        for (int i = 0; i < 2; ++i) seen[i] = std::max(seen[i], now[i]);
      }
      for (int i = 0; i < 2; ++i) {
        const uint64_t base = load(pages, &s.backend_base[i]);
        *counts[i] = saturating_add(*counts[i], seen[i] >= base ? seen[i] - base : 0);
      }
    }
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (before % 2 == 0 && load(pages, &s.detaching) == before) break;
  }
  return c;
}

void add_slot(const ResidentPages& pages, const Slot& s, uint32_t version, int pid, Totals* t,
              const CounterReadings* read = nullptr, uint32_t index = 0) {
  const SlotCounts c = read_slot(pages, s, version, pid, read, index);
  for (uint32_t i = 0; i < kCounters; ++i) t->calls[i] = saturating_add(t->calls[i], c.calls[i]);
  t->bytes_allocated = saturating_add(t->bytes_allocated, c.bytes_allocated);
  t->bytes_freed = saturating_add(t->bytes_freed, c.bytes_freed);
}

}  // namespace

std::string check_region(const void* region, size_t size) {
  if (region == nullptr || size < sizeof(Header)) return "the account is smaller than its header";
  const auto* h = static_cast<const Header*>(region);
  if (std::memcmp(h->magic, MP_HEAP_MAGIC, sizeof MP_HEAP_MAGIC) != 0) return "not a memproxy heap account (bad magic)";
  if (!readable_format(h->format_version)) return "unsupported heap account version " + std::to_string(h->format_version);
  if (h->header_size != sizeof(Header) || h->slot_size != kSlotSize) return "heap account header sizes out of range";
  // The library's count only: a larger one costs the daemon more to walk
  // and only lets a process make the daemon's walks longer.
  if (h->slot_count != kSlotCount) {
    return "heap account slot count " + std::to_string(h->slot_count) + ", not the library's " +
           std::to_string(kSlotCount);
  }
  if (h->region_size != size || region_size_for(h->slot_count) != size) return "heap account size does not match the region";
  if (h->samples_offset != samples_offset_for(h->slot_count) || h->samples_size != sizeof(SampleSection) ||
      h->trace_offset != trace_offset_for(h->slot_count) || h->trace_size != sizeof(TraceSection)) {
    return "heap account sections out of place";
  }
  return "";
}

Totals read_totals(const void* region, int pid) {
  const auto* h = static_cast<const Header*>(region);
  const auto* slots = reinterpret_cast<const Slot*>(static_cast<const unsigned char*>(region) + sizeof(Header));
  Totals t;
  // What check_region matched: the header's word may have changed since,
  // and the region holds no more.
  const uint32_t count = kSlotCount;
  const uint32_t version = __atomic_load_n(&h->format_version, __ATOMIC_RELAXED);  // the process may change it: it lies only about itself
  const ResidentPages pages(region, sizeof(Header) + static_cast<size_t>(count) * sizeof(Slot));
  const CounterReadings read(pages, slots, count, version, pid);
  for (uint32_t i = 0; i < count; ++i) {
    if (load(pages, &slots[i].owner) == 0) continue;
    ++t.threads;
    add_slot(pages, slots[i], version, pid, &t, &read, i);
  }
  add_slot(pages, h->overflow, version, pid, &t);
  t.overflow_calls = load(&h->overflow_calls);
  t.live_bytes = t.bytes_allocated >= t.bytes_freed ? t.bytes_allocated - t.bytes_freed : 0;
  t.peak_bytes = load(&h->peak_bytes);
  if (t.peak_bytes < t.live_bytes) t.peak_bytes = t.live_bytes;
  t.started_unix_ns = load_signed(&h->started_unix_ns);
  t.pid = load_signed(&h->pid);
  return t;
}

MappedAccount& MappedAccount::operator=(MappedAccount&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) ::munmap(data_, size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedAccount::~MappedAccount() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

double estimated_bytes(uint64_t size, uint64_t mean_bytes) {
  if (size == 0) return 0;
  if (mean_bytes == 0) return static_cast<double>(size);
  const double ratio = static_cast<double>(size) / static_cast<double>(mean_bytes);
  // -expm1 keeps the precision for blocks much smaller than the mean.
  return static_cast<double>(size) / -std::expm1(-ratio);
}

std::vector<Sample> read_samples(const SampleSection& section) {
  std::vector<Sample> samples;
  const ResidentPages pages(&section, sizeof section);
  for (uint32_t i = 0; i < kSampleCapacity; ++i) {
    const SampleRecord& r = section.records[i];
    // A record the process wrote has its fixed fields and its frames on
    // pages that exist; one on a missing page was never used.
    if (!pages.resident(&r, offsetof(SampleRecord, pcs))) continue;
    for (int attempt = 0; attempt < 4; ++attempt) {
      const uint64_t before = __atomic_load_n(&r.sequence, __ATOMIC_ACQUIRE);
      if (before == 0 || before % 2 == 1) continue;
      Sample s;
      s.address = __atomic_load_n(&r.address, __ATOMIC_RELAXED);
      s.size = __atomic_load_n(&r.size, __ATOMIC_RELAXED);
      s.mean_bytes = __atomic_load_n(&r.mean_bytes, __ATOMIC_RELAXED);
      s.allocated_unix_ns = __atomic_load_n(&r.allocated_unix_ns, __ATOMIC_RELAXED);
      s.thread = __atomic_load_n(&r.thread, __ATOMIC_RELAXED);
      s.flags = __atomic_load_n(&r.flags, __ATOMIC_RELAXED);
      const uint16_t depth = std::min<uint16_t>(__atomic_load_n(&r.depth, __ATOMIC_RELAXED), kMaxFrames);
      if (depth > 0 && !pages.resident(&r.pcs[0], depth * sizeof(uint64_t))) break;
      s.pcs.resize(depth);
      for (uint16_t f = 0; f < depth; ++f) s.pcs[f] = __atomic_load_n(&r.pcs[f], __ATOMIC_RELAXED);
      __atomic_thread_fence(__ATOMIC_ACQUIRE);
      if (__atomic_load_n(&r.sequence, __ATOMIC_RELAXED) != before) continue;
      if (s.address != 0) samples.push_back(std::move(s));
      break;
    }
  }
  return samples;
}

namespace {

// Writes 0 to `word` unless it is 0, with compare-and-swap: a value the
// thread stored meanwhile is never overwritten, only left for the next pass.
void force_due(int64_t* word) {
  int64_t seen = __atomic_load_n(word, __ATOMIC_RELAXED);
  if (seen != 0) __atomic_compare_exchange_n(word, &seen, 0, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

// By block sizes: subtracts kForceBytes from `word` unless it is forced
// already (below -kForceBytes / 2), with compare-and-swap as above. A word
// a process made wrap is its own business.
void force_sized_due(int64_t* word) {
  int64_t seen = __atomic_load_n(word, __ATOMIC_RELAXED);
  if (seen < -kForceBytes / 2) return;
  const int64_t forced = static_cast<int64_t>(static_cast<uint64_t>(seen) - static_cast<uint64_t>(kForceBytes));
  __atomic_compare_exchange_n(word, &seen, forced, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

}  // namespace

void hold_trace_lease(TraceSection& ring, int64_t lease_ns, const EventSlots& event_slots) {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const int64_t now = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  __atomic_store_n(&ring.lease_until_ns, now + lease_ns, __ATOMIC_RELAXED);
  __atomic_store_n(&ring.on, 1, __ATOMIC_RELEASE);
  // After `on`: a thread that misses this write stores its own due words
  // after it, and looks at the switch after that (at its event's end).
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (event_slots.empty()) return;
  // Slots on pages the process never touched are not written (nor read):
  // no thread has one.
  const bool sized = event_slots.sized_events != nullptr &&
                     __atomic_load_n(event_slots.sized_events, __ATOMIC_ACQUIRE) == 1;
  const ResidentPages pages(event_slots.slots.data(), event_slots.slots.size_bytes());
  for (Slot& s : event_slots.slots) {
    const uint64_t owner = load(pages, &s.owner);
    if (owner == 0 || owner == kSlotHandedBack) continue;
    if (load(pages, &s.backend_counter[0]) != 0) {
      force_due(&s.until_event);
      force_due(&s.until_free_event);
    } else if (sized) {
      force_sized_due(&s.until_event);
      force_sized_due(&s.until_free_event);
    }
  }
}

EventSlots MappedAccount::event_slots() const {
  if (data_ == nullptr) return {};
  const uint32_t version = __atomic_load_n(&header().format_version, __ATOMIC_RELAXED);
  if (version < kForcedEventsFormatVersion) return {};
  // kSlotCount, which check_region matched: the header's count may have
  // changed since.
  EventSlots e;
  e.slots = {reinterpret_cast<Slot*>(static_cast<unsigned char*>(data_) + sizeof(Header)), kSlotCount};
  if (version >= kSizedEventsFormatVersion) e.sized_events = &header().sized_events;
  return e;
}

size_t drain_trace(TraceSection& ring, std::vector<TraceRecord>* out, size_t max) {
  uint64_t tail = __atomic_load_n(&ring.tail, __ATOMIC_RELAXED);
  size_t taken = 0;
  for (; taken < max; ++taken, ++tail) {
    const TraceRecord& r = ring.records[tail % kTraceCapacity];
    // Published records carry their position + 1; anything else (not yet
    // written, or a stale lap) ends the batch.
    if (__atomic_load_n(&r.sequence, __ATOMIC_ACQUIRE) != tail + 1) break;
    out->push_back(r);
  }
  __atomic_store_n(&ring.tail, tail, __ATOMIC_RELEASE);
  return taken;
}

MappedAccount MappedAccount::from_fd(int fd, std::string* why) {
  MappedAccount account;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    *why = "the account is not a memory file";
  } else if (st.st_size < static_cast<off_t>(sizeof(Header)) || static_cast<uint64_t>(st.st_size) > kMaxRegionSize) {
    *why = "the account's size is out of range";
  } else {
#if defined(F_GET_SEALS)
    int seals = ::fcntl(fd, F_GET_SEALS);
    if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW)) {
      *why = "the account is not sealed against resizing";
      ::close(fd);
      return account;
    }
#endif
    size_t size = static_cast<size_t>(st.st_size);
    // Writable for the trace ring's control words only (trace_control());
    // everything else is read, never written.
    void* data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (data == MAP_FAILED) {
      *why = std::string("the account cannot be mapped: ") + std::strerror(errno);
    } else {
      *why = check_region(data, size);
      if (why->empty()) {
        account.data_ = data;
        account.size_ = size;
      } else {
        ::munmap(data, size);
      }
    }
  }
  ::close(fd);
  return account;
}

namespace {

// An account's memfd as /proc/PID/maps shows it: "/memfd:NAME (deleted)".
bool is_account_name(const std::string& target, const char* heap_socket) {
  const std::string memfd = "/memfd:", deleted = " (deleted)";
  if (target.size() < memfd.size() + deleted.size() || target.compare(0, memfd.size(), memfd) != 0 ||
      target.compare(target.size() - deleted.size(), deleted.size(), deleted) != 0) {
    return false;
  }
  const std::string name = target.substr(memfd.size(), target.size() - memfd.size() - deleted.size());
  if (heap_socket != nullptr) {
    char wanted[kMemfdNameSize];
    memfd_name_for(heap_socket, wanted);
    return name == wanted;
  }
  const std::string prefix = std::string(MP_HEAP_MEMFD_NAME) + "-";
  return name.size() == kMemfdNameSize - 1 && name.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

MappedAccount MappedAccount::of_process(int pid, std::string* why, const char* heap_socket) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::FILE* maps = std::fopen((dir + "/maps").c_str(), "re");
  if (maps == nullptr) {
    *why = "cannot read " + dir + "/maps: " + std::strerror(errno);
    return {};
  }
  MappedAccount found;
  *why = "process " + std::to_string(pid) + " has no heap account (not monitored)";
  // "START-END PERMS OFFSET DEV INODE   PATH": the path starts after the
  // fifth field's spaces. A line longer than the buffer is no account's.
  char line[512];
  while (std::fgets(line, sizeof line, maps) != nullptr) {
    size_t length = std::strlen(line);
    if (length == 0 || line[length - 1] != '\n') continue;
    line[length - 1] = '\0';
    const char* path = line;
    for (int field = 0; field < 5 && path != nullptr; ++field) {
      path = std::strchr(path, ' ');
      if (path != nullptr) path += std::strspn(path, " ");
    }
    if (path == nullptr || !is_account_name(path, heap_socket)) continue;
    const std::string range(line, std::strcspn(line, " "));
    // Opening a mapping's file needs CAP_CHECKPOINT_RESTORE (or
    // CAP_SYS_ADMIN): what the daemon has, and root.
    const std::string file = dir + "/map_files/" + range;
    int fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      *why = "cannot open " + file + ": " + std::strerror(errno);
      continue;
    }
    found = from_fd(fd, why);
    if (found) break;
  }
  std::fclose(maps);
  return found;
}

}  // namespace memproxy::heap
