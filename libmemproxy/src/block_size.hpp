// The usable size of a block read in place, from the backend's own header,
// where that gives exactly what the backend's malloc_usable_size gives for
// fewer instructions (measured per backend with memproxy-usable-size under
// callgrind, docs/benchmarks/monitoring.md): what a monitored process's
// live bytes are counted in.
//
// Invariants:
// - A reader is used only after its check at the decision passed: the
//   backend is the one whose layout it reads, and on blocks of every kind
//   it gives what malloc_usable_size gives.
// - It reads only words the backend's own malloc_usable_size reads for the
//   same block, so it is as safe as asking.
#ifndef MEMPROXY_BLOCK_SIZE_HPP
#define MEMPROXY_BLOCK_SIZE_HPP

#include <stddef.h>
#include <stdint.h>

#include "call_step.hpp"
#include "dispatch.hpp"

namespace memproxy::block_size {

// glibc: the chunk's size word before the block holds the chunk's bytes,
// flags in the low three bits (2: mmapped, whose chunk also spends the word
// before the size word). malloc_usable_size does the same arithmetic and
// costs about 10 instructions more.
MP_CALL_STEP size_t glibc_chunk(const void* p) {
  size_t word = static_cast<const size_t*>(p)[-1];
  return (word & ~size_t{7}) - (sizeof(size_t) + (word & 2) * (sizeof(size_t) / 2));
}

// mimalloc 2.0.9's layout on x86-64 (mi_version() 209, a release build):
// blocks lie in 32 MiB-aligned segments (found from p - 1, as mimalloc
// finds them: an aligned block in a huge segment may start at a 32 MiB
// boundary past the segment's own start), cut into 64 KiB
// slices described by 80-byte entries from offset 0x108 of the segment; a
// slice of a multi-slice page points back to the page's first slice by
// its slice_offset (a byte count, at +4); the first slice is the page,
// whose flags byte (+14) has bit 1 set when the page holds an aligned block
// (whose usable size depends on the pointer's offset in its block) and
// whose xblock_size (+28) is the block size below 2 GiB (huge pages hold
// more). mi_usable_size reads exactly this, costing about 25 instructions
// with its call. false for an aligned page or a huge block: ask then.
namespace mimalloc {
inline constexpr uintptr_t kSegmentMask = (uintptr_t{1} << 25) - 1;
inline constexpr unsigned kSliceShift = 16;
inline constexpr uintptr_t kSliceBytes = 80;
inline constexpr uintptr_t kSlicesOffset = 0x108;
inline constexpr uintptr_t kSliceOffsetField = 4;
inline constexpr uintptr_t kFlagsField = 14;
inline constexpr uint8_t kHasAligned = 2;
inline constexpr uintptr_t kBlockSizeField = 28;
inline constexpr uint32_t kHugeBlockSize = 0x80000000u;
// A request of up to kSmallMax bytes (malloc, calloc) is served from a page
// of its size class, a bin of whole words, whose block size is the
// class's: a function of the request's words, (n + 7) / 8.
inline constexpr size_t kSmallMax = 1024;
inline constexpr size_t kSmallClasses = kSmallMax / 8 + 1;
}  // namespace mimalloc

// The block size of each small request's class, by its words: filled at
// the decision from mimalloc's own mi_good_size and checked against the
// blocks it hands out (mimalloc_pages_readable), so that an allocation is
// sized before its call, in one load. (By the request's bytes it would
// save the rounding and the shift, 2 instructions, but its 2 KiB would
// not leave the library's mutable state in one page, state.hpp.)
extern uint16_t g_mimalloc_small_class[mimalloc::kSmallClasses] MP_STATE;

MP_CALL_STEP size_t mimalloc_small_class(size_t n) { return g_mimalloc_small_class[(n + 7) >> 3]; }

MP_CALL_STEP bool mimalloc_page(const void* p, size_t* bytes) {
  using namespace mimalloc;
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  const uintptr_t segment = (a - 1) & ~kSegmentMask;
  // The slice's entry and then its page, each less kSlicesOffset, which
  // the loads' offsets add back: one addition fewer.
  const uintptr_t slice = segment + ((a - segment) >> kSliceShift) * kSliceBytes;
  const uintptr_t page = slice - *reinterpret_cast<const uint32_t*>(slice + kSlicesOffset + kSliceOffsetField);
  const size_t size = *reinterpret_cast<const uint32_t*>(page + kSlicesOffset + kBlockSizeField);
  const uint8_t flags = *reinterpret_cast<const uint8_t*>(page + kSlicesOffset + kFlagsField);
  if (__builtin_expect((flags & kHasAligned) != 0 || size >= kHugeBlockSize, 0)) return false;
  *bytes = size;
  return true;
}

// The checks at the decision, on blocks of every kind the backend `a`
// hands out (small, medium, large, mmapped or huge, aligned): whether each
// reader gives what a.malloc_usable_size gives. glibc's only on x86: elsewhere
// glibc may tag memory (aarch64 MTE), and the word before a block is then
// not the program's to read.
bool glibc_chunks_readable(const Allocator& a);
// `version` is the backend's mi_version and `good_size` its mi_good_size
// (null when it has none); true when both the pages and the small classes
// (g_mimalloc_small_class, filled here) give what a.malloc_usable_size
// gives.
bool mimalloc_pages_readable(const Allocator& a, int (*version)(), size_t (*good_size)(size_t));

// Asks a.malloc_usable_size once, at the decision, before the counting
// slots are installed: a backend may build what its size query needs on
// the first call, with the program's allocation functions (tcmalloc builds
// its MallocExtension with operator new), and a counting slot that asked
// first would re-enter itself until the stack ran out.
void prepare_size_query(const Allocator& a);

}  // namespace memproxy::block_size

#endif
