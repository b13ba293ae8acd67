// The heap account of a monitored process: the contract between
// libmemproxy (which writes it, in the process) and memproxyd (which reads
// it, from outside).
//
// The account is one shared-memory region (a sealed memfd on Linux: it can
// neither shrink nor grow, so the reader's mapping never faults), handed to
// the daemon over a Unix socket. Layout invariants:
// - Bitness-neutral, like the table: fixed-width integers, offsets, explicit
//   padding, static_asserts on sizes and offsets. A 32-bit process's account
//   reads the same as a 64-bit one's.
// - One header, then slot_count slots of kSlotSize bytes. A slot belongs to
//   one thread at a time (claimed by its owner word) and only that thread
//   writes it, with relaxed 64-bit atomic stores: a reader sees each word
//   old or new, never torn, and sums the slots without locking.
// - Counters only grow. live bytes = sum(bytes_allocated) - sum(bytes_freed),
//   in usable sizes, so they are exact; peak_bytes is kept from batched
//   updates of live_batched (each thread adds its balance once it exceeds
//   kBatchBytes), so it is exact to within threads x kBatchBytes.
// - The reader trusts nothing here: a hostile process may write anything,
//   and can only lie about itself. Every count is read as an untrusted
//   number, slot_count and the region's size are checked against the
//   region's real size.
#ifndef MEMPROXY_HEAP_ACCOUNT_H
#define MEMPROXY_HEAP_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

namespace memproxy::heap {

#define MP_HEAP_MAGIC "MPXHEAP"
inline constexpr uint32_t kMagicSize = 8;
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr uint32_t kSlotSize = 128;
inline constexpr uint32_t kSlotCount = 256;  // threads at once; more share the overflow slot
inline constexpr uint32_t kMaxSlotCount = 4096;
inline constexpr int64_t kBatchBytes = 256 * 1024;
// The name of the memfd in /proc/PID/fd (memfd:NAME): how a restarted
// daemon finds running monitored processes again.
#define MP_HEAP_MEMFD_NAME "memproxy-heap"

// What a slot counts: calls of each family member (memproxy/allocator_family.def) by kind.
// The four a churning program makes come first: with the bytes, they share
// the slot's first cache line.
enum Counter : uint32_t {
  kMalloc = 0,   // malloc, __libc_malloc
  kFree,         // free, __libc_free (not free(NULL))
  kNew,          // every operator new
  kDelete,       // every operator delete (not of nullptr)
  kCalloc,       // calloc, __libc_calloc
  kRealloc,      // realloc, reallocarray, __libc_realloc
  kAligned,      // memalign, posix_memalign, aligned_alloc, valloc, pvalloc (and __libc_ forms)
  kCounters
};

struct Slot {
  uint64_t owner;            /* the owning thread's thread pointer; 0 = free */
  uint64_t bytes_allocated;  /* usable bytes of every block handed out */
  uint64_t bytes_freed;      /* usable bytes of every block freed */
  int64_t unbatched;         /* balance not yet added to Header::live_batched */
  uint64_t calls[kCounters]; /* Counter */
  /* Where the backend keeps this thread's own byte counts (jemalloc's
     thread.allocatedp and thread.deallocatedp), and their values when last
     added to the bytes above: the process's business, 0 when unused. */
  uint64_t backend_counter[2];
  uint64_t backend_seen[2];
  uint64_t reserved[1];
};
static_assert(sizeof(Slot) == kSlotSize, "slot size");
static_assert(offsetof(Slot, bytes_allocated) == 8, "slot.bytes_allocated offset");
static_assert(offsetof(Slot, calls) == 32, "slot.calls offset");
static_assert(offsetof(Slot, calls) + 4 * sizeof(uint64_t) == 64, "the hot counters end the first line");

struct Header {
  char magic[kMagicSize];   /* MP_HEAP_MAGIC, NUL-padded */
  uint32_t format_version;  /* kFormatVersion */
  uint32_t header_size;     /* sizeof(Header): the slots start here */
  uint32_t slot_size;       /* kSlotSize */
  uint32_t slot_count;      /* slots after the header, <= kMaxSlotCount */
  uint64_t region_size;     /* bytes of the whole region */
  int64_t pid;              /* as the process saw itself (the daemon trusts the kernel's word) */
  int64_t started_unix_ns;  /* when the account was made: the process start, or its fork */
  uint64_t live_batched;    /* atomic: the threads' batched balances */
  uint64_t peak_bytes;      /* atomic: the highest live_batched seen */
  uint64_t overflow_calls;  /* calls counted in the overflow slot (more threads than slots) */
  uint64_t reserved[7];     /* zero: room for the sampled allocations and the trace ring */
  Slot overflow;            /* shared by threads that found no slot: atomic adds */
};
static_assert(offsetof(Header, format_version) == 8, "header.format_version offset");
static_assert(offsetof(Header, region_size) == 24, "header.region_size offset");
static_assert(offsetof(Header, live_batched) == 48, "header.live_batched offset");
// The overflow slot and the slots after the header start on 128-byte lines
// of their own (a page-aligned region): no false sharing with the header.
static_assert(offsetof(Header, overflow) == 128, "header.overflow offset");
static_assert(sizeof(Header) == 256, "header size");

inline constexpr uint64_t region_size_for(uint32_t slot_count) {
  return sizeof(Header) + static_cast<uint64_t>(slot_count) * kSlotSize;
}

// The first message on the daemon's heap socket, with the region's
// descriptor attached (SCM_RIGHTS).
struct Hello {
  char magic[8];            /* "MPXHELLO" */
  uint32_t format_version;  /* kFormatVersion */
  uint32_t reserved;
};
static_assert(sizeof(Hello) == 16, "hello size");

}  // namespace memproxy::heap

#endif
