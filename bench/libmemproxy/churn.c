/* memproxy-churn THREADS ITERATIONS [HELD_MIB]
 * Allocator churn: each thread keeps a ring of live blocks and, per iteration,
 * frees one at a random slot and mallocs a replacement of a mixed small size
 * (16..1024 bytes, skewed small as in real programs), touching one byte so
 * the block is really used. Prints two numbers on stdout: ns of CPU time per
 * free+malloc pair (each thread's CLOCK_THREAD_CPUTIME_ID, summed over the
 * threads) and ns of wall time per pair (over all pairs of all threads).
 * CPU time leaves out the time the threads sat preempted, which on a shared
 * machine is most of the noise. The random sequence is fixed, so every
 * variant of a comparison performs exactly the same calls. With HELD_MIB,
 * main first makes that many MiB of 1000-byte blocks and holds them to the
 * end, as a service's large heap: the pairs then run beside it (a monitored
 * process's live samples are in proportion to its live bytes). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { kSlots = 4096 };

static long iterations;
static pthread_barrier_t start;
static double cpu_ns[64];

static double clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static const unsigned kSizes[16] = {16, 16, 24, 32, 32, 48, 64, 64, 80, 96, 128, 160, 256, 384, 512, 1024};

static void* worker(void* arg) {
  uint64_t x = 0x9e3779b97f4a7c15ull ^ (uintptr_t)arg;
  void* ring[kSlots];
  for (int i = 0; i < kSlots; i++) ring[i] = malloc(kSizes[i & 15]);
  pthread_barrier_wait(&start);
  double c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
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
  cpu_ns[(uintptr_t)arg - 1] = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
  pthread_barrier_wait(&start);
  for (int i = 0; i < kSlots; i++) free(ring[i]);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: %s THREADS ITERATIONS [HELD_MIB]\n", argv[0]);
    return 2;
  }
  int threads = atoi(argv[1]);
  iterations = atol(argv[2]);
  long held_mib = argc == 4 ? atol(argv[3]) : 0;
  if (threads < 1 || threads > 64 || iterations < 1 || held_mib < 0) return 2;
  for (long i = 0; i < held_mib * 1024 * 1024 / 1000; i++) {
    char* held = malloc(1000);
    if (held == NULL) return 3;
    held[0] = 1;
  }
  pthread_t tid[64];
  pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
  for (int t = 0; t < threads; t++) pthread_create(&tid[t], NULL, worker, (void*)(uintptr_t)(t + 1));
  pthread_barrier_wait(&start);
  double t0 = clock_ns(CLOCK_MONOTONIC);
  pthread_barrier_wait(&start);
  double t1 = clock_ns(CLOCK_MONOTONIC);
  double cpu = 0;
  for (int t = 0; t < threads; t++) {
    pthread_join(tid[t], NULL);
    cpu += cpu_ns[t];
  }
  double pairs = (double)iterations * threads;
  printf("%.3f %.3f\n", cpu / pairs, (t1 - t0) / pairs);
  return 0;
}
