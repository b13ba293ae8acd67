/* memproxy-leak-sites SECONDS RATE_KIB
 * Three call sites that leak at 1:2:4 while a fourth churns, for measuring
 * how fast sampled attribution converges at a given sampling mean. Every
 * 10 ms the sites together leak RATE_KIB * 10 / 1000 KiB in blocks of mixed
 * sizes (16 bytes to 64 KiB, skewed small as in real programs; each site
 * its own mix), and churn allocates and frees as much again. Once a second
 * it prints, on one line, the seconds elapsed and each site's usable bytes:
 *   t=1 leak_a=... leak_b=... leak_c=... site_a=0x... site_b=0x... site_c=0x...
 * (the sites' function addresses, to attribute samples by their first
 * frame). */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* Mostly small, some medium, a few large: a power-law-like mix. */
static size_t size_small_skewed(void) {
  uint64_t r = next();
  if ((r & 255) == 0) return 4096 + (size_t)(r >> 40) % 61440;
  if ((r & 15) == 0) return 256 + (size_t)(r >> 40) % 3840;
  return 16 + (size_t)(r >> 40) % 240;
}
static size_t size_medium(void) { return 512 + (size_t)(next() >> 40) % 7680; }

static size_t leaked[3];

__attribute__((noinline)) static void site_a(size_t budget) {
  for (size_t done = 0; done < budget;) {
    void* p = malloc(size_medium());
    done += malloc_usable_size(p);
    leaked[0] += malloc_usable_size(p);
  }
}
__attribute__((noinline)) static void site_b(size_t budget) {
  for (size_t done = 0; done < budget;) {
    void* p = malloc(size_small_skewed());
    done += malloc_usable_size(p);
    leaked[1] += malloc_usable_size(p);
  }
}
__attribute__((noinline)) static void site_c(size_t budget) {
  for (size_t done = 0; done < budget;) {
    void* p = calloc(1, size_small_skewed());
    done += malloc_usable_size(p);
    leaked[2] += malloc_usable_size(p);
  }
}
__attribute__((noinline)) static void churn(size_t budget) {
  for (size_t done = 0; done < budget;) {
    void* volatile p = malloc(size_small_skewed());
    done += malloc_usable_size(p);
    free(p);
  }
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s SECONDS RATE_KIB\n", argv[0]);
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  int seconds = atoi(argv[1]);
  size_t per_tick = (size_t)atol(argv[2]) * 1024 / 100; /* 100 ticks a second */
  struct timespec tick = {0, 10 * 1000 * 1000};
  for (int t = 1; t <= seconds; ++t) {
    for (int i = 0; i < 100; ++i) {
      site_a(per_tick / 7);
      site_b(per_tick * 2 / 7);
      site_c(per_tick * 4 / 7);
      churn(per_tick);
      nanosleep(&tick, NULL);
    }
    printf("t=%d leak_a=%zu leak_b=%zu leak_c=%zu site_a=%p site_b=%p site_c=%p\n", t, leaked[0], leaked[1],
           leaked[2], (void*)&site_a, (void*)&site_b, (void*)&site_c);
  }
  return 0;
}
