#include "block_size.hpp"

namespace memproxy::block_size {

namespace {

// Whether `read` gives a.malloc_usable_size's answer for every block of
// `bytes`: the blocks are held together, so that they lie in pages of their
// own kinds.
template <size_t n, typename Read>
bool same_as_asked(const Allocator& a, const size_t (&bytes)[n], Read read) {
  void* blocks[n] = {};
  bool same = true;
  for (size_t i = 0; i < n; ++i) {
    blocks[i] = a.malloc(bytes[i]);
    if (blocks[i] == nullptr || !read(blocks[i], bytes[i])) same = false;
  }
  for (void* p : blocks) {
    if (p != nullptr) a.free(p);
  }
  return same;
}

}  // namespace

bool glibc_chunks_readable(const Allocator& a) {
#if defined(__GLIBC__) && (defined(__x86_64__) || defined(__i386__))
  // Chunks from the heap, and one mmapped. Below glibc's default mmap
  // threshold (128 KiB) or above the most its dynamic threshold rises to
  // (32 MiB; 16 on 32-bit): freeing an mmapped chunk in between would raise
  // the program's threshold to it.
  static const size_t kBytes[] = {1, 24, 1000, 9000, 100000, 40u << 20};
  return a.malloc_usable_size != nullptr &&
         same_as_asked(a, kBytes, [&](void* p, size_t) { return glibc_chunk(p) == a.malloc_usable_size(p); });
#else
  (void)a;
  return false;
#endif
}

bool mimalloc_pages_readable(const Allocator& a, int (*version)()) {
#if defined(__x86_64__)
  if (version == nullptr || version() != 209 || a.malloc_usable_size == nullptr || a.aligned_alloc == nullptr) {
    return false;
  }
  // An aligned block is read in place only where its page holds no block
  // whose start it is not (else refused, and asked). A page's first block
  // starts as aligned as the page, so each aligned block is asked twice,
  // held: the second lies inside its block, and its page says so.
  static const size_t kAlignments[] = {64, 4096};
  static const size_t kAlignedBytes[] = {24, 3000};
  void* aligned[2 * (sizeof kAlignments / sizeof kAlignments[0]) * (sizeof kAlignedBytes / sizeof kAlignedBytes[0])] = {};
  size_t n = 0;
  for (size_t alignment : kAlignments) {
    for (size_t asked : kAlignedBytes) {
      aligned[n++] = a.aligned_alloc(alignment, asked);
      aligned[n++] = a.aligned_alloc(alignment, asked);
    }
  }
  bool aligned_same = true;
  for (void* p : aligned) {
    size_t bytes = 0;
    if (p == nullptr || (mimalloc_page(p, &bytes) && bytes != a.malloc_usable_size(p))) aligned_same = false;
  }
  for (void* p : aligned) {
    if (p != nullptr) a.free(p);
  }
  // Small, medium and large pages. (Not a huge one: its segment would stay
  // in the program's memory; a huge block's size word is read as the
  // others' are, or refused.)
  static const size_t kBytes[] = {1, 24, 1000, 9000, 100000, 300000};
  return aligned_same && same_as_asked(a, kBytes, [&](void* p, size_t) {
           size_t bytes = 0;
           return mimalloc_page(p, &bytes) && bytes == a.malloc_usable_size(p);
         });
#else
  (void)a;
  (void)version;
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
