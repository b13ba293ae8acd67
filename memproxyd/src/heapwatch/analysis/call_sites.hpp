// Which code holds a process's live heap: its live samples (heap::Sample,
// read from its heap account) grouped by stack, each group a call site with
// the bytes and blocks its samples stand for. Pure: the same samples give
// the same sites.
//
// Every sample comes from the process, which may write anything: a stack
// longer than heap::kMaxFrames is cut there, a size of 0 or beyond any
// address space is left out and counted, and the bytes one sample stands
// for are capped at kMaxPlausibleBytes, so no sum can overflow or turn into
// infinity. A lying process can only make its own sites wrong.
#ifndef MEMPROXYD_HEAPWATCH_CALL_SITES_HPP
#define MEMPROXYD_HEAPWATCH_CALL_SITES_HPP

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "memproxy/heap_reader.hpp"

namespace memproxy::heapwatch {

// Return addresses, innermost first, at most heap::kMaxFrames.
using Stack = std::vector<uint64_t>;

// Larger than any block or heap can be: the 57-bit user address space of
// five-level paging (x86-64), above every other 64-bit platform's.
inline constexpr uint64_t kMaxPlausibleBytes = uint64_t{1} << 56;

struct CallSite {
  Stack stack;
  double estimated_bytes = 0;   // sum of heap::estimated_bytes over its samples
  double estimated_blocks = 0;  // sum of estimated_bytes / size: the blocks they stand for
  uint64_t samples = 0;
  uint64_t truncated_samples = 0;  // of which the stack is incomplete (kStackTruncated, kNoUnwinder)
  int64_t oldest_allocation_unix_ns = 0;  // as the process wrote them
  int64_t newest_allocation_unix_ns = 0;
};

struct SiteAggregate {
  // Largest estimated bytes first; equal bytes by stack, so the order is a
  // function of the samples alone.
  std::vector<CallSite> sites;
  uint64_t samples = 0;           // taken into the sites
  uint64_t rejected_samples = 0;  // size 0 or above kMaxPlausibleBytes
  double estimated_bytes = 0;     // of every site
};

// The bytes one sample stands for (heap::estimated_bytes), at most
// kMaxPlausibleBytes; 0 for a sample that is left out.
double plausible_estimate(const heap::Sample& sample);

// Groups `samples` by stack. O(S * D) expected for S samples of depth D;
// memory for the sites' stacks, at most S * kMaxFrames words.
SiteAggregate aggregate_sites(std::span<const heap::Sample> samples);

// Hash and equality of stacks as hash-map keys.
struct StackHash {
  size_t operator()(std::span<const uint64_t> stack) const;
};
struct StackEqual {
  bool operator()(std::span<const uint64_t> a, std::span<const uint64_t> b) const;
};

}  // namespace memproxy::heapwatch

#endif
