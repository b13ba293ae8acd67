/* memproxy-alloc-workloads MODE THREADS OPERATIONS [wait]
 * Allocation patterns in the manner of mimalloc-bench's, for comparing
 * variants of the same process (sampling on or off, the trace ring on or
 * off): the random sequences are fixed, so every variant makes the same
 * calls. Prints ns of CPU time per operation (the threads' own CPU clocks,
 * summed) on stdout.
 *
 *   larson   server-like: each thread replaces random blocks of 8..1024
 *            bytes in its array, then hands the array to the next thread,
 *            which frees what the previous one made (larson's generations)
 *   mstress  random sizes with a heavy tail (1 in 64 up to 64 KiB, 1 in 4096
 *            up to 1 MiB), random lifetimes, a quarter of the frees made by
 *            another thread, and a realloc in every eight operations
 *   xmalloc  half the threads allocate, the other half free what they made
 *            (every free crosses threads), through a bounded queue
 *
 * With "wait", it prints "ready" once it has allocated and waits for a line
 * on stdin before it starts: time for a tracer to switch its trace on. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long operations;
static int threads;
static double cpu_ns[64];
static pthread_barrier_t barrier;

static double clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t next(uint64_t* x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

/* -- larson ---------------------------------------------------------------- */

enum { kLarsonSlots = 1000, kLarsonRounds = 20 };
static void** larson_arrays[64];

static void* larson(void* arg) {
  int t = (int)(intptr_t)arg;
  uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(t + 1);
  void** mine = calloc(kLarsonSlots, sizeof(void*));
  for (int i = 0; i < kLarsonSlots; ++i) mine[i] = malloc(8 + next(&x) % 1017);
  larson_arrays[t] = mine;
  pthread_barrier_wait(&barrier);
  double c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  long per_round = operations / kLarsonRounds;
  for (int round = 0; round < kLarsonRounds; ++round) {
    void** a = larson_arrays[(t + round) % threads];
    for (long i = 0; i < per_round; ++i) {
      unsigned slot = (unsigned)(next(&x) % kLarsonSlots);
      free(a[slot]);
      char* p = malloc(8 + next(&x) % 1017);
      p[0] = (char)i;
      a[slot] = p;
    }
    /* Every thread moves on to the next array together: the blocks of an
       array are freed by a different thread each round. */
    double paused = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    pthread_barrier_wait(&barrier);
    c0 += clock_ns(CLOCK_THREAD_CPUTIME_ID) - paused;
  }
  cpu_ns[t] = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
  pthread_barrier_wait(&barrier);
  for (int i = 0; i < kLarsonSlots; ++i) free(larson_arrays[t][i]);
  return NULL;
}

/* -- mstress --------------------------------------------------------------- */

enum { kStressSlots = 2048, kShared = 256 };
static void* volatile shared_blocks[kShared];

static size_t stress_size(uint64_t* x) {
  uint64_t r = next(x);
  if ((r & 4095) == 0) return 65536 + (size_t)(r >> 32) % (1 << 20);
  if ((r & 63) == 0) return 1024 + (size_t)(r >> 32) % 65536;
  return 8 + (size_t)(r >> 32) % 512;
}

static void* mstress(void* arg) {
  int t = (int)(intptr_t)arg;
  uint64_t x = 0xd1b54a32d192ed03ull * (uint64_t)(t + 1);
  void** live = calloc(kStressSlots, sizeof(void*));
  pthread_barrier_wait(&barrier);
  double c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  for (long i = 0; i < operations; ++i) {
    unsigned slot = (unsigned)(next(&x) % kStressSlots);
    uint64_t r = next(&x);
    if (live[slot] != NULL && (r & 7) == 0) {
      char* p = realloc(live[slot], stress_size(&x));
      p[0] = 1;
      live[slot] = p;
      continue;
    }
    if ((r & 24) == 0) {
      /* A quarter of the blocks go through the shared pool, where another
         thread may free them. */
      void* old = __atomic_exchange_n(&shared_blocks[(r >> 8) % kShared], live[slot], __ATOMIC_ACQ_REL);
      free(old);
    } else {
      free(live[slot]);
    }
    char* p = malloc(stress_size(&x));
    p[0] = 1;
    live[slot] = p;
  }
  cpu_ns[t] = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
  for (int i = 0; i < kStressSlots; ++i) free(live[i]);
  free(live);
  return NULL;
}

/* -- xmalloc --------------------------------------------------------------- */

enum { kQueue = 4096 };
struct Queue {
  pthread_mutex_t lock;
  pthread_cond_t changed;
  void* blocks[kQueue];
  unsigned head, tail;
};
static struct Queue queues[32];

static void* producer(void* arg) {
  int t = (int)(intptr_t)arg;
  struct Queue* q = &queues[t / 2];
  uint64_t x = 0x2545f4914f6cdd1dull * (uint64_t)(t + 1);
  pthread_barrier_wait(&barrier);
  double c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  void* batch[64];
  for (long i = 0; i < operations; i += 64) {
    for (int b = 0; b < 64; ++b) {
      char* p = malloc(16 + next(&x) % 241);
      p[0] = 1;
      batch[b] = p;
    }
    pthread_mutex_lock(&q->lock);
    while (q->head - q->tail > kQueue - 64) pthread_cond_wait(&q->changed, &q->lock);
    for (int b = 0; b < 64; ++b) q->blocks[q->head++ % kQueue] = batch[b];
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
  }
  cpu_ns[t] = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
  return NULL;
}

static void* consumer(void* arg) {
  int t = (int)(intptr_t)arg;
  struct Queue* q = &queues[t / 2];
  pthread_barrier_wait(&barrier);
  double c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  void* batch[64];
  for (long i = 0; i < operations; i += 64) {
    pthread_mutex_lock(&q->lock);
    while (q->head - q->tail < 64) pthread_cond_wait(&q->changed, &q->lock);
    for (int b = 0; b < 64; ++b) batch[b] = q->blocks[q->tail++ % kQueue];
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
    for (int b = 0; b < 64; ++b) free(batch[b]);
  }
  cpu_ns[t] = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
  return NULL;
}

static void* xmalloc(void* arg) { return ((intptr_t)arg % 2 == 0 ? producer : consumer)(arg); }

int main(int argc, char** argv) {
  if (argc != 4 && !(argc == 5 && !strcmp(argv[4], "wait"))) {
    fprintf(stderr, "usage: %s larson|mstress|xmalloc THREADS OPERATIONS\n", argv[0]);
    return 2;
  }
  threads = atoi(argv[2]);
  operations = atol(argv[3]);
  void* (*body)(void*) = !strcmp(argv[1], "larson")    ? larson
                         : !strcmp(argv[1], "mstress") ? mstress
                         : !strcmp(argv[1], "xmalloc") ? xmalloc
                                                       : NULL;
  if (body == NULL || threads < 1 || threads > 64 || operations < 64 || (body == xmalloc && threads % 2 != 0)) {
    fprintf(stderr, "%s: bad arguments (xmalloc needs an even number of threads)\n", argv[0]);
    return 2;
  }
  for (int i = 0; i < 32; ++i) {
    pthread_mutex_init(&queues[i].lock, NULL);
    pthread_cond_init(&queues[i].changed, NULL);
  }
  if (argc == 5) {
    free(malloc(1));
    printf("ready\n");
    fflush(stdout);
    char line[8];
    if (fgets(line, sizeof line, stdin) == NULL) return 3;
  }
  pthread_barrier_init(&barrier, NULL, (unsigned)threads);
  pthread_t tid[64];
  for (int t = 0; t < threads; ++t) pthread_create(&tid[t], NULL, body, (void*)(intptr_t)t);
  for (int t = 0; t < threads; ++t) pthread_join(tid[t], NULL);
  double total = 0;
  for (int t = 0; t < threads; ++t) total += cpu_ns[t];
  /* xmalloc: an operation is a malloc and its free, made by two threads. */
  long ops = body == xmalloc ? operations / 64 * 64 * (threads / 2) : operations * threads;
  printf("%.2f\n", total / (double)ops);
  return 0;
}
