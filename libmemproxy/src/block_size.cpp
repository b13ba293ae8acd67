#include "block_size.hpp"

namespace memproxy::block_size {

namespace {

// Whether `agrees` holds for a block of each of `kinds`, made by `make`:
// the blocks are all held before any is read (so that each lies in a page
// of its kind beside the others), then freed.
template <typename Kind, size_t n, typename Make, typename Agrees>
bool held_blocks_agree(const Allocator& a, const Kind (&kinds)[n], Make make, Agrees agrees) {
  void* blocks[n] = {};
  for (size_t i = 0; i < n; ++i) blocks[i] = make(kinds[i]);
  bool same = true;
  for (size_t i = 0; i < n; ++i) {
    if (blocks[i] == nullptr || !agrees(kinds[i], blocks[i])) same = false;
  }
  for (void* p : blocks) {
    if (p != nullptr) a.free(p);
  }
  return same;
}

#if defined(__x86_64__)
// Fills g_mimalloc_small_class from mimalloc's answer for each class's
// largest request; false unless every request of the class (its smallest
// included) has that answer, a block size of at least the request.
bool small_classes_filled(size_t (*good_size)(size_t)) {
  for (size_t words = 0; words < mimalloc::kSmallClasses; ++words) {
    const size_t most = words * 8;
    const size_t bytes = good_size(most);
    if (bytes < most || bytes > UINT16_MAX || good_size(most > 8 ? most - 7 : 0) != bytes) return false;
    g_mimalloc_small_class[words] = static_cast<uint16_t>(bytes);
  }
  return true;
}
#endif

}  // namespace

uint16_t g_mimalloc_small_class[mimalloc::kSmallClasses] MP_STATE;

bool glibc_chunks_readable(const Allocator& a) {
#if defined(__GLIBC__) && (defined(__x86_64__) || defined(__i386__))
  // Chunks from the heap, and one mmapped. Below glibc's default mmap
  // threshold (128 KiB) or above the most its dynamic threshold rises to
  // (32 MiB; 16 on 32-bit): freeing an mmapped chunk in between would raise
  // the program's threshold to it.
  static const size_t kBytes[] = {1, 24, 1000, 9000, 100000, 40u << 20};
  return a.malloc_usable_size != nullptr &&
         held_blocks_agree(
             a, kBytes, [&](size_t bytes) { return a.malloc(bytes); },
             [&](size_t, void* p) { return glibc_chunk(p) == a.malloc_usable_size(p); });
#else
  (void)a;
  return false;
#endif
}

bool mimalloc_pages_readable(const Allocator& a, int (*version)(), size_t (*good_size)(size_t)) {
#if defined(__x86_64__)
  if (version == nullptr || version() != 209 || good_size == nullptr || a.malloc_usable_size == nullptr ||
      a.aligned_alloc == nullptr || !small_classes_filled(good_size)) {
    return false;
  }
  // An aligned block is read in place only where its page holds no block
  // whose start it is not (else refused, and asked). A page's first block
  // starts as aligned as the page, so each aligned kind is asked twice: the
  // second lies inside its block, and its page says so.
  struct Aligned {
    size_t alignment, bytes;
  };
  static const Aligned kAligned[] = {{64, 24}, {64, 24}, {64, 3000}, {64, 3000},
                                     {4096, 24}, {4096, 24}, {4096, 3000}, {4096, 3000}};
  const bool aligned_same = held_blocks_agree(
      a, kAligned, [&](const Aligned& k) { return a.aligned_alloc(k.alignment, k.bytes); },
      [&](const Aligned&, void* p) {
        size_t bytes = 0;
        return !mimalloc_page(p, &bytes) || bytes == a.malloc_usable_size(p);
      });
  // Small, medium and large pages, each read in place, the small ones
  // (first and last classes, whole and part words) their class's size too.
  // (Not a huge one: its segment would stay in the program's memory; a
  // huge block's size word is read as the others' are, or refused.)
  static const size_t kBytes[] = {0, 1, 24, 100, 1000, mimalloc::kSmallMax, 9000, 100000, 300000};
  return aligned_same && held_blocks_agree(
                             a, kBytes, [&](size_t bytes) { return a.malloc(bytes); },
                             [&](size_t asked, void* p) {
                               size_t bytes = 0;
                               return mimalloc_page(p, &bytes) && bytes == a.malloc_usable_size(p) &&
                                      (asked > mimalloc::kSmallMax || bytes == mimalloc_small_class(asked));
                             });
#else
  (void)a;
  (void)version;
  (void)good_size;
  return false;
#endif
}

void prepare_size_query(const Allocator& a) {
  void* p = a.malloc(1);
  if (p == nullptr) return;
  (void)a.malloc_usable_size(p);
  a.free(p);
}

}  // namespace memproxy::block_size
