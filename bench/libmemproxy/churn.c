/* memproxy-churn THREADS ITERATIONS
 * Allocator churn: each thread keeps a ring of live blocks and, per iteration,
 * frees one at a random slot and mallocs a replacement of a mixed small size
 * (16..1024 bytes, skewed small as in real programs), touching one byte so
 * the block is really used. Prints ns per free+malloc pair (wall time over
 * all pairs of all threads) on stdout. The random sequence is fixed, so every
 * variant of a comparison performs exactly the same calls. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { kSlots = 4096 };

static long iterations;
static pthread_barrier_t start;

static const unsigned kSizes[16] = {16, 16, 24, 32, 32, 48, 64, 64, 80, 96, 128, 160, 256, 384, 512, 1024};

static void* worker(void* arg) {
  uint64_t x = 0x9e3779b97f4a7c15ull ^ (uintptr_t)arg;
  void* ring[kSlots];
  for (int i = 0; i < kSlots; i++) ring[i] = malloc(kSizes[i & 15]);
  pthread_barrier_wait(&start);
  for (long i = 0; i < iterations; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    unsigned slot = (unsigned)x & (kSlots - 1);
    free(ring[slot]);
    char* p = malloc(kSizes[(x >> 20) & 15]);
    p[0] = (char)i;
    ring[slot] = p;
  }
  pthread_barrier_wait(&start);
  for (int i = 0; i < kSlots; i++) free(ring[i]);
  return NULL;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s THREADS ITERATIONS\n", argv[0]);
    return 2;
  }
  int threads = atoi(argv[1]);
  iterations = atol(argv[2]);
  if (threads < 1 || threads > 64 || iterations < 1) return 2;
  pthread_t tid[64];
  pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
  for (int t = 0; t < threads; t++) pthread_create(&tid[t], NULL, worker, (void*)(uintptr_t)(t + 1));
  pthread_barrier_wait(&start);
  double t0 = now();
  pthread_barrier_wait(&start);
  double t1 = now();
  for (int t = 0; t < threads; t++) pthread_join(tid[t], NULL);
  printf("%.3f\n", (t1 - t0) / ((double)iterations * threads));
  return 0;
}
