#include "sampling.hpp"

#include <dlfcn.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <unwind.h>

#include "backends.hpp"
#include "platform.hpp"

namespace memproxy::sampling {

Sampling g_sampling MP_ACCOUNT_STATE = {};

namespace {

using UnwindBacktrace = _Unwind_Reason_Code (*)(_Unwind_Trace_Fn, void*);
using UnwindGetIp = _Unwind_Ptr (*)(_Unwind_Context*);
UnwindBacktrace g_backtrace MP_STATE = nullptr;
UnwindGetIp g_get_ip MP_STATE = nullptr;

// -ln(u) for u in (0, 1], to about 1e-4: the exponential draw without libm
// (libmemproxy links libc only). ln(x) = (e + log2(m)) * ln 2 with x = m 2^e,
// m in [1, 2), log2(m) from a cubic fit.
double minus_log(double u) {
  uint64_t bits;
  memcpy(&bits, &u, sizeof bits);
  int exponent = static_cast<int>((bits >> 52) & 0x7ff) - 1023;
  bits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
  double m;
  memcpy(&m, &bits, sizeof m);
  double t = m - 1;  // [0, 1)
  double log2m = t * (1.4425449 + t * (-0.7181452 + t * 0.2754212));
  return -(exponent + log2m) * 0.6931471805599453;
}

// exp(-y) for y >= 0, to about 1e-6: y log2(e) = k + f, exp(-y) = 2^-k 2^-f,
// 2^-f = exp(-f ln 2) from its Taylor series on [0, ln 2).
double exp_minus(double y) {
  if (!(y < 700)) return 0;
  double z = y * 1.4426950408889634;
  int k = static_cast<int>(z);
  double t = (z - k) * 0.6931471805599453;
  double e = 1 - t * (1 - t / 2 * (1 - t / 3 * (1 - t / 4 * (1 - t / 5 * (1 - t / 6 * (1 - t / 7 * (1 - t / 8)))))));
  uint64_t bits = static_cast<uint64_t>(1023 - k) << 52;  // 2^-k, k < 1023
  double scale;
  memcpy(&scale, &bits, sizeof scale);
  return e * scale;
}

// The probability that exponential sampling with mean `mean` takes a block
// of `size` bytes.
double taken_with(uint64_t size, uint64_t mean) {
  return 1 - exp_minus(static_cast<double>(size) / static_cast<double>(mean));
}

uint64_t next_random(heap::Slot* s) {
  uint64_t x = s->random;
  if (x == 0) x = (static_cast<uint64_t>(platform::thread_pointer()) ^ static_cast<uint64_t>(platform::now_unix_ns())) | 1;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  s->random = x;
  return x * 0x2545F4914F6CDD1Dull;
}

double uniform(heap::Slot* s) {  // (0, 1]
  return (static_cast<double>(next_random(s) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
}

// Starts the slot's countdown to its next sample: exponential with the
// current mean, which the slot remembers (a countdown is memoryless, so the
// block it ends on was taken with exactly that mean's probability).
void draw(heap::Slot* s) {
  uint64_t mean = __atomic_load_n(&g_sampling.mean, __ATOMIC_RELAXED);
  double bytes = minus_log(uniform(s)) * static_cast<double>(mean);
  __atomic_store_n(&s->drawn_mean, mean, __ATOMIC_RELAXED);
  __atomic_store_n(&s->until_sample, bytes < 1 ? int64_t{1} : static_cast<int64_t>(bytes), __ATOMIC_RELAXED);
}

struct Frames {
  uint64_t* pcs;
  uint32_t depth;
  bool truncated;
};

_Unwind_Reason_Code collect(_Unwind_Context* context, void* argument) {
  auto* f = static_cast<Frames*>(argument);
  uintptr_t ip = g_get_ip(context);
  if (ip == 0) return _URC_END_OF_STACK;
  if (ip >= g_sampling.self_low && ip < g_sampling.self_high) return _URC_NO_REASON;  // our own frames
  if (f->depth == heap::kMaxFrames) {
    f->truncated = true;
    return _URC_END_OF_STACK;
  }
  f->pcs[f->depth++] = ip;
  return _URC_NO_REASON;
}

void lock(heap::SampleSection* s) {
  uint32_t expected = 0;
  while (!__atomic_compare_exchange_n(&s->lock, &expected, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
    expected = 0;
    sched_yield();
  }
}

void unlock(heap::SampleSection* s) { __atomic_store_n(&s->lock, 0, __ATOMIC_RELEASE); }

uint32_t index_home(uint64_t address) {
  return static_cast<uint32_t>((address >> 4) * 0xC2B2AE3D27D4EB4Full >> 51) & (heap::kSampleIndexSize - 1);
}

// The index and the records' addresses are written under the section's
// lock, and read without it too (surely_absent), so each word is loaded
// and stored whole.
uint16_t entry_at(const heap::SampleSection* s, uint32_t i) { return __atomic_load_n(&s->index[i], __ATOMIC_RELAXED); }
void set_entry(heap::SampleSection* s, uint32_t i, uint16_t entry) {
  __atomic_store_n(&s->index[i], entry, __ATOMIC_RELAXED);
}
uint64_t address_of(const heap::SampleSection* s, uint16_t entry) {
  return __atomic_load_n(&s->records[entry - 1].address, __ATOMIC_RELAXED);
}

// SampleSection::index_changes, odd while the index changes (under the
// lock): a lookup without the lock trusts what it saw only if it stayed
// even and the same meanwhile.
void index_change_begin(heap::SampleSection* s) {
  __atomic_store_n(&s->index_changes, s->index_changes + 1, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
}
void index_change_end(heap::SampleSection* s) {
  __atomic_store_n(&s->index_changes, s->index_changes + 1, __ATOMIC_RELEASE);
}

// The index position of `address`, or kSampleIndexSize. Without the lock
// it may miss an entry that a removal moves meanwhile (remove_at), and
// never loops for good.
uint32_t find(const heap::SampleSection* s, uint64_t address) {
  for (uint32_t i = index_home(address), probes = 0; probes < heap::kSampleIndexSize;
       ++probes, i = (i + 1) & (heap::kSampleIndexSize - 1)) {
    uint16_t entry = entry_at(s, i);
    if (entry == 0) return heap::kSampleIndexSize;
    if (address_of(s, entry) == address) return i;
  }
  return heap::kSampleIndexSize;
}

// Whether `address` is surely not a live sample's, seen without the lock:
// most frees that find their filter byte set are of blocks that merely
// share it, and under the lock every such free of every thread would wait
// for the others. A sample's own free, and one that met a change of the
// index, look again under the lock.
bool surely_absent(const heap::SampleSection* s, uint64_t address) {
  const uint64_t before = __atomic_load_n(&s->index_changes, __ATOMIC_ACQUIRE);
  if ((before & 1) != 0) return false;
  const bool absent = find(s, address) == heap::kSampleIndexSize;
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  return absent && __atomic_load_n(&s->index_changes, __ATOMIC_RELAXED) == before;
}

// Linear probing's deletion without tombstones: the entries after the hole
// that would no longer be found move back into it.
void remove_at(heap::SampleSection* s, uint32_t hole) {
  const uint32_t mask = heap::kSampleIndexSize - 1;
  set_entry(s, hole, 0);
  for (uint32_t i = (hole + 1) & mask; entry_at(s, i) != 0; i = (i + 1) & mask) {
    uint32_t home = index_home(address_of(s, entry_at(s, i)));
    bool reachable_from_hole = ((i - home) & mask) >= ((i - hole) & mask);
    if (reachable_from_hole) {
      set_entry(s, hole, entry_at(s, i));
      set_entry(s, i, 0);
      hole = i;
    }
  }
}

void filter_add(uint64_t address, int change) {
  uint8_t* counter = filter_byte(static_cast<uintptr_t>(address));
  uint8_t v = __atomic_load_n(counter, __ATOMIC_RELAXED);
  if (v == 255) return;  // saturated: stays set for good
  __atomic_store_n(counter, static_cast<uint8_t>(v + change), __ATOMIC_RELAXED);
}

void write_begin(heap::SampleRecord* r) {
  __atomic_store_n(&r->sequence, r->sequence + 1, __ATOMIC_RELAXED);  // odd: being written
  __atomic_thread_fence(__ATOMIC_RELEASE);
}

void write_end(heap::SampleSection* s, heap::SampleRecord* r) {
  __atomic_store_n(&r->sequence, r->sequence + 1, __ATOMIC_RELEASE);
  __atomic_store_n(&s->changes, s->changes + 1, __ATOMIC_RELEASE);
}

// Takes the record at index position `at` out of the section.
void remove(heap::SampleSection* s, uint32_t at) {
  heap::SampleRecord* r = &s->records[entry_at(s, at) - 1];
  uint64_t address = r->address;
  index_change_begin(s);
  remove_at(s, at);
  write_begin(r);
  __atomic_store_n(&r->address, 0, __ATOMIC_RELAXED);
  write_end(s, r);
  index_change_end(s);
  r->next_free = s->free_head;
  s->free_head = static_cast<uint64_t>(r - s->records + 1);
  filter_add(address, -1);
  --s->live;
}

// The mean now: the one asked for, doubled once per level (levels rise as
// the table fills and as samples come faster than the budget, and fall back
// as either eases). Under the lock.
constexpr uint32_t kMaxLevels = 40;

void update_mean() {
  uint32_t levels = g_sampling.table_level + g_sampling.rate_level;
  uint64_t mean = g_sampling.asked << (levels < kMaxLevels ? levels : kMaxLevels);
  __atomic_store_n(&g_sampling.mean, mean, __ATOMIC_RELAXED);
  __atomic_store_n(&account::g_account.header->sample_mean_bytes, mean, __ATOMIC_RELAXED);
}

// The table is filling: every record is made one of twice its mean, kept
// with probability P(taken at 2m) / P(taken at m) and then standing for
// mean 2m, so the table is what sampling at twice the rate's mean would
// have made and the estimates stay unbiased. Small blocks are kept about
// half the time, large ones almost always. Under the lock.
void thin(heap::SampleSection* s, heap::Slot* slot) {
  for (uint32_t at = 0; at < heap::kSampleIndexSize;) {
    uint16_t entry = entry_at(s, at);
    if (entry == 0) {
      ++at;
      continue;
    }
    heap::SampleRecord* r = &s->records[entry - 1];
    uint64_t doubled = r->mean_bytes * 2;
    if (uniform(slot) * taken_with(r->size, r->mean_bytes) <= taken_with(r->size, doubled)) {
      write_begin(r);
      r->mean_bytes = doubled;
      write_end(s, r);
      ++at;
    } else {
      remove(s, at);  // an entry after it may have moved into `at`: look again
    }
  }
  ++g_sampling.table_level;
  update_mean();
}

// The sampling budget: about budget_per_window samples per window of
// kWindowNs, and a credit for bursts. Every sample spends 1 / budget of a
// window from the credit, which refills at the budget's rate up to one
// second's worth: a burst within it (a cache filled at start, 340 samples
// in a few milliseconds) is sampled at the mean asked for, and over any
// stretch of time a process takes at most a second's budget more than the
// rate allows. A window that exceeds its budget with the credit spent has
// the mean raised, at once, by as many doublings as its rate needs to fit
// (each record keeps the mean it was drawn with, so nothing is biased, only
// coarser): what sampling costs is bounded at about that many stack walks
// per window whatever the allocation rate. A window with a quarter of the
// budget or less lowers the mean one doubling. Under the lock.
constexpr int64_t kWindowNs = 100 * 1000 * 1000;
constexpr int64_t kWindowsPerSecond = 10;
constexpr int64_t kCreditNs = kWindowNs * kWindowsPerSecond;

// Spends one sample's share of the credit; false when none is left.
bool spend_credit(int64_t now, uint32_t budget) {
  if (g_sampling.credit_at_ns == 0) {
    g_sampling.credit_ns = kCreditNs;
  } else if (now > g_sampling.credit_at_ns) {
    int64_t credit = g_sampling.credit_ns + (now - g_sampling.credit_at_ns);
    g_sampling.credit_ns = credit < kCreditNs ? credit : kCreditNs;
  }
  g_sampling.credit_at_ns = now;
  const int64_t price = kWindowNs / budget > 0 ? kWindowNs / budget : 1;
  if (g_sampling.credit_ns < price) {
    g_sampling.credit_ns = 0;
    return false;
  }
  g_sampling.credit_ns -= price;
  return true;
}

void spend_budget(int64_t now) {
  const uint32_t budget = g_sampling.budget_per_window;
  if (budget == 0) return;
  int64_t elapsed = now - g_sampling.window_start_ns;
  if (elapsed >= kWindowNs) {
    if (g_sampling.window_samples <= budget / 4 && g_sampling.rate_level > 0) {
      --g_sampling.rate_level;
      update_mean();
    }
    g_sampling.window_start_ns = now;
    g_sampling.window_samples = 0;
    elapsed = 0;
  }
  const bool paid = spend_credit(now, budget);
  if (++g_sampling.window_samples <= budget || paid) return;
  // The window's rate against the budget's, rounded up to a power of two.
  if (elapsed < 1000) elapsed = 1000;
  uint64_t ratio = (static_cast<uint64_t>(g_sampling.window_samples) * static_cast<uint64_t>(kWindowNs) +
                    static_cast<uint64_t>(elapsed) * budget - 1) /
                   (static_cast<uint64_t>(elapsed) * budget);
  uint32_t doublings = ratio > 1 ? 64 - static_cast<uint32_t>(__builtin_clzll(ratio - 1)) : 1;
  g_sampling.rate_level += doublings;
  if (g_sampling.rate_level > kMaxLevels) g_sampling.rate_level = kMaxLevels;
  update_mean();
  g_sampling.window_start_ns = now;
  g_sampling.window_samples = 0;
}

// Records are handed out from the section's free list, then from the
// never-used ones: the records in use
// stay packed in the first pages, so a process touches pages in proportion
// to its peak of live samples. Under the lock.
heap::SampleRecord* take_record(heap::SampleSection* s) {
  uint64_t head = s->free_head;
  if (head != 0 && head <= heap::kSampleCapacity) {
    heap::SampleRecord* r = &s->records[head - 1];
    s->free_head = r->next_free;
    return r;
  }
  if (s->used < heap::kSampleCapacity) return &s->records[s->used++];
  return nullptr;
}

void publish(heap::SampleSection* s, heap::Slot* slot, void* block, uint64_t bytes, uint64_t mean,
             const Frames& frames, uint16_t flags) {
  int64_t now = platform::now_unix_ns();
  uint32_t thread = static_cast<uint32_t>(syscall(SYS_gettid));
  lock(s);
  spend_budget(now);
  if (s->live >= s->capacity * 3 / 4) {
    thin(s, slot);
    // This sample too, as if taken at the new rate.
    bool keep = uniform(slot) * taken_with(bytes, mean) <= taken_with(bytes, mean * 2);
    mean *= 2;
    if (!keep) {
      unlock(s);
      return;
    }
  } else if (s->live < s->capacity / 8 && g_sampling.table_level > 0) {
    // Few live samples again: back towards the rate asked for (records keep
    // the means they were taken with).
    --g_sampling.table_level;
    update_mean();
  }
  heap::SampleRecord* r = take_record(s);
  if (r == nullptr) {  // thinning keeps this from happening
    ++s->dropped;
    unlock(s);
    return;
  }
  index_change_begin(s);
  write_begin(r);
  __atomic_store_n(&r->address, reinterpret_cast<uintptr_t>(block), __ATOMIC_RELAXED);
  r->size = bytes;
  r->mean_bytes = mean;
  r->allocated_unix_ns = now;
  r->thread = thread;
  r->depth = static_cast<uint16_t>(frames.depth);
  r->flags = flags;
  memcpy(r->pcs, frames.pcs, frames.depth * sizeof r->pcs[0]);
  write_end(s, r);
  uint32_t i = index_home(r->address);
  while (entry_at(s, i) != 0) i = (i + 1) & (heap::kSampleIndexSize - 1);
  set_entry(s, i, static_cast<uint16_t>(r - s->records + 1));
  index_change_end(s);
  filter_add(r->address, +1);
  ++s->live;
  ++s->taken;
  unlock(s);
}

}  // namespace

void start(uint64_t mean_bytes, uint64_t budget_per_second) {
  if (mean_bytes == 0) return;
  uint64_t per_window = (budget_per_second + kWindowsPerSecond - 1) / kWindowsPerSecond;
  g_sampling.budget_per_window = static_cast<uint32_t>(per_window < UINT32_MAX ? per_window : UINT32_MAX);
  void* handle = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_LOCAL);
  if (handle != nullptr) {
    g_backtrace = reinterpret_cast<UnwindBacktrace>(dlsym(handle, "_Unwind_Backtrace"));
    g_get_ip = reinterpret_cast<UnwindGetIp>(dlsym(handle, "_Unwind_GetIP"));
  }
  backends::Object self;
  if (backends::object_at(reinterpret_cast<const void*>(&start), &self)) {
    // From our lowest to our highest loaded segment: every frame of ours.
    uintptr_t low = UINTPTR_MAX, high = 0;
    for (int i = 0; i < self.phnum; ++i) {
      if (self.phdr[i].p_type != PT_LOAD) continue;
      uintptr_t a = self.addr + self.phdr[i].p_vaddr;
      if (a < low) low = a;
      if (a + self.phdr[i].p_memsz > high) high = a + self.phdr[i].p_memsz;
    }
    g_sampling.self_low = low;
    g_sampling.self_high = high;
  }
  g_sampling.asked = mean_bytes;
  update_mean();
}

namespace {

// A mean scaled by bytes / asked (bytes >= asked > 0 for a block handed
// out), saturated.
uint64_t scaled_mean(uint64_t mean, uint64_t bytes, uint64_t asked) {
  if (asked == 0 || bytes == asked) return mean;
  const double scaled = static_cast<double>(mean) * static_cast<double>(bytes) / static_cast<double>(asked);
  return scaled >= 18446744073709551615.0 ? UINT64_MAX : scaled < 1 ? 1 : static_cast<uint64_t>(scaled);
}

}  // namespace

void take(heap::Slot* s, void* block, uint64_t bytes, uint64_t asked) {
  if (g_sampling.mean == 0 || s == account::g_account.overflow) {
    // Off, or the slot threads share (no countdown of its own): this slot
    // never counts down to a sample.
    __atomic_store_n(&s->until_sample, INT64_MAX, __ATOMIC_RELAXED);
    return;
  }
  if (s->drawn_mean == 0) {
    // A thread's first counted allocation: where its first sample falls is drawn now.
    draw(s);
    int64_t left = s->until_sample - static_cast<int64_t>(asked);
    __atomic_store_n(&s->until_sample, left, __ATOMIC_RELAXED);
    if (left > 0) return;
  }
  if (__atomic_load_n(&s->sampling, __ATOMIC_RELAXED) != 0) return;  // inside a sample of its own
  __atomic_store_n(&s->sampling, 1, __ATOMIC_RELAXED);
  uint64_t pcs[heap::kMaxFrames];
  Frames frames{pcs, 0, false};
  uint16_t flags = 0;
  if (g_backtrace != nullptr && g_get_ip != nullptr) {
    g_backtrace(collect, &frames);
    if (frames.truncated) flags |= heap::kStackTruncated;
  } else {
    pcs[frames.depth++] = reinterpret_cast<uintptr_t>(__builtin_return_address(0));
    flags |= heap::kNoUnwinder;
  }
  if (block != nullptr) {
    publish(account::g_account.samples, s, block, bytes, scaled_mean(s->drawn_mean, bytes, asked), frames, flags);
  }
  draw(s);
  __atomic_store_n(&s->sampling, 0, __ATOMIC_RELAXED);
}

bool make_filter() {
  auto* filter = static_cast<uint8_t*>(platform::private_zeroes(kFilterSize));
  if (filter == nullptr) return false;
  static_assert(filter_index(0) == 0, "address 0's byte is the first");
  __atomic_store_n(&filter[0], uint8_t{255}, __ATOMIC_RELAXED);  // set for good
  account::g_account.filter = filter;
  return true;
}

// Address 0's byte (the first) is never 0 meanwhile, for a signal
// handler's free(NULL): its page is cleared around it.
void empty_filter() {
  uint8_t* filter = account::g_account.filter;
  const size_t page = platform::page_size();
  memset(filter + 1, 0, page - 1);
  platform::zero_again(filter + page, kFilterSize - page);
}

void drop_filter() {
  munmap(account::g_account.filter, kFilterSize);
  account::g_account.filter = nullptr;
}

void redraw(heap::Slot* s) {
  if (g_sampling.mean == 0 || s == account::g_account.overflow || s->drawn_mean == 0) return;
  draw(s);
}

void forget(void* block) {
  heap::SampleSection* s = account::g_account.samples;
  if (surely_absent(s, reinterpret_cast<uintptr_t>(block))) return;
  lock(s);
  uint32_t at = find(s, reinterpret_cast<uintptr_t>(block));
  if (at != heap::kSampleIndexSize) remove(s, at);
  unlock(s);
}

}  // namespace memproxy::sampling
