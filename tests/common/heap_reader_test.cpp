// The daemon's reading of a heap account: only the library's slot count and
// formats are accepted, a thread following its backend's counters counts what
// they gained since it attached (format 3; a lying slot only makes its own
// numbers wrong), and reading an account allocates none of the pages the process
// never touched (they would be charged to the daemon: hundreds of sparse
// accounts grew it by gigabytes). Pages are counted as the memfd's
// allocated blocks (st_blocks), which a read through a shared mapping of a
// missing page would raise.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "memproxy/heap_reader.hpp"

namespace {

namespace heap = memproxy::heap;

// A sealed memfd holding an account of `slot_count` slots with only its
// header written (and slot `used`, when given, owned with `bytes`
// allocated), as a process leaves it before its threads allocate.
int account_fd(uint32_t slot_count, int used = -1, uint64_t bytes = 0, const heap::Slot* written = nullptr,
               uint32_t version = heap::kFormatVersion) {
  const uint64_t size = heap::region_size_for(slot_count);
  int fd = ::memfd_create("memproxy-heap-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(size)) != 0) return -1;
  heap::Header h{};
  std::memcpy(h.magic, MP_HEAP_MAGIC, sizeof MP_HEAP_MAGIC);
  h.format_version = version;
  h.header_size = sizeof h;
  h.slot_size = heap::kSlotSize;
  h.slot_count = slot_count;
  h.region_size = size;
  h.samples_offset = static_cast<uint32_t>(heap::samples_offset_for(slot_count));
  h.samples_size = sizeof(heap::SampleSection);
  h.trace_offset = static_cast<uint32_t>(heap::trace_offset_for(slot_count));
  h.trace_size = sizeof(heap::TraceSection);
  if (::pwrite(fd, &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h)) return -1;
  if (used >= 0) {
    heap::Slot slot = written != nullptr ? *written : heap::Slot{};
    slot.owner = 0x1234;
    if (written == nullptr) slot.bytes_allocated = bytes;
    const off_t at = static_cast<off_t>(sizeof h + static_cast<size_t>(used) * sizeof slot);
    if (::pwrite(fd, &slot, sizeof slot, at) != static_cast<ssize_t>(sizeof slot)) return -1;
  }
  if (::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0) return -1;
  return fd;
}

blkcnt_t blocks(int fd) {
  struct stat st {};
  EXPECT_EQ(::fstat(fd, &st), 0);
  return st.st_blocks;
}

TEST(HeapReader, OnlyTheLibrarysSlotCountIsAccepted) {
  for (uint32_t count : {heap::kSlotCount / 2, heap::kSlotCount * 2, heap::kMaxSlotCount}) {
    int fd = account_fd(count);
    ASSERT_GE(fd, 0);
    std::string why;
    heap::MappedAccount account = heap::MappedAccount::from_fd(fd, &why);
    EXPECT_FALSE(account) << count;
    EXPECT_NE(why.find("slot count " + std::to_string(count)), std::string::npos) << why;
  }
  int fd = account_fd(heap::kSlotCount);
  ASSERT_GE(fd, 0);
  std::string why;
  EXPECT_TRUE(heap::MappedAccount::from_fd(fd, &why)) << why;
}

TEST(HeapReader, ReadingAnAccountAllocatesNoPageTheProcessLeftUntouched) {
  const int used = static_cast<int>(heap::kSlotCount) - 3;
  int fd = account_fd(heap::kSlotCount, used, 4096);
  ASSERT_GE(fd, 0);
  const int kept = ::dup(fd);  // from_fd closes the one it is given
  ASSERT_GE(kept, 0);
  const blkcnt_t before = blocks(kept);
  ASSERT_LT(before * 512, static_cast<blkcnt_t>(heap::region_size_for(heap::kSlotCount) / 4));
  std::string why;
  heap::MappedAccount account = heap::MappedAccount::from_fd(fd, &why);
  ASSERT_TRUE(account) << why;
  const heap::Totals totals = account.totals();
  EXPECT_EQ(totals.threads, 1u);
  EXPECT_EQ(totals.bytes_allocated, 4096u);
  EXPECT_TRUE(heap::read_samples(account.samples()).empty());
  EXPECT_EQ(blocks(kept), before);
  ::close(kept);
}

// The totals of an account whose slot 0 is `slot`, in format `version`,
// read as of process `pid` (read_totals).
heap::Totals totals_of(const heap::Slot& slot, uint32_t version = heap::kFormatVersion, int pid = 0) {
  int fd = account_fd(heap::kSlotCount, 0, 0, &slot, version);
  EXPECT_GE(fd, 0);
  std::string why;
  heap::MappedAccount account = heap::MappedAccount::from_fd(fd, &why);
  EXPECT_TRUE(account) << why;
  return account ? account.totals(pid) : heap::Totals{};
}

// An account whose slot 0 is `slot`, mapped as the daemon maps it (the
// slots writable, as the process writes them); `kept`, when given, a
// second descriptor of it, for its allocated blocks.
heap::MappedAccount account_with(const heap::Slot& slot, int* kept = nullptr) {
  int fd = account_fd(heap::kSlotCount, 0, 0, &slot);
  EXPECT_GE(fd, 0);
  if (kept != nullptr) *kept = ::dup(fd);
  std::string why;
  heap::MappedAccount account = heap::MappedAccount::from_fd(fd, &why);
  EXPECT_TRUE(account) << why;
  return account;
}

// A thread that follows jemalloc's counters: 100 bytes counted by sizes
// before it attached, then the counters gained 5000 and 1000 bytes.
heap::Slot following_slot() {
  heap::Slot slot{};
  slot.bytes_allocated = 100;
  slot.backend_counter[0] = 0x7f0000001000;
  slot.backend_counter[1] = 0x7f0000001008;
  slot.backend_base[0] = 1'000'000;
  slot.backend_seen[0] = 1'005'000;
  slot.backend_base[1] = 2'000'000;
  slot.backend_seen[1] = 2'001'000;
  return slot;
}

TEST(HeapReader, AThreadFollowingItsBackendsCountersCountsWhatTheyGainedSinceItAttached) {
  const heap::Totals t = totals_of(following_slot());
  EXPECT_EQ(t.bytes_allocated, 5100u);
  EXPECT_EQ(t.bytes_freed, 1000u);
  EXPECT_EQ(t.live_bytes, 4100u);
  // Detached (its thread folded them in at exit): the byte counts alone.
  heap::Slot folded = following_slot();
  folded.backend_counter[0] = folded.backend_counter[1] = 0;
  folded.bytes_allocated = 5100;
  folded.bytes_freed = 1000;
  EXPECT_EQ(totals_of(folded).live_bytes, 4100u);
}

// Named its process, the reader reads the counters in it: what they say
// now, where what the thread last saw may lack its latest call. Only in
// the process it names: a slot's addresses lead into that process's
// memory, never the reader's (here the same address holds other values in
// each); counters that cannot be read there, or say less than the thread
// saw, leave what it saw.
TEST(HeapReader, BackendCountersAreReadInTheProcessTheReaderNames) {
  static uint64_t counters[2];
  counters[0] = 1'007'000;
  counters[1] = 2'003'000;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  counters[0] = 1'900'000;  // the reader's own copy, from here on
  counters[1] = 2'900'000;
  heap::Slot slot = following_slot();
  slot.backend_counter[0] = reinterpret_cast<uintptr_t>(&counters[0]);
  slot.backend_counter[1] = reinterpret_cast<uintptr_t>(&counters[1]);
  const heap::Totals seen = totals_of(slot);
  EXPECT_EQ(seen.bytes_allocated, 5100u);
  EXPECT_EQ(seen.bytes_freed, 1000u);
  const heap::Totals in_child = totals_of(slot, heap::kFormatVersion, child);
  EXPECT_EQ(in_child.bytes_allocated, 7100u);
  EXPECT_EQ(in_child.bytes_freed, 3000u);
  const heap::Totals in_reader = totals_of(slot, heap::kFormatVersion, ::getpid());
  EXPECT_EQ(in_reader.bytes_allocated, 900'100u);
  EXPECT_EQ(in_reader.bytes_freed, 900'000u);
  heap::Slot unmapped = slot;
  unmapped.backend_counter[0] = 8;
  unmapped.backend_counter[1] = 16;
  EXPECT_EQ(totals_of(unmapped, heap::kFormatVersion, child).live_bytes, 4100u);
  counters[0] = 1'001'000;
  counters[1] = 2'000'000;
  const heap::Totals behind = totals_of(slot, heap::kFormatVersion, ::getpid());
  EXPECT_EQ(behind.bytes_allocated, 5100u);
  EXPECT_EQ(behind.bytes_freed, 1000u);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
}

// The reader reads every thread's counters in one go, and a slot whose
// counters the process cannot give does not cost the slots after it
// theirs: those are read by themselves. Three threads here, the middle
// one's addresses unmapped: the first and the last count what their
// counters say now, the middle one what its thread last saw.
TEST(HeapReader, EveryThreadsCountersAreReadAndAnUnreadableOneCostsTheOthersNothing) {
  static uint64_t first[2] = {1'007'000, 2'003'000};
  static uint64_t last[2] = {1'050'000, 2'010'000};
  heap::Slot slot = following_slot();
  slot.backend_counter[0] = reinterpret_cast<uintptr_t>(&first[0]);
  slot.backend_counter[1] = reinterpret_cast<uintptr_t>(&first[1]);
  heap::MappedAccount account = account_with(slot);
  ASSERT_TRUE(account);
  std::span<heap::Slot> slots = account.event_slots().slots;
  ASSERT_EQ(slots.size(), heap::kSlotCount);
  slots[1] = slots[0];
  slots[1].backend_counter[0] = 8;
  slots[1].backend_counter[1] = 16;
  slots[2] = slots[0];
  slots[2].backend_counter[0] = reinterpret_cast<uintptr_t>(&last[0]);
  slots[2].backend_counter[1] = reinterpret_cast<uintptr_t>(&last[1]);
  const heap::Totals t = account.totals(::getpid());
  EXPECT_EQ(t.threads, 3u);
  // 100 counted by sizes in each; then 7,000, 5,000 (seen) and 50,000.
  EXPECT_EQ(t.bytes_allocated, 300u + 7'000 + 5'000 + 50'000);
  EXPECT_EQ(t.bytes_freed, 3'000u + 1'000 + 10'000);
}

// A process started before the daemon's upgrade wrote format 2, whose
// byte counts already held its backend's bytes.
TEST(HeapReader, AFormatTwoAccountIsReadAsItWasWritten) {
  heap::Slot slot = following_slot();
  slot.bytes_allocated = 5100;
  slot.bytes_freed = 1000;
  const heap::Totals t = totals_of(slot, 2);
  EXPECT_EQ(t.bytes_allocated, 5100u);
  EXPECT_EQ(t.live_bytes, 4100u);
  for (uint32_t version : {1u, heap::kFormatVersion + 1}) {
    int fd = account_fd(heap::kSlotCount, -1, 0, nullptr, version);
    ASSERT_GE(fd, 0);
    std::string why;
    EXPECT_FALSE(heap::MappedAccount::from_fd(fd, &why)) << version;
    EXPECT_NE(why.find("unsupported heap account version " + std::to_string(version)), std::string::npos) << why;
  }
}

// A reader that switches the trace ring on makes the next call of every
// thread one of its events (whose common path does not read the switch;
// its events do). Following backend counters, 0 replaces the slot's two
// due words and nothing else. By block sizes, where the account says it
// counts so, kForceBytes is taken from each, once however often the ring
// is switched on (the thread adds it back); where it does not say so (its
// library read the switch on every such call), the slot is left as it
// was. A slot no thread owns, and every slot of an account in a format
// whose library reads the switch on every call, are left as they were;
// nor is a page the process never touched written.
TEST(HeapReader, SwitchingTheRingOnForcesTheEventsOfEveryThread) {
  heap::Slot following = following_slot();
  following.until_event = 70'000;
  following.event_span = 262'144;
  following.until_sample = 400'000;
  following.until_free_event = 2'262'144;
  int kept = -1;
  heap::MappedAccount account = account_with(following, &kept);
  ASSERT_TRUE(account);
  ASSERT_GE(kept, 0);
  std::span<heap::Slot> slots = account.event_slots().slots;
  ASSERT_EQ(slots.size(), heap::kSlotCount);
  heap::Slot& by_sizes = slots[1];  // on slot 0's page
  by_sizes.owner = 0x5678;
  by_sizes.until_event = 1000;
  by_sizes.until_free_event = 2000;
  heap::Slot& unowned = slots[2];
  unowned = following_slot();
  unowned.until_event = 3000;
  unowned.until_free_event = 4000;
  account.trace().capacity = heap::kTraceCapacity;  // as the process writes it
  const blkcnt_t before = blocks(kept);

  heap::hold_trace_lease(account.trace(), 1'000'000'000, account.event_slots());
  EXPECT_EQ(account.trace().on, 1u);
  EXPECT_EQ(slots[0].until_event, 0);
  EXPECT_EQ(slots[0].until_free_event, 0);
  EXPECT_EQ(slots[0].event_span, 262'144);
  EXPECT_EQ(slots[0].until_sample, 400'000);
  EXPECT_EQ(slots[0].backend_seen[1], 2'001'000u);
  EXPECT_EQ(by_sizes.until_event, 1000);
  EXPECT_EQ(by_sizes.until_free_event, 2000);
  EXPECT_EQ(unowned.until_event, 3000);
  EXPECT_EQ(unowned.until_free_event, 4000);
  EXPECT_EQ(blocks(kept), before);

  const_cast<heap::Header&>(account.header()).sized_events = 1;
  by_sizes.until_free_event = -300;  // its thread's free took it below 0, its event not yet made
  for (int time = 0; time < 3; ++time) {
    heap::hold_trace_lease(account.trace(), 1'000'000'000, account.event_slots());
    EXPECT_EQ(by_sizes.until_event, 1000 - heap::kForceBytes);
    EXPECT_EQ(by_sizes.until_free_event, -300 - heap::kForceBytes);
    EXPECT_EQ(slots[0].until_event, 0);
    EXPECT_EQ(slots[0].event_span, 262'144);
    EXPECT_EQ(unowned.until_event, 3000);
    EXPECT_EQ(unowned.until_free_event, 4000);
  }
  EXPECT_EQ(blocks(kept), before);
  ::close(kept);

  // Format 4 said nothing of counting by sizes: its slots so are left.
  heap::Slot sized = following_slot();
  sized.backend_counter[0] = sized.backend_counter[1] = 0;
  sized.until_event = 1000;
  int four = account_fd(heap::kSlotCount, 0, 0, &sized, heap::kSizedEventsFormatVersion - 1);
  ASSERT_GE(four, 0);
  std::string four_why;
  heap::MappedAccount four_account = heap::MappedAccount::from_fd(four, &four_why);
  ASSERT_TRUE(four_account) << four_why;
  const_cast<heap::Header&>(four_account.header()).sized_events = 1;
  heap::hold_trace_lease(four_account.trace(), 1'000'000'000, four_account.event_slots());
  EXPECT_EQ(four_account.event_slots().slots[0].until_event, 1000);

  int old = account_fd(heap::kSlotCount, 0, 0, &following, heap::kForcedEventsFormatVersion - 1);
  ASSERT_GE(old, 0);
  std::string why;
  heap::MappedAccount old_account = heap::MappedAccount::from_fd(old, &why);
  ASSERT_TRUE(old_account) << why;
  EXPECT_TRUE(old_account.event_slots().empty());
}

// A process can only make its own numbers wrong: counters below their base
// count nothing, and a slot left "detaching" forever is read anyway.
TEST(HeapReader, ALyingSlotIsReadWithoutWrappingOrWaiting) {
  heap::Slot slot = following_slot();
  slot.backend_seen[0] = 10;
  slot.backend_seen[1] = UINT64_MAX;
  slot.backend_base[1] = 0;
  slot.detaching = 1;
  const heap::Totals t = totals_of(slot);
  EXPECT_EQ(t.bytes_allocated, 100u);
  EXPECT_EQ(t.bytes_freed, UINT64_MAX);
  EXPECT_EQ(t.live_bytes, 0u);
}

// The process writes its header after the reader checked it: a slot count
// raised to the most any account may have is not followed past the region
// the reader mapped (the reader would fault), nor a format changed to one
// the reader cannot read, nor a lying one.
TEST(HeapReader, AHeaderRewrittenAfterTheCheckIsReadAsChecked) {
  int fd = account_fd(heap::kSlotCount, 3, 4096);
  ASSERT_GE(fd, 0);
  std::string why;
  heap::MappedAccount account = heap::MappedAccount::from_fd(fd, &why);
  ASSERT_TRUE(account) << why;
  auto& header = const_cast<heap::Header&>(account.header());
  header.slot_count = heap::kMaxSlotCount;
  header.header_size = 0;
  header.samples_offset = 0;
  header.trace_offset = UINT32_MAX;
  const heap::Totals t = account.totals(::getpid());
  EXPECT_EQ(t.threads, 1u);
  EXPECT_EQ(t.bytes_allocated, 4096u);
  EXPECT_EQ(account.event_slots().slots.size(), heap::kSlotCount);
  const auto* base = static_cast<const unsigned char*>(account.data());
  EXPECT_EQ(reinterpret_cast<const unsigned char*>(&account.trace()), base + heap::trace_offset_for(heap::kSlotCount));
  EXPECT_EQ(reinterpret_cast<const unsigned char*>(&account.samples()),
            base + heap::samples_offset_for(heap::kSlotCount));
  EXPECT_TRUE(heap::read_samples(account.samples()).empty());
}

}  // namespace
