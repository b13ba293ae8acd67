#include "heap_account.hpp"

#include <link.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dispatch.hpp"
#include "sampling.hpp"

namespace memproxy::account {

Account g_account MP_ACCOUNT_STATE = {nullptr, nullptr, nullptr, 0, {0, 0}, nullptr, nullptr, nullptr};
__thread heap::Slot* t_slot MP_THREAD_STATE = nullptr;
__thread heap::Slot* t_inline MP_THREAD_STATE = nullptr;
alignas(64) heap::Slot g_gate MP_STATE;
__thread heap::Slot* t_common MP_THREAD_STATE = &g_gate;
#if MP_TRACE_SWITCH_ALIAS
alignas(kTraceSwitchPage) unsigned char g_trace_switch_page[kTraceSwitchPage] MP_TRACE_SWITCH_PAGE;
#endif

namespace {

constexpr uint32_t kProbe = 16;

bool g_handed_over MP_STATE = false;
bool g_sized_events MP_STATE = false;
// The key whose destructor hands a thread's slot back. Without one (the
// process used up its keys) slots are not handed back: a thread that finds
// its own thread pointer in an owner word (glibc reuses stacks) takes the
// slot over, and threads beyond the slots share the overflow slot.
pthread_key_t g_exit_key MP_STATE;
bool g_exit_key_made MP_STATE = false;
char g_socket_path[108] MP_STATE = "";

// The common paths' words of this thread (t_inline, t_common), set
// together: it takes them with slot `s` (by backend counters, once
// attached), or none of them.
void take_common_paths(heap::Slot* s) {
  t_inline = s;
  t_common = s;
}
void leave_common_paths() {
  t_inline = nullptr;
  t_common = &g_gate;
}

// Makes a region, publishes it in g_account and hands it to the daemon;
// false when the platform gives none. The region's descriptor is closed
// before this returns, handed over or not: the mapping keeps the account
// alive, and a daemon started later finds the mapping by its name.
bool make_region_and_hand_over(const char** why) {
  const uint64_t size = heap::region_size_for(heap::kSlotCount);
  char name[heap::kMemfdNameSize];
  heap::memfd_name_for(g_socket_path, name);
  int fd = platform::sealed_region(name, static_cast<size_t>(size));
  if (fd < 0) {
    *why = "no sealed shared memory (memfd) for the account";
    return false;
  }
  void* at = mmap(nullptr, static_cast<size_t>(size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (at == MAP_FAILED) {
    close(fd);
    *why = "the account cannot be mapped";
    return false;
  }
#if MP_TRACE_SWITCH_ALIAS
  static_assert(heap::trace_offset_for(heap::kSlotCount) % kTraceSwitchPage == 0, "the trace section starts a page");
  if (mmap(g_trace_switch_page, kTraceSwitchPage, PROT_READ, MAP_SHARED | MAP_FIXED, fd,
           static_cast<off_t>(heap::trace_offset_for(heap::kSlotCount))) == MAP_FAILED) {
    munmap(at, static_cast<size_t>(size));
    close(fd);
    *why = "the trace switch cannot be mapped";
    return false;
  }
#endif
  auto* h = static_cast<heap::Header*>(at);
  memcpy(h->magic, MP_HEAP_MAGIC, sizeof MP_HEAP_MAGIC);
  h->format_version = heap::kFormatVersion;
  h->header_size = sizeof(heap::Header);
  h->slot_size = heap::kSlotSize;
  h->slot_count = heap::kSlotCount;
  h->region_size = size;
  h->pid = getpid();
  h->started_unix_ns = platform::now_unix_ns();
  h->samples_offset = static_cast<uint32_t>(heap::samples_offset_for(heap::kSlotCount));
  h->samples_size = sizeof(heap::SampleSection);
  h->trace_offset = static_cast<uint32_t>(heap::trace_offset_for(heap::kSlotCount));
  h->trace_size = sizeof(heap::TraceSection);
  h->sized_events = g_sized_events ? 1 : 0;
  auto* base = static_cast<unsigned char*>(at);
  auto* samples = reinterpret_cast<heap::SampleSection*>(base + h->samples_offset);
  samples->capacity = heap::kSampleCapacity;
  auto* trace = reinterpret_cast<heap::TraceSection*>(base + h->trace_offset);
  trace->capacity = heap::kTraceCapacity;
  g_account.samples = samples;
  g_account.trace = trace;
  g_account.slots = reinterpret_cast<heap::Slot*>(static_cast<unsigned char*>(at) + sizeof(heap::Header));
  g_account.overflow = &h->overflow;
  g_account.mask = heap::kSlotCount - 1;
  __atomic_store_n(&g_account.header, h, __ATOMIC_RELEASE);
  heap::Hello hello{};
  memcpy(hello.magic, "MPXHELLO", sizeof hello.magic);
  hello.format_version = heap::kFormatVersion;
  g_handed_over = platform::hand_over(g_socket_path, &hello, sizeof hello, fd);
  close(fd);
  return true;
}

// In the child of a fork: the parent's region stays the parent's, and the
// child hands over an account of its own. The new region is published
// before the parent's leaves the address space, and t_slot is reset in
// between, so a signal handler that allocates meanwhile finds a mapped
// slot. A child that cannot make a region must still never write into the
// parent's (the mapping is shared): private zeroed pages replace it at the
// same address, which every pointer into it stays valid for and nobody reads.
void reopen_in_child() {
  heap::Header* parent = g_account.header;
  if (parent == nullptr) return;
  sampling::empty_filter();
  const size_t size = static_cast<size_t>(heap::region_size_for(heap::kSlotCount));
  g_handed_over = false;
  const char* why = nullptr;
  if (!make_region_and_hand_over(&why)) {
    mmap(parent, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
#if MP_TRACE_SWITCH_ALIAS
    mmap(g_trace_switch_page, kTraceSwitchPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
#endif
    leave_common_paths();
    t_slot = nullptr;
    return;
  }
  leave_common_paths();
  t_slot = nullptr;
  munmap(parent, size);
}

// Folds what the slot's backend counters gained since the thread attached,
// up to `now` (what they say), into its byte counts and detaches them.
// Returns what they gained in their event windows, which the batch has yet
// to get.
int64_t detach_backend_counters(heap::Slot* s, const uint64_t now[2]) {
  const uint32_t detaching = __atomic_load_n(&s->detaching, __ATOMIC_RELAXED);
  __atomic_store_n(&s->detaching, detaching + 1, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  int64_t unbatched = 0;
  uint64_t* counts[2] = {&s->bytes_allocated, &s->bytes_freed};
  for (int i = 0; i < 2; ++i) {
    const auto in_window = static_cast<int64_t>(unbatched_gain(s, i, now[i]));
    unbatched += i == 0 ? in_window : -in_window;
    const uint64_t base = __atomic_load_n(&s->backend_base[i], __ATOMIC_RELAXED);
    bump(counts[i], now[i] >= base ? now[i] - base : 0);
    __atomic_store_n(&s->backend_counter[i], 0, __ATOMIC_RELAXED);
    __atomic_store_n(&s->backend_seen[i], 0, __ATOMIC_RELAXED);
    __atomic_store_n(&s->backend_base[i], 0, __ATOMIC_RELAXED);
  }
  // By block sizes again: no balance left unbatched.
  __atomic_store_n(&s->unbatched, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&s->detaching, detaching + 2, __ATOMIC_RELEASE);
  return unbatched;
}

// The slot of `thread`: a free one claimed, or the overflow slot, or one
// whose owner word already holds this thread pointer. A thread's first
// call finds that only in a process without an exit key, where no slot is
// handed back: a new thread on a dead one's stack takes that thread's slot
// over as it stands (such a process counts by block sizes: the dead
// thread's backend counters could not have been folded in at its exit).
heap::Slot* claim(uintptr_t thread) {
  uint32_t home = static_cast<uint32_t>((static_cast<uint64_t>(thread) * 0x9E3779B97F4A7C15ull) >> 32);
  for (uint32_t probe = 0; probe < kProbe; ++probe) {
    heap::Slot* s = g_account.slots + ((home + probe) & g_account.mask);
    uint64_t owner = __atomic_load_n(&s->owner, __ATOMIC_RELAXED);
    if ((owner == 0 || owner == heap::kSlotHandedBack) &&
        __atomic_compare_exchange_n(&s->owner, &owner, static_cast<uint64_t>(thread), false, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED)) {
      __atomic_store_n(&s->until_free_event, heap::kBatchBytes, __ATOMIC_RELAXED);
      return s;
    }
    if (owner == thread) return s;
  }
  return g_account.overflow;
}

// The key's destructor, at thread exit. `value` is the slot enter_thread
// registered; it is not this thread's (t_slot) only in a fork child whose
// thread has not allocated since the fork, where it lay in the parent's
// region, no longer mapped.
void leave_thread(void* value) {
  auto* s = static_cast<heap::Slot*>(value);
  if (s != t_slot || s == g_account.overflow) return;
  leave_common_paths();
  t_slot = g_account.overflow;
  // The balance not yet batched, what the thread allocated since its last
  // allocation event and freed since its last free event; the next owner
  // starts its events afresh (its claim arms the free side by sizes, its
  // attach both sides by counters).
  int64_t balance;
  if (follows_backend(s)) {
    // The dying thread's counters are still mapped while its key
    // destructors run.
    const uint64_t now[2] = {backend_now(s, 0), backend_now(s, 1)};
    balance = detach_backend_counters(s, now);
  } else {
    balance = __atomic_load_n(&s->unbatched, __ATOMIC_RELAXED) + allocated_since_event(s) - freed_since_event(s);
  }
  __atomic_store_n(&s->event_span, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&s->until_event, 0, __ATOMIC_RELAXED);
  if (balance != 0) {
    add_to_batch(balance);
    __atomic_store_n(&s->unbatched, 0, __ATOMIC_RELAXED);
  }
  __atomic_store_n(&s->owner, heap::kSlotHandedBack, __ATOMIC_RELEASE);
}

}  // namespace

bool open(const char* socket_path, const char** why) {
  static_assert((heap::kSlotCount & (heap::kSlotCount - 1)) == 0, "slot count is a power of two");
  size_t n = strlen(socket_path);
  if (n >= sizeof g_socket_path) {
    *why = "the heap socket path is too long";
    return false;
  }
  memcpy(g_socket_path, socket_path, n + 1);
  if (!sampling::make_filter()) {
    *why = "no memory for the sampled blocks' filter";
    return false;
  }
  if (!make_region_and_hand_over(why)) {
    sampling::drop_filter();
    return false;
  }
  g_exit_key_made = pthread_key_create(&g_exit_key, leave_thread) == 0;
  platform::after_fork_in_child(reopen_in_child);
  return true;
}

bool handed_over() { return g_handed_over; }

// Where jemalloc keeps a thread's allocated and deallocated byte counters.
// `thread.allocatedp` would say, but jemalloc answers its first mallctl of
// any name by building its statistics control state (ctl_init: about 15 KiB
// for each of its 4-per-CPU arenas, touched, ~150 KiB on two CPUs), which
// a monitored process must not gain. The counters are two words of its
// thread state in its static TLS, which must then be where this thread's
// TLS block of the object changes by exactly a block's usable size when
// the backend hands out (and only then) or takes back (and only then) a
// block of it: two rounds of sizes that differ, of which every candidate
// word must follow both, and exactly one word each. Anything else (a
// signal handler's allocation in between, a backend that keeps no such
// counters) leaves no single candidate, and mallctl is asked after all.
namespace {
namespace thread_counters {

struct TlsBlock {
  const void* inside;  // an address in the object (its mallctl)
  const unsigned char* at = nullptr;
  size_t size = 0;
  bool static_tls = false;
};

// The object's TLS block for this thread, and whether the object uses
// static TLS (DF_STATIC_TLS): then its block lies at the same offset from
// every thread's thread pointer.
int find_block(dl_phdr_info* info, size_t, void* context) {
  auto* b = static_cast<TlsBlock*>(context);
  const auto inside = reinterpret_cast<uintptr_t>(b->inside);
  bool contains = false;
  const ElfW(Phdr)* tls = nullptr;
  const ElfW(Phdr)* dynamic = nullptr;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type == PT_LOAD && inside - (info->dlpi_addr + ph.p_vaddr) < ph.p_memsz) contains = true;
    if (ph.p_type == PT_TLS) tls = &ph;
    if (ph.p_type == PT_DYNAMIC) dynamic = &ph;
  }
  if (!contains) return 0;
  if (tls != nullptr && info->dlpi_tls_data != nullptr) {
    b->at = static_cast<const unsigned char*>(info->dlpi_tls_data);
    b->size = tls->p_memsz;
  }
  if (dynamic != nullptr) {
    for (auto* d = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + dynamic->p_vaddr); d->d_tag != DT_NULL; ++d) {
      if (d->d_tag == DT_FLAGS && (d->d_un.d_val & DF_STATIC_TLS) != 0) b->static_tls = true;
    }
  }
  return 1;
}

// A 64-bit counter's alignment inside a structure (4 on i386).
struct AlignProbe {
  char c;
  uint64_t v;
};
constexpr size_t kStep = offsetof(AlignProbe, v);
constexpr size_t kMaxBlock = 4096;  // two copies on the deciding thread's stack
constexpr size_t kMaxCandidates = 8;

uint64_t word_at(const unsigned char* block, size_t offset) {
  uint64_t w;
  memcpy(&w, block + offset, sizeof w);
  return w;
}

// The offsets in `block` whose word moved by `by` between `before` and
// now; false past kMaxCandidates.
bool moved_by(const unsigned char* block, const unsigned char* before, size_t size, uint64_t by, size_t* found,
              size_t* count) {
  *count = 0;
  for (size_t o = 0; o + sizeof(uint64_t) <= size; o += kStep) {
    if (word_at(block, o) - word_at(before, o) != by) continue;
    if (*count == kMaxCandidates) return false;
    found[(*count)++] = o;
  }
  return true;
}

bool unmoved(const unsigned char* block, const unsigned char* before, size_t offset) {
  return word_at(block, offset) == word_at(before, offset);
}

// Keeps the candidates of `a` that are in `b` too.
void keep_common(size_t* a, size_t* na, const size_t* b, size_t nb) {
  size_t kept = 0;
  for (size_t i = 0; i < *na; ++i) {
    for (size_t j = 0; j < nb; ++j) {
      if (a[i] == b[j]) a[kept++] = a[i];
    }
  }
  *na = kept;
}

// The two counters' offsets in `block`, found by the backend's own calls
// (g_chosen), or false.
bool calibrate(const TlsBlock& b, size_t offsets[2]) {
  static const size_t kSizes[] = {12345, 40000};
  unsigned char before[kMaxBlock], after_malloc[kMaxBlock];
  size_t in[kMaxCandidates], out[kMaxCandidates], n_in = 0, n_out = 0;
  for (size_t round = 0; round < sizeof kSizes / sizeof kSizes[0]; ++round) {
    memcpy(before, b.at, b.size);
    void* p = g_chosen.malloc(kSizes[round]);
    if (p == nullptr) return false;
    memcpy(after_malloc, b.at, b.size);
    const uint64_t usable = g_chosen.malloc_usable_size != nullptr ? g_chosen.malloc_usable_size(p) : 0;
    g_chosen.free(p);
    if (usable == 0) return false;
    size_t got_in[kMaxCandidates], got_out[kMaxCandidates], n_got_in, n_got_out;
    if (!moved_by(after_malloc, before, b.size, usable, got_in, &n_got_in) ||
        !moved_by(b.at, after_malloc, b.size, usable, got_out, &n_got_out)) {
      return false;
    }
    // Allocated bytes do not move on a free, nor deallocated ones on a malloc.
    size_t kept = 0;
    for (size_t i = 0; i < n_got_in; ++i) {
      if (unmoved(b.at, after_malloc, got_in[i])) got_in[kept++] = got_in[i];
    }
    n_got_in = kept;
    kept = 0;
    for (size_t i = 0; i < n_got_out; ++i) {
      if (unmoved(after_malloc, before, got_out[i])) got_out[kept++] = got_out[i];
    }
    n_got_out = kept;
    if (round == 0) {
      memcpy(in, got_in, n_got_in * sizeof in[0]);
      memcpy(out, got_out, n_got_out * sizeof out[0]);
      n_in = n_got_in;
      n_out = n_got_out;
    } else {
      keep_common(in, &n_in, got_in, n_got_in);
      keep_common(out, &n_out, got_out, n_got_out);
    }
  }
  if (n_in != 1 || n_out != 1) return false;
  offsets[0] = in[0];
  offsets[1] = out[0];
  return true;
}

}  // namespace thread_counters
}  // namespace

bool follow_backend_counters(Mallctl mallctl) {
  // A thread's counters are folded into its slot by its exit key's
  // destructor; without the key they could not be.
  if (mallctl == nullptr || !g_exit_key_made) return false;
  thread_counters::TlsBlock block;
  block.inside = reinterpret_cast<const void*>(mallctl);
  // Offsets from the thread pointer hold for every thread only in static TLS.
  if (dl_iterate_phdr(thread_counters::find_block, &block) == 0 || !block.static_tls || block.at == nullptr) {
    return false;
  }
  const uintptr_t tp = platform::thread_pointer();
  const auto base = reinterpret_cast<uintptr_t>(block.at);
  size_t found[2];
  uintptr_t counters[2];
  if (block.size <= thread_counters::kMaxBlock && thread_counters::calibrate(block, found)) {
    counters[0] = base + found[0];
    counters[1] = base + found[1];
  } else {
    uint64_t* asked[2] = {nullptr, nullptr};
    size_t size = sizeof asked[0];
    if (mallctl("thread.allocatedp", &asked[0], &size, nullptr, 0) != 0 ||
        mallctl("thread.deallocatedp", &asked[1], &size, nullptr, 0) != 0 || asked[0] == nullptr ||
        asked[1] == nullptr) {
      return false;
    }
    counters[0] = reinterpret_cast<uintptr_t>(asked[0]);
    counters[1] = reinterpret_cast<uintptr_t>(asked[1]);
  }
  for (int i = 0; i < 2; ++i) g_account.backend_offset[i] = static_cast<intptr_t>(counters[i] - tp);
  // The gate's "deallocated counter" is its owner word, never written: 0,
  // which has reached its due value (0).
  g_gate.backend_counter[1] = reinterpret_cast<uintptr_t>(&g_gate.owner);
  __atomic_store_n(&g_gate.until_free_event, 0, __ATOMIC_RELAXED);
  return true;
}

void count_by_sizes() {
  reset_gate();
  g_sized_events = true;
  __atomic_store_n(&g_account.header->sized_events, 1, __ATOMIC_RELEASE);
}

__attribute__((noinline)) void attach() {
  heap::Slot* s = slot_of_this_thread();
  if (s == g_account.overflow) return;
  // A signal handler's call may have attached the slot meanwhile.
  if (__atomic_load_n(&s->backend_counter[0], __ATOMIC_RELAXED) != 0) {
    take_common_paths(s);
    return;
  }
  // While the slot's words change meaning, a signal handler's call counts
  // in the overflow slot (and does not attach).
  t_slot = g_account.overflow;
  const int64_t balance = __atomic_load_n(&s->unbatched, __ATOMIC_RELAXED);
  if (balance != 0) add_to_batch(balance);
  const uintptr_t tp = platform::thread_pointer();
  for (int i = 0; i < 2; ++i) {
    const uintptr_t counter = tp + static_cast<uintptr_t>(g_account.backend_offset[i]);
    const uint64_t now = *reinterpret_cast<const uint64_t*>(counter);
    __atomic_store_n(&s->backend_base[i], now, __ATOMIC_RELAXED);
    __atomic_store_n(&s->backend_seen[i], now, __ATOMIC_RELAXED);
    batched_up_to(s, i, now);
  }
  // The first allocation is an event (it draws the span from the sample due);
  // with the ring on, the first free too (force_events).
  __atomic_store_n(&s->event_span, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&s->until_event, 0, __ATOMIC_RELAXED);
  if (__atomic_load_n(trace_switch_word(), __ATOMIC_RELAXED) != 0) force_events(s);
  // The reader adds seen - base once it sees the counters set.
  for (int i = 0; i < 2; ++i) {
    const uintptr_t counter = tp + static_cast<uintptr_t>(g_account.backend_offset[i]);
    __atomic_store_n(&s->backend_counter[i], static_cast<uint64_t>(counter), __ATOMIC_RELEASE);
  }
  t_slot = s;
  take_common_paths(s);
}

heap::Slot* enter_thread() {
  // While this thread claims, a signal handler's call counts in the
  // overflow slot (with atomic adds), so the claim and a takeover's
  // detach run once, uninterrupted by a second of their own.
  t_slot = g_account.overflow;
  heap::Slot* s = claim(platform::thread_pointer());
  t_slot = s;
  // By backend counters the common path waits for attach.
  if (s != g_account.overflow && g_account.backend_offset[0] == 0) take_common_paths(s);
  // After t_slot: pthread_setspecific may allocate (keys past the first
  // 32), and that call must find the slot.
  if (s != g_account.overflow && g_exit_key_made) pthread_setspecific(g_exit_key, s);
  return s;
}

void add_to_batch(int64_t balance) {
  heap::Header* h = g_account.header;
  uint64_t live = __atomic_add_fetch(&h->live_batched, static_cast<uint64_t>(balance), __ATOMIC_RELAXED);
  if (balance <= 0) return;
  uint64_t peak = __atomic_load_n(&h->peak_bytes, __ATOMIC_RELAXED);
  while (static_cast<int64_t>(live) > static_cast<int64_t>(peak) &&
         !__atomic_compare_exchange_n(&h->peak_bytes, &peak, live, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
}

}  // namespace memproxy::account
