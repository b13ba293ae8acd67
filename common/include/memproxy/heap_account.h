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
//   old or new, never torn, and sums the slots without locking. One
//   exception (format 4): a reader that holds the trace ring on writes 0,
//   with compare-and-swap, to until_event and until_free_event of a slot
//   that follows backend counters, so that its thread's next call takes its
//   events, where that thread looks at the ring's switch (see Slot); from
//   format 5 it subtracts kForceBytes from them in a slot that counts by
//   block sizes, where the process says so (Header::sized_events).
// - Counters only grow. live bytes = sum(bytes_allocated) - sum(bytes_freed),
//   in usable sizes, so they are exact; a slot that follows the backend's
//   own thread counters (backend_counter set) adds what they gained since
//   it attached, instead of adding to its byte counts: read in the process
//   where the reader can (memproxy/heap_reader.hpp), else as the thread
//   last saw them (backend_seen - backend_base; it stores the allocated
//   one at its events and its calls on the full path, the deallocated one
//   at its free events, so they may lack what it did since: under
//   kBatchBytes asked for, and under kBatchBytes freed and one block);
//   peak_bytes is kept from batched updates of live_batched (each thread
//   adds what it allocated at its allocation events, at most kBatchBytes
//   apart, and the balance of its other calls once it exceeds
//   kBatchBytes), so it is exact to within threads x 2 x kBatchBytes.
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
// 5: a reader forces the events of slots that count by block sizes too;
// 4: a reader switching the ring on forces slots' events; 3: backend_seen -
// backend_base counts; 2: the trace ring's lease
inline constexpr uint32_t kFormatVersion = 5;
// The first format whose slots a reader forces (Slot::until_event).
inline constexpr uint32_t kForcedEventsFormatVersion = 4;
// The first whose slots that count by block sizes a reader forces too
// (Header::sized_events).
inline constexpr uint32_t kSizedEventsFormatVersion = 5;
inline constexpr uint32_t kOldestFormatVersion = 2;  // what a daemon still reads (a process started before its upgrade)
// Whether a hello or an account of `version` can be read.
inline constexpr bool readable_format(uint32_t version) {
  return version >= kOldestFormatVersion && version <= kFormatVersion;
}
inline constexpr uint32_t kSlotSize = 192;
inline constexpr uint32_t kSlotCount = 256;  // threads at once; more share the overflow slot
inline constexpr uint32_t kMaxSlotCount = 4096;
// The owner word of a slot its thread handed back at exit: no thread
// pointer (they are aligned) and not 0, so a reader keeps summing what the
// slot holds, and a later thread may claim it.
inline constexpr uint64_t kSlotHandedBack = 1;
inline constexpr int64_t kBatchBytes = 256 * 1024;
// What a reader subtracts from a by-sizes slot's due words to force its
// events (Slot::until_event): far below anything a countdown reaches by
// itself (it stops at its first call at or under 0, by one block's size),
// so the thread tells a forced word by its value and adds this back.
inline constexpr int64_t kForceBytes = int64_t{1} << 62;
// The name of the memfd in /proc/PID/fd (memfd:NAME): how a restarted
// daemon finds running monitored processes again.
#define MP_HEAP_MEMFD_NAME "memproxy-heap"

// The account's memfd is named for the heap socket it is handed to:
// "memproxy-heap-" and 16 hex digits of the socket path's FNV-1a hash. A
// daemon that starts while monitored processes run adopts only the
// accounts meant for its own socket, never those of another daemon (a
// developer's, a test's) on the same host. Freestanding: the library
// computes it too.
inline constexpr uint32_t kMemfdNameSize = sizeof(MP_HEAP_MEMFD_NAME) + 1 + 16;  // with its NUL
inline void memfd_name_for(const char* socket_path, char (&out)[kMemfdNameSize]) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const char* c = socket_path; *c != '\0'; ++c) {
    h ^= static_cast<unsigned char>(*c);
    h *= 0x100000001b3ull;
  }
  const char prefix[] = MP_HEAP_MEMFD_NAME "-";
  uint32_t i = 0;
  for (; prefix[i] != '\0'; ++i) out[i] = prefix[i];
  for (int shift = 60; shift >= 0; shift -= 4) out[i++] = "0123456789abcdef"[(h >> shift) & 15];
  out[i] = '\0';
}

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
  int64_t unbatched;         /* balance not yet added to Header::live_batched; the
                                process's business (in a slot that follows backend
                                counters, the allocated counter at its thread's last
                                allocation event) */
  uint64_t calls[kCounters]; /* Counter */
  /* Where the backend keeps this thread's own byte counts (jemalloc's
     thread.allocatedp and thread.deallocatedp), 0 when unused; their
     values as this thread last saw them (seen: the allocated counter at
     its last event or call on the full path, the deallocated one at its
     last free event, where the batch took it) and when it attached (base):
     the bytes allocated and freed are the counts above plus seen - base
     (format 3). Set in the order base and seen, then the counters. */
  uint64_t backend_counter[2];
  uint64_t backend_seen[2];
  /* The process's business: bytes a thread may still allocate before its
     next allocation event (its sample due, or the bytes since the last
     event added to Header::live_batched), counted down by the common path
     of every allocation; what it was set to at that event is event_span.
     In a slot that follows backend counters, counted down by the bytes
     each allocation asks for, compared unsigned: 0 makes the next
     allocation an event. Its thread writes 0 there (and to event_span, and
     to until_free_event) while the trace ring is on, and a reader that
     switches the ring on writes 0 there (and to until_free_event, not to
     event_span) with compare-and-swap: the common path of such a slot never
     reads the ring's switch, its events do. Counting by block sizes
     (format 5, where Header::sized_events is 1), the word is compared
     signed and the same holds with kForceBytes subtracted in place of 0
     written, here and in until_free_event (unless a word is already below
     -kForceBytes / 2): the thread adds it back at the event, so that what
     the word counted down is not lost. */
  int64_t until_event;
  /* Sampling (the process's business): bytes left until this thread's
     next sampled allocation, the mean that countdown was drawn with, its
     random state, and whether it is sampling now (a sample's own work
     never samples). */
  int64_t until_sample;
  uint64_t drawn_mean;
  uint64_t random;
  uint32_t sampling;
  /* Odd while a thread that exits folds seen - base into the byte counts
     and detaches (format 3): a reader that saw it odd or changed reads
     the slot again. */
  uint32_t detaching;
  uint64_t backend_base[2];
  int64_t event_span;
  /* The process's business too: bytes a thread may still free on the
     common path before what it freed there (kBatchBytes - this) goes to
     Header::live_batched; kBatchBytes when the slot is claimed. In a slot
     that follows backend counters, the value of the deallocated counter at
     which that is due instead (0: at the next free, as above). */
  int64_t until_free_event;
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
  uint64_t sample_mean_bytes;  /* mean bytes between sampled allocations; 0 = not sampling */
  uint32_t samples_offset;     /* the SampleSection, from the region's start */
  uint32_t samples_size;       /* its bytes */
  uint32_t trace_offset;       /* the TraceSection */
  uint32_t trace_size;
  /* Format 5: 1 once the process counts by block sizes (not by backend
     counters; set before it claims a slot), so that a reader forces its
     slots' events by kForceBytes (Slot::until_event); 0 otherwise. */
  uint64_t sized_events;
  uint64_t reserved[3];        /* zero */
  Slot overflow;            /* shared by threads that found no slot: atomic adds */
};
static_assert(offsetof(Header, format_version) == 8, "header.format_version offset");
static_assert(offsetof(Header, region_size) == 24, "header.region_size offset");
static_assert(offsetof(Header, live_batched) == 48, "header.live_batched offset");
// The overflow slot and the slots after the header start on 64-byte lines
// of their own (a page-aligned region): no false sharing with the header.
static_assert(offsetof(Header, overflow) == 128, "header.overflow offset");
static_assert(sizeof(Header) == 128 + kSlotSize, "header size");

// Sampled allocations (by bytes: one sample every sample_mean_bytes on
// average, drawn from an exponential distribution) and their stacks as raw
// return addresses; the daemon symbolizes them. A record is published with
// a sequence count (odd while written, even when stable), so a reader takes
// a record only if its sequence did not change while it read.
inline constexpr uint32_t kMaxFrames = 64;
inline constexpr uint32_t kSampleCapacity = 4096;    // live samples at once; more raise the mean
inline constexpr uint32_t kSampleUnusedSize = 16384; // see SampleSection::unused
inline constexpr uint32_t kSampleIndexSize = 8192;   // address -> record, linear probing, no tombstones

enum SampleFlags : uint16_t {
  kStackTruncated = 1,  // more than kMaxFrames frames, or the unwinder stopped early
  kNoUnwinder = 2,      // only the immediate caller is known
};

struct SampleRecord {
  uint64_t sequence;         /* odd while the process writes the record; 0 = never used */
  uint64_t address;          /* the block; 0 = free record */
  uint64_t size;             /* usable bytes */
  uint64_t mean_bytes;       /* the sampling mean it stands for: its weight is size / (1 - exp(-size / mean)) */
  int64_t allocated_unix_ns;
  uint32_t thread;           /* kernel thread id */
  uint16_t depth;            /* valid entries of pcs */
  uint16_t flags;            /* SampleFlags */
  uint64_t pcs[kMaxFrames];  /* return addresses, innermost first */
  uint64_t next_free;        /* the process's: the next free record + 1 while this one is free */
  uint64_t reserved;
};
static_assert(sizeof(SampleRecord) == 576, "sample record size");
static_assert(offsetof(SampleRecord, pcs) == 48, "sample record pcs offset");

struct SampleSection {
  uint32_t lock;             /* the process's, for insert and remove */
  uint32_t capacity;         /* kSampleCapacity */
  uint64_t taken;            /* samples taken since the account was made */
  uint64_t dropped;          /* samples not recorded: every record was in use */
  uint64_t live;             /* records in use */
  uint64_t changes;          /* grows whenever any record is written: a reader that saw it unchanged may skip the records */
  /* The process's business: its free list of records (record number + 1,
     linked through SampleRecord::next_free), how many records were ever
     used, and a count that is odd while it changes the index. */
  uint64_t free_head;
  uint64_t used;
  uint64_t index_changes;
  /* Zero. Earlier libraries kept the filter their free path tests here;
     the process keeps a larger one in private memory now
     (libmemproxy/src/sampling.hpp). Never read: the layout stays format 4's. */
  uint8_t unused[kSampleUnusedSize];
  uint16_t index[kSampleIndexSize];   /* record number + 1, 0 = empty */
  SampleRecord records[kSampleCapacity];
};
static_assert(offsetof(SampleSection, index) == 64 + kSampleUnusedSize, "sample index offset (format 4)");
static_assert(offsetof(SampleSection, records) % 64 == 0, "records on their own lines");

// The trace ring: when the daemon sets `on`, every call of the family is
// written as one record, by many threads, drained by the daemon. A full
// ring drops the record and counts it: the program never waits.
//
// The ring is on only while the daemon holds its lease: `lease_until_ns`,
// a CLOCK_MONOTONIC deadline the daemon writes before it sets `on` and
// pushes on at every drain. A writer that finds the lease lapsed sets `on`
// to 0 itself, so a trace cannot outlive a daemon that died (SIGKILL) with
// it on. Writers read the clock only after reserving a position that is a
// multiple of kTraceLeaseCheck and on every dropped record (a dead
// daemon's ring is soon full): once the lease has lapsed, the ring is off
// after at most kTraceLeaseCheck more calls that pass min_size. A lease
// of 0 has always lapsed. (The process and the daemon must share the
// monotonic clock: the same time namespace.)
inline constexpr uint32_t kTraceCapacity = 16384;  // records, a power of two
inline constexpr uint32_t kTraceLeaseCheck = 1024;  // positions, a power of two

struct TraceRecord {
  uint64_t sequence;   /* position + 1 once written; the reader takes positions in order */
  int64_t unix_ns;
  uint64_t pointer;    /* the pointer argument (free, realloc, delete), 0 for none */
  uint64_t size;       /* the size argument (bytes requested), 0 for none */
  uint64_t result;     /* the returned pointer, or posix_memalign's status */
  uint64_t caller;     /* the return address into the caller */
  uint32_t thread;     /* kernel thread id */
  uint16_t member;     /* the family member, in allocator_family.def order */
  uint16_t reserved16;
  uint64_t reserved;
};
static_assert(sizeof(TraceRecord) == 64, "trace record size");

struct TraceSection {
  uint32_t on;           /* written by the daemon: 1 = trace */
  uint32_t capacity;     /* kTraceCapacity */
  uint64_t min_size;     /* written by the daemon: calls with a smaller size argument are not traced (0 = all) */
  int64_t lease_until_ns; /* written by the daemon: CLOCK_MONOTONIC ns after which writers set `on` to 0 */
  uint64_t reserved0[5];
  uint64_t head;         /* next position to write: the threads' (atomic) */
  uint64_t reserved1[7];
  uint64_t tail;         /* next position to read: written by the daemon */
  uint64_t dropped;      /* records not written because the ring was full */
  uint64_t reserved2[6];
  TraceRecord records[kTraceCapacity];
};
static_assert(offsetof(TraceSection, lease_until_ns) == 16, "trace lease offset");
static_assert(offsetof(TraceSection, head) == 64, "trace head on its own line");
static_assert(offsetof(TraceSection, tail) == 128, "trace tail on its own line");
static_assert(offsetof(TraceSection, records) == 192, "trace records offset");

static_assert((kTraceLeaseCheck & (kTraceLeaseCheck - 1)) == 0, "lease check a power of two");

inline constexpr uint64_t align_to_page(uint64_t v) { return (v + 4095) & ~uint64_t{4095}; }
inline constexpr uint64_t slots_end(uint32_t slot_count) {
  return sizeof(Header) + static_cast<uint64_t>(slot_count) * kSlotSize;
}
inline constexpr uint64_t samples_offset_for(uint32_t slot_count) { return align_to_page(slots_end(slot_count)); }
inline constexpr uint64_t trace_offset_for(uint32_t slot_count) {
  return align_to_page(samples_offset_for(slot_count) + sizeof(SampleSection));
}
inline constexpr uint64_t region_size_for(uint32_t slot_count) {
  return align_to_page(trace_offset_for(slot_count) + sizeof(TraceSection));
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
