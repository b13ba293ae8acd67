/* A program whose heap has three call sites of known lines, for the
   call-site tests: leak_block() leaks 12 KiB every 10 ms (about 1.2 MB/s)
   and never frees; fill_cache() holds 24 MiB from the start, more than
   the leak for its first seconds, and never changes; churn() allocates and
   frees at once. The lines that allocate carry a marker comment the tests
   look for. Prints "ready" once the cache is full, then runs until killed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CACHE_BLOCK 16384
#define CACHE_BLOCKS 1536

static void *cache[CACHE_BLOCKS];

__attribute__((noinline)) static void *leak_block(size_t size) {
  void *p = malloc(size); /* SITE: leak */
  if (p != NULL) memset(p, 1, size);
  return p;
}

__attribute__((noinline)) static void fill_cache(void) {
  for (int i = 0; i < CACHE_BLOCKS; ++i) {
    cache[i] = malloc(CACHE_BLOCK); /* SITE: cache */
    if (cache[i] != NULL) memset(cache[i], 2, CACHE_BLOCK);
  }
}

__attribute__((noinline)) static void churn(void) {
  for (int i = 0; i < 16; ++i) {
    void *volatile p = malloc(4096 + 64 * (size_t)i); /* SITE: churn */
    free(p);
  }
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  fill_cache();
  printf("ready\n");
  const struct timespec pause = {0, 10 * 1000 * 1000};
  for (;;) {
    for (int i = 0; i < 3; ++i) {
      void *volatile kept = leak_block(4096);
      (void)kept;
    }
    churn();
    nanosleep(&pause, NULL);
  }
}
