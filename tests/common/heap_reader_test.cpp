// The daemon's reading of a heap account: only the library's slot count is
// accepted, and reading an account allocates none of the pages the process
// never touched (they would be charged to the daemon: hundreds of sparse
// accounts grew it by gigabytes). Pages are counted as the memfd's
// allocated blocks (st_blocks), which a read through a shared mapping of a
// missing page would raise.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
int account_fd(uint32_t slot_count, int used = -1, uint64_t bytes = 0) {
  const uint64_t size = heap::region_size_for(slot_count);
  int fd = ::memfd_create("memproxy-heap-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(size)) != 0) return -1;
  heap::Header h{};
  std::memcpy(h.magic, MP_HEAP_MAGIC, sizeof MP_HEAP_MAGIC);
  h.format_version = heap::kFormatVersion;
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
    heap::Slot slot{};
    slot.owner = 0x1234;
    slot.bytes_allocated = bytes;
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

}  // namespace
