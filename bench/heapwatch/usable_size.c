/* memproxy-usable-size FUNCTION CALLS
 * What one exact block size costs, asked the way libmemproxy's counting
 * slots ask it: through a function pointer, of a ring of 4,096 live blocks
 * of memproxy-churn's mixed small sizes. Run it under callgrind with two
 * CALLS and divide the difference by the difference: instructions per call.
 * FUNCTION is one of
 *   none                 the loop alone (subtract it)
 *   malloc_usable_size   the block's size, any allocator
 *   mi_usable_size       mimalloc's own name for it
 *   sallocx              jemalloc's size of an allocated block (flags 0)
 *   nallocx              jemalloc's size class of a request (no block: what an allocation could count)
 *   mi_good_size         mimalloc's size class of a request
 *   glibc_chunk          glibc's chunk header read in place (its size less the size field): the floor
 *   mimalloc_page        mimalloc 2.0.9's page read in place, as libmemproxy's block_size.hpp reads it
 *                        (the page from the segment and slice, its aligned flag, its block size)
 * The function is looked up in the preloaded allocator (LD_PRELOAD); the
 * program prints the sum of the sizes, so nothing is optimised away. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { kSlots = 4096 };
static const unsigned kSizes[16] = {16, 16, 24, 32, 32, 48, 64, 64, 80, 96, 128, 160, 256, 384, 512, 1024};

static size_t none(void* p) { return (uintptr_t)p & 1; }
static size_t glibc_chunk(void* p) { return (((const size_t*)p)[-1] & ~(size_t)7) - sizeof(size_t); }
static size_t mimalloc_page(void* p) {
  uintptr_t a = (uintptr_t)p, segment = (a - 1) & ~(((uintptr_t)1 << 25) - 1);
  uintptr_t slice = segment + 0x108 + ((a - segment) >> 16) * 80;
  uintptr_t page = slice - *(const uint32_t*)(slice + 4);
  uint32_t size = *(const uint32_t*)(page + 28);
  if ((*(const uint8_t*)(page + 14) & 2) != 0 || size >= 0x80000000u) abort(); /* asked instead: not in this ring */
  return size;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s FUNCTION CALLS\n", argv[0]);
    return 2;
  }
  const char* name = argv[1];
  long calls = atol(argv[2]);
  void* ring[kSlots];
  unsigned requested[kSlots];
  for (int i = 0; i < kSlots; i++) {
    requested[i] = kSizes[(i * 7) & 15];
    ring[i] = malloc(requested[i]);
  }
  size_t (*of_block)(void*) = NULL;
  size_t (*of_block_flags)(void*, int) = NULL;
  size_t (*of_request)(size_t) = NULL;
  size_t (*of_request_flags)(size_t, int) = NULL;
  if (!strcmp(name, "none")) {
    of_block = none;
  } else if (!strcmp(name, "glibc_chunk")) {
    of_block = glibc_chunk;
  } else if (!strcmp(name, "mimalloc_page")) {
    of_block = mimalloc_page;
  } else if (!strcmp(name, "sallocx")) {
    of_block_flags = (size_t(*)(void*, int))dlsym(RTLD_DEFAULT, name);
  } else if (!strcmp(name, "nallocx")) {
    of_request_flags = (size_t(*)(size_t, int))dlsym(RTLD_DEFAULT, name);
  } else if (!strcmp(name, "mi_good_size")) {
    of_request = (size_t(*)(size_t))dlsym(RTLD_DEFAULT, name);
  } else {
    of_block = (size_t(*)(void*))dlsym(RTLD_DEFAULT, name);
  }
  if (!of_block && !of_block_flags && !of_request && !of_request_flags) {
    fprintf(stderr, "%s: %s is not in the preloaded allocator\n", argv[0], name);
    return 1;
  }
  size_t sum = 0;
  for (long i = 0; i < calls; i++) {
    unsigned slot = (unsigned)(i * 2654435761u) & (kSlots - 1);
    if (of_block) {
      sum += of_block(ring[slot]);
    } else if (of_block_flags) {
      sum += of_block_flags(ring[slot], 0);
    } else if (of_request) {
      sum += of_request(requested[slot]);
    } else {
      sum += of_request_flags(requested[slot], 0);
    }
  }
  printf("%zu\n", sum);
  for (int i = 0; i < kSlots; i++) free(ring[i]);
  return 0;
}
