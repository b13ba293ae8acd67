// Sampled allocations of a monitored process, with their stacks: by bytes,
// one sample every `mean` bytes on average (each thread counts down an
// exponentially distributed number of bytes, jemalloc's and tcmalloc's
// technique), so that a call site's share of the samples, each weighted
// size / (1 - exp(-size / mean)), is an unbiased estimate of its share of
// the bytes. The records live in the heap account (SampleSection); the
// daemon symbolizes their raw return addresses.
//
// Invariants:
// - In an unmonitored process nothing here runs. Off (mean 0), every
//   slot's countdown is INT64_MAX and the filter holds no sample.
// - The allocation path pays a subtraction and a predictable branch; the
//   free path one load of a filter byte (a counting filter over the live
//   samples' addresses) and a predictable branch. Everything else happens
//   only for a sampled block, or a free whose filter byte says "maybe".
// - Sampling costs a bounded share of the process's time whatever its
//   allocation rate: past a budget of samples per second the mean rises
//   (sampling.cpp). A burst of up to one second's budget (a cache filled
//   at start) is sampled at the mean asked for.
// - Taking a sample never allocates, and never recurses: the stack comes
//   from libgcc's unwinder (_Unwind_Backtrace, loaded when sampling starts,
//   not on a first call inside malloc as glibc's backtrace() would), which
//   reads the DWARF call-frame information Debian's libraries carry (they
//   have no frame pointers); a thread that allocates while it samples (the
//   unwinder never does) is not sampled again. The section lock is held only
//   to publish or remove a record, never while unwinding.
// - A filling record table doubles the mean and thins the records to what
//   the doubled mean would have taken, so the estimates stay unbiased and
//   the table never fills; few live records halve it back towards the
//   mean asked for. Each record carries the mean it stands for.
// - Following jemalloc's thread counters, where no block is sized, a thread
//   counts down the bytes its calls ask for instead, and a record's mean is
//   scaled by usable / asked (take), so its weight stays in usable bytes.
#ifndef MEMPROXY_SAMPLING_HPP
#define MEMPROXY_SAMPLING_HPP

#include <stddef.h>
#include <stdint.h>

#include "heap_account.hpp"

namespace memproxy::sampling {

struct Sampling {
  uint64_t mean;   // 0: not sampling; asked << (table_level + rate_level)
  uint64_t asked;  // the mean the program was given
  uintptr_t self_low, self_high;  // libmemproxy's code: frames there are skipped
  uint32_t budget_per_window;  // samples per 100 ms before the mean rises; 0: no limit
  // Under the sample section's lock:
  uint32_t table_level;     // doublings while the record table is filling
  uint32_t rate_level;      // doublings while samples come faster than the budget
  int64_t window_start_ns;  // the budget's current window
  uint32_t window_samples;  // samples taken in it
  int64_t credit_ns;        // unspent budget, in nanoseconds of its rate, at most a second's
  int64_t credit_at_ns;     // when credit_ns was last brought up to date; 0: never (full)
};
extern Sampling g_sampling MP_ACCOUNT_STATE;

// At the decision, before the arena is sealed (loading the unwinder may
// allocate): starts sampling every `mean_bytes` on average (0 leaves it
// off), at most about `budget_per_second` samples a second (0: no limit).
void start(uint64_t mean_bytes, uint64_t budget_per_second);

// Takes `block`, of `bytes` usable bytes, whose thread counted `asked`
// bytes for it towards its sample (the size asked for, where the
// countdown is in those: counting.cpp, by backend counters; else `bytes`).
// Its record's mean is scaled by bytes / asked, so that its weight,
// bytes / (1 - exp(-bytes / mean)), is its usable bytes over the
// probability it was taken with.
void take(heap::Slot* s, void* block, uint64_t bytes, uint64_t asked);
inline void take(heap::Slot* s, void* block, uint64_t bytes) { take(s, block, bytes, bytes); }
void forget(void* block);
// Draws the thread's countdown to its next sample afresh, where the bytes
// counted since its last event were lost (a reader forced the event,
// counting.cpp): the countdown is memoryless, so a new draw stands for
// what was left of it. Nothing before the thread's first draw.
void redraw(heap::Slot* s);

// The filter of live samples' addresses that every counted free tests:
// one byte per 64-byte granule of address space, counting the live
// samples that begin in it (255: sticky); granules 16 MiB apart share a
// byte. A free whose byte is not 0 takes the full path, which looks the
// block up, so two things decide what a free pays beyond its one test:
// - The share of bytes set. The table holds up to 3/4 of kSampleCapacity
//   live samples (a large heap keeps it there), which set at most 1.2% of
//   2^18 bytes. (The region's filter of 2^14 bytes had 17% of them set:
//   beside a 1.5 GiB heap, monitoring slowed jemalloc's churn 1.4 times
//   with one thread and 2.2 times with two.) In a heap smaller than 16 MiB,
//   only the granules of its own samples are set: 64 bytes per mean's
//   worth of heap.
// - Where the bytes a free reads lie. Blocks near each other have their
//   bytes near each other, so a heap of H bytes reads H / 64 bytes of the
//   filter, in cache while its own blocks are; a hash of the address would
//   have every free read any of the 256 KiB (measured: 2-3% more CPU on
//   churn once samples had made the filter's pages real).
// Blocks that lie a multiple of 16 MiB apart (huge blocks, arenas aligned
// alike) share a byte: a sampled huge block sends 1 in 8 of the 2 MiB-aligned
// frees to the full path, whose lookup costs little beside such a free.
// The byte of address 0 is set for good (make_filter), so free(NULL)
// needs no test of its own on the common path: it takes the full path.
// The filter is private anonymous memory made with the account: a page
// costs memory only once a sample's byte is written in it (up to 256 KiB
// for a heap whose samples cover every page), and reading the rest costs
// nothing.
inline constexpr uint32_t kFilterBits = 18;
inline constexpr size_t kFilterSize = size_t{1} << kFilterBits;
inline constexpr uint32_t kFilterGranuleBits = 6;

// The filter byte of a block.
MP_CALL_STEP constexpr uint32_t filter_index(uintptr_t a) {
  return static_cast<uint32_t>(a >> kFilterGranuleBits) & static_cast<uint32_t>(kFilterSize - 1);
}
// The byte itself, in the process's filter.
MP_CALL_STEP uint8_t* filter_byte(uintptr_t address) { return &account::g_account.filter[filter_index(address)]; }

// Maps the filter (account::g_account.filter), with no sample in it;
// false when there is no memory for it (the process is then not monitored).
bool make_filter();
// In the child of a fork, whose account starts with no samples: the filter
// made so again, in place.
void empty_filter();
// Unmaps the filter of an account that could not be made.
void drop_filter();

// Counts `counted` bytes down to the thread's next sample: true when it is
// due and `block`, of `size` bytes (0: none to take), is to be taken
// (take, which draws the next countdown); otherwise the countdown is
// stored. A sample due without a block is taken at the next allocation.
inline bool due(heap::Slot* s, const void* block, uint64_t size, uint64_t counted) {
  int64_t left = __atomic_load_n(&s->until_sample, __ATOMIC_RELAXED) - static_cast<int64_t>(counted);
  if (__builtin_expect(left > 0 || block == nullptr || size == 0, 1)) {
    __atomic_store_n(&s->until_sample, left, __ATOMIC_RELAXED);
    return false;
  }
  return true;
}

// Every counted allocation of `bytes` usable bytes at `block`; `counted`
// bytes are counted down (the bytes since the last allocation event, at an
// event: counting::allocation_event), `bytes` by default.
inline void allocated(heap::Slot* s, void* block, uint64_t bytes, uint64_t counted) {
  if (due(s, block, bytes, counted)) take(s, block, bytes);
}
inline void allocated(heap::Slot* s, void* block, uint64_t bytes) { allocated(s, block, bytes, bytes); }

// Every counted free (and the old block of a realloc), before the block goes.
inline void freed(void* block) {
  if (__builtin_expect(
          __atomic_load_n(filter_byte(reinterpret_cast<uintptr_t>(block)), __ATOMIC_RELAXED) == 0,
          1)) {
    return;
  }
  forget(block);
}

}  // namespace memproxy::sampling

#endif
