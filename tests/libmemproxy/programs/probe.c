/* The C test program of the libmemproxy integration tests. One mode per argv[1]:
   route    allocate 64 x 1000 bytes with malloc, report who served them
   abi      the allocator ABI semantics, as normalised lines to compare across backends
   storm    threads started by a constructor allocate while main forks allocating children
   maps     whether libstdc++ is mapped
   secure   AT_SECURE and the backend
   env      the MEMPROXY_* variables in the environment, one per line
   heap BYTES BLOCK  holds BYTES in BLOCK-byte blocks, stops itself (SIGSTOP) for the test to
                  read its heap account, frees every other block, stops again, frees the rest,
                  stops again; prints held=N (the usable bytes it holds), requested=N (the
                  bytes it asked for) and blocks=N before each stop
   heap-threads   the same three stops, with the blocks made by 8 threads, half freed by main,
                  then 8 new threads that first free and then allocate (cross-thread frees,
                  threads that start by freeing, slots taken over by new threads)
   heap-churn     8 MiB through calloc, realloc, posix_memalign and malloc, every block freed
                  at once, in eight threads one after another (glibc gives each the last
                  one's stack, so they share a thread pointer), then in main; one stop with
                  held=0 and whether the threads shared their thread pointer (same_tp=1).
                  With MP_PROBE_NO_KEYS=1 every pthread key is taken before any
                  initialiser runs (keys=N says how many), so memproxy's decision finds none
   heap-handoff   one thread makes 64 MiB of 1000-byte blocks and hands them through a ring
                  of 256 to a second thread, which only frees them, both alive throughout
                  (the heap never holds more than 258 blocks); then one stop with held=0
   thread-waves   6 waves of 100 threads alive at once, each wave's stacks larger than the
                  last's (glibc cannot reuse the dead threads' stacks, so the thread
                  pointers are new), each keeping one 1000-byte block and churning others;
                  then one stop with held=N (more threads than the account has slots,
                  never more than 101 at a time)
   thread-crowd   300 threads alive at once (more than the account has slots), each
                  churning blocks and keeping one 1000-byte block as in thread-waves;
                  then one stop with held=N
   heap-fork      holds 4 MB in 1000-byte blocks, forks; the child holds 8 MB more, prints
                  child=PID held=N (what it allocated since the fork) and stops itself; the
                  parent, once the child stopped, prints parent held=N and stops itself
   deepbind LIB   free()/realloc() blocks that a RTLD_DEEPBIND library got from libc
   exec NAME...   execv(NAME, ...): a new process, a new decision
   fork     the child reports its backend and allocations
   bootblocks LIB free/realloc/size the blocks LIB's constructor got from the
                  bootstrap arena while the decision dlopened it (bootlib.c) */
#include "probe_support.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kBlocks = 64, kBlockSize = 1000 };

static int route(void) {
  void *blocks[kBlocks];
  struct mp_snapshot a = mp_snap();
  for (int i = 0; i < kBlocks; ++i) {
    blocks[i] = malloc(kBlockSize);
    memset(blocks[i], i, kBlockSize);
  }
  struct mp_snapshot b = mp_snap();
  mp_report("c", a, b, blocks[0]);
  for (int i = 0; i < kBlocks; ++i) free(blocks[i]);
  return 0;
}

/* Sizes hidden from the compiler, which would otherwise fold the calls. */
static size_t opaque(size_t v) {
  volatile size_t x = v;
  return x;
}

#define SHOW(fmt, ...) printf(fmt "\n", __VA_ARGS__)

static int aligned_to(const void *p, size_t a) { return p != NULL && ((uintptr_t)p % a) == 0; }

static int abi(void) {
  long page = sysconf(_SC_PAGESIZE);
  void *p;
  int r;

  errno = 0; p = malloc(0); SHOW("malloc(0) nonnull=%d", p != NULL); free(p);
  errno = 0; p = malloc(opaque(SIZE_MAX)); SHOW("malloc(max) null=%d errno=%d", p == NULL, errno);
  errno = 0; p = malloc(opaque(SIZE_MAX / 2 + 1)); SHOW("malloc(max/2+1) null=%d errno=%d", p == NULL, errno);
  errno = 0; p = calloc(opaque(SIZE_MAX / 2), 3); SHOW("calloc(overflow) null=%d errno=%d", p == NULL, errno);
  errno = 0; p = calloc(0, 0); SHOW("calloc(0,0) nonnull=%d", p != NULL); free(p);
  p = calloc(100, 10); { int zero = 1; for (int i = 0; i < 1000; ++i) zero &= ((char *)p)[i] == 0; SHOW("calloc zeroed=%d", zero); } free(p);
  errno = 0; p = realloc(NULL, 10); SHOW("realloc(NULL,10) nonnull=%d usable>=10=%d", p != NULL, malloc_usable_size(p) >= 10);
  memset(p, 7, 10); p = realloc(p, 100000); SHOW("realloc grow kept=%d", ((char *)p)[9] == 7);
  errno = 0; void *q = realloc(p, 0); SHOW("realloc(p,0) null=%d errno=%d", q == NULL, errno); if (q) free(q);
  errno = 0; p = realloc(NULL, 0); SHOW("realloc(NULL,0) nonnull=%d", p != NULL); free(p);
  p = malloc(10); errno = 0; q = realloc(p, opaque(SIZE_MAX)); SHOW("realloc(p,max) null=%d errno=%d", q == NULL, errno); free(q ? q : p);
  errno = 0; p = reallocarray(NULL, opaque(SIZE_MAX / 2), 3); SHOW("reallocarray(overflow) null=%d errno=%d", p == NULL, errno);
  errno = 0; p = reallocarray(NULL, 10, 10); SHOW("reallocarray(10,10) usable>=100=%d", malloc_usable_size(p) >= 100); free(p);
  SHOW("malloc_usable_size(NULL)=%zu", malloc_usable_size(NULL));
  for (size_t n = 1; n <= 1 << 20; n *= 7) { p = malloc(n); SHOW("usable(%zu)>=n=%d", n, malloc_usable_size(p) >= n); free(p); }

  static const size_t alignments[] = {0, 1, 2, 3, 8, 16, 24, 32, 48, 64, 4096, 65536};
  for (size_t i = 0; i < sizeof alignments / sizeof alignments[0]; ++i) {
    size_t a = alignments[i];
    size_t want = 1;
    while (want < a) want <<= 1;
    errno = 0; p = memalign(a, 100); SHOW("memalign(%zu) ok=%d aligned=%d errno=%d", a, p != NULL, aligned_to(p, want), errno); free(p);
    errno = 0; p = aligned_alloc(a, 128); SHOW("aligned_alloc(%zu) ok=%d aligned=%d errno=%d", a, p != NULL, aligned_to(p, want), errno); free(p);
    p = NULL; errno = 0; r = posix_memalign(&p, a, 100); SHOW("posix_memalign(%zu) r=%d aligned=%d untouched=%d", a, r, r == 0 && aligned_to(p, a), r != 0 && p == NULL); free(p);
  }
  /* Every alignment 16..4096 with sizes around it, three times each (an
     allocator's first block of a size may differ from the next). */
  for (size_t a = 16; a <= 4096; a *= 2) {
    static const size_t factors[] = {1, 2, 3, 8};
    int ok_memalign = 1, ok_posix = 1, ok_aligned_alloc = 1;
    for (size_t f = 0; f < sizeof factors / sizeof factors[0]; ++f) {
      for (int rep = 0; rep < 3; ++rep) {
        size_t n = opaque(a * factors[f]);
        p = memalign(a, n); ok_memalign &= aligned_to(p, a); free(p);
        p = NULL; r = posix_memalign(&p, a, n); ok_posix &= r == 0 && aligned_to(p, a); free(p);
        p = aligned_alloc(a, n); ok_aligned_alloc &= aligned_to(p, a); free(p);
      }
    }
    SHOW("align %zu: memalign=%d posix_memalign=%d aligned_alloc=%d", a, ok_memalign, ok_posix, ok_aligned_alloc);
  }
  errno = 0; p = memalign(opaque(SIZE_MAX / 2 + 2), 10); SHOW("memalign(huge alignment) null=%d errno=%d", p == NULL, errno);
  errno = 0; p = memalign(64, opaque(SIZE_MAX - 100)); SHOW("memalign(64,huge) null=%d errno=%d", p == NULL, errno);
  p = NULL; r = posix_memalign(&p, 64, opaque(SIZE_MAX - 100)); SHOW("posix_memalign(64,huge) r=%d", r);
  errno = 0; p = valloc(10); SHOW("valloc(10) aligned=%d usable>=10=%d", aligned_to(p, page), malloc_usable_size(p) >= 10); free(p);
  errno = 0; p = pvalloc(1); SHOW("pvalloc(1) aligned=%d usable>=page=%d", aligned_to(p, page), malloc_usable_size(p) >= (size_t)page); free(p);
  errno = 0; p = pvalloc(page + 1); SHOW("pvalloc(page+1) usable>=2page=%d", malloc_usable_size(p) >= 2 * (size_t)page); free(p);
  errno = 0; p = pvalloc(opaque(SIZE_MAX - 10)); SHOW("pvalloc(max) null=%d errno=%d", p == NULL, errno);
  errno = 0; p = valloc(opaque(SIZE_MAX - 10)); SHOW("valloc(max) null=%d errno=%d", p == NULL, errno);
  free(NULL);
  SHOW("free(NULL) ok=%d", 1);
  return 0;
}

enum { kStormThreads = 16, kStormChildren = 6, kStormRounds = 3000 };
static pthread_t storm_threads[kStormThreads];
static int storm_enabled;

static void *storm_worker(void *arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  void *slots[32] = {0};
  for (int i = 0; i < kStormRounds; ++i) {
    seed = seed * 1103515245u + 12345u;
    int s = (seed >> 8) % 32;
    free(slots[s]);
    slots[s] = (seed & 1) ? malloc((seed >> 12) % 4096 + 1) : calloc(1, (seed >> 12) % 512 + 1);
    if (slots[s]) ((char *)slots[s])[0] = 1;
  }
  for (int s = 0; s < 32; ++s) free(slots[s]);
  return NULL;
}

__attribute__((constructor)) static void storm_constructor(void) {
  const char *mode = getenv("MP_PROBE_STORM");
  if (!mode || strcmp(mode, "1") != 0) return;
  storm_enabled = 1;
  for (int i = 0; i < kStormThreads; ++i) pthread_create(&storm_threads[i], NULL, storm_worker, (void *)(uintptr_t)(i + 1));
}

static int storm(void) {
  if (!storm_enabled) return 2;
  pid_t children[kStormChildren];
  for (int i = 0; i < kStormChildren; ++i) {
    children[i] = fork();
    if (children[i] == 0) {
      char *p = malloc(1000 + i);
      memset(p, 1, 1000 + i);
      p = realloc(p, 50000);
      free(p);
      _exit(0);
    }
  }
  int failed = 0;
  for (int i = 0; i < kStormChildren; ++i) {
    int status = 0;
    if (children[i] < 0 || waitpid(children[i], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
  }
  for (int i = 0; i < kStormThreads; ++i) pthread_join(storm_threads[i], NULL);
  printf("storm failed=%d backend=%s\n", failed, mp_backend());
  return failed;
}

static int maps(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[4096];
  int stdcxx = 0, memproxy = 0;
  while (f && fgets(line, sizeof line, f)) {
    stdcxx |= strstr(line, "libstdc++") != NULL;
    memproxy |= strstr(line, "libmemproxy") != NULL;
  }
  if (f) fclose(f);
  printf("libstdcxx=%d\nlibmemproxy=%d\n", stdcxx, memproxy);
  return 0;
}

static int secure(void) {
  void *p = malloc(100);
  printf("at_secure=%lu\nbackend=%s\n", getauxval(AT_SECURE), mp_backend());
  free(p);
  return 0;
}

static void held_and_stop(size_t held) {
  printf("held=%zu\n", held);
  fflush(stdout);
  raise(SIGSTOP);
}

/* Also the bytes asked for and the blocks held: what the program knows of
   its heap without asking the allocator (or libmemproxy) anything. */
static void held_requested_and_stop(size_t held, size_t requested, size_t blocks) {
  printf("held=%zu requested=%zu blocks=%zu\n", held, requested, blocks);
  fflush(stdout);
  raise(SIGSTOP);
}

/* A null pointer the compiler cannot see, so that free(NULL) is called. */
static void *volatile no_block = NULL;

static int heap(size_t total, size_t block) {
  size_t n = total / block;
  void **blocks = calloc(n, sizeof *blocks);
  size_t held = malloc_usable_size(blocks);
  size_t requested = n * sizeof *blocks;
  for (size_t i = 0; i < n; ++i) {
    blocks[i] = malloc(block);
    memset(blocks[i], 1, block);
    held += malloc_usable_size(blocks[i]);
    requested += block;
  }
  held_requested_and_stop(held, requested, n + 1);
  size_t kept = n + 1;
  for (size_t i = 0; i < n; i += 2) {
    held -= malloc_usable_size(blocks[i]);
    free(blocks[i]);
    free(no_block); /* no call of the account's: its count of frees stays exact */
    requested -= block;
    --kept;
  }
  held_requested_and_stop(held, requested, kept);
  for (size_t i = 1; i < n; i += 2) free(blocks[i]);
  free(blocks);
  held_requested_and_stop(0, 0, 0);
  return 0;
}

/* Blocks of every kind an allocator hands out: small to huge (an mmapped
   chunk, a huge page), aligned from 16 bytes to 64 KiB by each aligned
   call, zeroed, and resized up and down, and a block of every size up to
   1040 bytes by malloc and by calloc. Stops before making them (held=0),
   holding them (what malloc_usable_size says they hold), then again after
   freeing them all: between the stops the program gains, then frees,
   exactly that many usable bytes. With `lib`, first loads it with
   RTLD_DEEPBIND and frees one of its blocks (libc's), as a program does
   with a deepbound library's strings. */
static int heap_kinds(const char *lib) {
  if (lib != NULL) {
    void *h = dlopen(lib, RTLD_NOW | RTLD_DEEPBIND);
    char *(*dup)(const char *) = h ? (char *(*)(const char *))dlsym(h, "mp_deep_strdup") : NULL;
    if (dup == NULL) return 4;
    free(dup("deepbound"));
  }
  held_and_stop(0);
  static const size_t sizes[] = {1, 8, 24, 100, 1000, 5000, 40000, 200000, 1u << 20, 20u << 20};
  static const size_t alignments[] = {16, 32, 64, 256, 4096, 65536};
  static const size_t aligned_sizes[] = {24, 3000, 100000};
  void *blocks[64];
  size_t n = 0;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) blocks[n++] = malloc(sizes[i]);
  for (size_t i = 0; i < sizeof alignments / sizeof alignments[0]; ++i) {
    for (size_t j = 0; j < sizeof aligned_sizes / sizeof aligned_sizes[0]; ++j) {
      void *p = NULL;
      switch ((i + j) % 3) {
        case 0: p = aligned_alloc(alignments[i], aligned_sizes[j]); break;
        case 1: p = memalign(alignments[i], aligned_sizes[j]); break;
        default:
          if (posix_memalign(&p, alignments[i], aligned_sizes[j]) != 0) p = NULL;
          break;
      }
      blocks[n++] = p;
    }
  }
  blocks[n++] = calloc(100, 33);
  blocks[n++] = calloc(1000, 1000);
  void *grown = malloc(10);
  grown = realloc(grown, 3000);
  grown = realloc(grown, 200000);
  blocks[n++] = realloc(grown, 50);
  blocks[n++] = realloc(NULL, 700);
  enum { kSmallSizes = 1041 };
  static void *small[2 * kSmallSizes];
  for (size_t i = 0; i < kSmallSizes; ++i) {
    small[2 * i] = malloc(i);
    small[2 * i + 1] = calloc(i % 2 ? 1 : i, i % 2 ? i : 1);
  }
  size_t held = 0;
  for (size_t i = 0; i < n; ++i) {
    if (blocks[i] == NULL) return 3;
    memset(blocks[i], 1, 8);
    held += malloc_usable_size(blocks[i]);
  }
  for (size_t i = 0; i < 2 * kSmallSizes; ++i) {
    if (small[i] == NULL && i >= 2) return 3; /* malloc(0) and calloc(0, 1) may give none */
    held += small[i] != NULL ? malloc_usable_size(small[i]) : 0;
  }
  held_and_stop(held);
  for (size_t i = 0; i < 2 * kSmallSizes; ++i) free(small[i]);
  /* Every third block goes by realloc(p, 0), which frees p (glibc's
     semantics, which memproxy gives every backend) and returns NULL. */
  for (size_t i = 0; i < n; ++i) {
    if (i % 3 != 0) {
      free(blocks[i]);
    } else if (realloc(blocks[i], 0) != NULL) {
      return 5;
    }
  }
  held_and_stop(0);
  return 0;
}

/* Whether glibc still mmaps a block of 200,000 bytes: its default mmap
   threshold is 128 KiB, and freeing a larger mmapped chunk (below 32 MiB)
   raises it. glibc marks an mmapped chunk in its size word (bit 1). */
static int mmap_threshold(void) {
  void *p = malloc(200000);
  uintptr_t chunk = (uintptr_t)p - sizeof(size_t);
  __asm__("" : "+r"(chunk)); /* the word before the block is glibc's, not outside it */
  printf("mmapped_200k=%d backend=%s\n", p != NULL && (*(const size_t *)chunk & 2) != 0, mp_backend());
  free(p);
  return 0;
}

enum { kHeapThreads = 8, kPerThread = 2000, kBlockBytes = 700 };
static void *heap_blocks[kHeapThreads * kPerThread * 2];

static void *heap_maker(void *arg) {
  size_t t = (size_t)(uintptr_t)arg;
  for (size_t i = 0; i < kPerThread; ++i) heap_blocks[t * kPerThread + i] = malloc(kBlockBytes);
  return NULL;
}

/* Frees thread t's share of the odd blocks, then allocates a new block for each. */
static void *heap_churner(void *arg) {
  size_t t = (size_t)(uintptr_t)arg;
  for (size_t i = t * kPerThread; i < (t + 1) * kPerThread; ++i) {
    if (i % 2 == 1) {
      free(heap_blocks[i]);
      heap_blocks[i] = NULL;
    }
  }
  for (size_t i = t * kPerThread; i < (t + 1) * kPerThread; i += 2) {
    heap_blocks[kHeapThreads * kPerThread + i] = malloc(kBlockBytes * 2);
  }
  return NULL;
}

static size_t heap_held(void) {
  size_t held = 0;
  for (size_t i = 0; i < sizeof heap_blocks / sizeof heap_blocks[0]; ++i) {
    if (heap_blocks[i]) held += malloc_usable_size(heap_blocks[i]);
  }
  return held;
}

static void run_threads(void *(*body)(void *)) {
  pthread_t threads[kHeapThreads];
  for (size_t t = 0; t < kHeapThreads; ++t) pthread_create(&threads[t], NULL, body, (void *)(uintptr_t)t);
  for (size_t t = 0; t < kHeapThreads; ++t) pthread_join(threads[t], NULL);
}

/* 8 MiB through each kind of call that hands out a block (calloc,
   realloc, posix_memalign, malloc), each block freed at once: the heap
   never holds more than two of them. */
static void *churn_every_call(void *arg) {
  (void)arg;
  for (int i = 0; i < 8192; ++i) {
    free(calloc(1, 1000));
    void *p = malloc(500);
    void *q = realloc(p, 1000);
    free(q ? q : p);
    void *r = NULL;
    if (posix_memalign(&r, 64, 1000) == 0) free(r);
    free(malloc(1000));
  }
  return NULL;
}

static int keys_taken;
int mallctl(const char *name, void *old, size_t *old_size, void *new_value, size_t new_size) __attribute__((weak));

/* Before every initialiser (the executable's preinit array), so before
   the first allocation and so before memproxy's decision: a process that
   used up its pthread keys early. jemalloc, when preloaded, is started
   first (asked its version directly), so that it has the key it cannot
   work without. */
static void take_every_key(int argc, char **argv, char **envp) {
  (void)argc;
  (void)argv;
  for (char **e = envp; *e; ++e) {
    if (strcmp(*e, "MP_PROBE_NO_KEYS=1") != 0) continue;
    if (mallctl) {
      const char *version = NULL;
      size_t size = sizeof version;
      mallctl("version", &version, &size, NULL, 0);
    }
    pthread_key_t key;
    while (pthread_key_create(&key, NULL) == 0) ++keys_taken;
  }
}
__attribute__((section(".preinit_array"), used)) static void (*const take_keys_first)(int, char **, char **) =
    take_every_key;

/* The churn in eight threads one after another (each exits before the
   next starts), then in the main thread. */
static int heap_churn(void) {
  pthread_t first = 0;
  int same_tp = 1;
  for (int t = 0; t < 8; ++t) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, churn_every_call, NULL) != 0) return 1;
    if (t == 0) first = thread;
    same_tp &= pthread_equal(thread, first) != 0;
    pthread_join(thread, NULL);
  }
  churn_every_call(NULL);
  printf("held=0 same_tp=%d keys=%d\n", same_tp, keys_taken);
  fflush(stdout);
  raise(SIGSTOP);
  return 0;
}

static int heap_threads(void) {
  run_threads(heap_maker);
  held_and_stop(heap_held());
  for (size_t i = 0; i < kHeapThreads * kPerThread; i += 2) {
    free(heap_blocks[i]);
    heap_blocks[i] = NULL;
  }
  run_threads(heap_churner);
  held_and_stop(heap_held());
  for (size_t i = 0; i < sizeof heap_blocks / sizeof heap_blocks[0]; ++i) free(heap_blocks[i]);
  memset(heap_blocks, 0, sizeof heap_blocks);
  held_and_stop(0);
  return 0;
}

enum { kHandoffRing = 256, kHandoffBlocks = 64 << 10 };
static _Atomic(void *) handoff_ring[kHandoffRing];

static void *handoff_freer(void *arg) {
  (void)arg;
  for (size_t i = 0; i < kHandoffBlocks; ++i) {
    void *p;
    while ((p = atomic_exchange(&handoff_ring[i % kHandoffRing], NULL)) == NULL) sched_yield();
    free(p);
  }
  return NULL;
}

/* A thread that frees what another allocates, both alive: the freeing
   thread never allocates, so its frees reach the live balance only
   through its own free events (a thread's exit would fold them in too
   late for the peak). */
static int heap_handoff(void) {
  pthread_t freer;
  if (pthread_create(&freer, NULL, handoff_freer, NULL) != 0) return 1;
  for (size_t i = 0; i < kHandoffBlocks; ++i) {
    void *p = malloc(opaque(1000));
    if (p == NULL) return 1;
    while (atomic_load(&handoff_ring[i % kHandoffRing]) != NULL) sched_yield();
    atomic_store(&handoff_ring[i % kHandoffRing], p);
  }
  pthread_join(freer, NULL);
  held_and_stop(0);
  return 0;
}

enum { kWaves = 6, kWaveThreads = 100 };
static void *wave_blocks[kWaves * kWaveThreads];
static pthread_barrier_t wave_barrier;

static void *wave_thread(void *arg) {
  size_t i = (size_t)(uintptr_t)arg;
  pthread_barrier_wait(&wave_barrier);  /* the whole wave is alive at once */
  for (int k = 0; k < 100; ++k) free(malloc(64 + (size_t)k * 8));
  wave_blocks[i] = malloc(1000);
  pthread_barrier_wait(&wave_barrier);
  return NULL;
}

static int thread_waves(void) {
  for (size_t w = 0; w < kWaves; ++w) {
    pthread_t threads[kWaveThreads];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, (w + 1) * 512 * 1024);
    pthread_barrier_init(&wave_barrier, NULL, kWaveThreads);
    for (size_t t = 0; t < kWaveThreads; ++t) {
      if (pthread_create(&threads[t], &attr, wave_thread, (void *)(uintptr_t)(w * kWaveThreads + t)) != 0) return 1;
    }
    pthread_attr_destroy(&attr);
    for (size_t t = 0; t < kWaveThreads; ++t) pthread_join(threads[t], NULL);
    pthread_barrier_destroy(&wave_barrier);
  }
  size_t held = 0;
  for (size_t i = 0; i < kWaves * kWaveThreads; ++i) held += malloc_usable_size(wave_blocks[i]);
  held_and_stop(held);
  return 0;
}

enum { kCrowdThreads = 300 };

static int thread_crowd(void) {
  pthread_t threads[kCrowdThreads];
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);  /* 300 default stacks would crowd a 32-bit address space */
  pthread_barrier_init(&wave_barrier, NULL, kCrowdThreads);
  for (size_t t = 0; t < kCrowdThreads; ++t) {
    if (pthread_create(&threads[t], &attr, wave_thread, (void *)(uintptr_t)t) != 0) return 1;
  }
  pthread_attr_destroy(&attr);
  for (size_t t = 0; t < kCrowdThreads; ++t) pthread_join(threads[t], NULL);
  pthread_barrier_destroy(&wave_barrier);
  size_t held = 0;
  for (size_t i = 0; i < kCrowdThreads; ++i) held += malloc_usable_size(wave_blocks[i]);
  held_and_stop(held);
  return 0;
}

extern char **environ;
static int env(void) {
  int n = 0;
  for (char **e = environ; *e; ++e) {
    if (strncmp(*e, "MEMPROXY_", 9) == 0) {
      printf("variable %s\n", *e);
      ++n;
    }
  }
  printf("memproxy_variables=%d\nuid=%d euid=%d\nbackend=%s\n", n, (int)getuid(), (int)geteuid(), mp_backend());
  return 0;
}

static void *deep_thread(void *arg) {
  void *(*alloc)(size_t) = (void *(*)(size_t))arg;
  return alloc(300);
}

static int deepbind(const char *lib) {
  void *h = dlopen(lib, RTLD_NOW | RTLD_DEEPBIND);
  if (!h) { printf("dlopen failed: %s\n", dlerror()); return 2; }
  void *(*alloc)(size_t) = (void *(*)(size_t))dlsym(h, "mp_deep_malloc");
  char *(*dup)(const char *) = (char *(*)(const char *))dlsym(h, "mp_deep_strdup");
  void (*release)(void *) = (void (*)(void *))dlsym(h, "mp_deep_free");
  int (*from_libc)(void) = (int (*)(void))dlsym(h, "mp_deep_uses_libc_malloc");
  printf("library_uses_libc_malloc=%d\n", from_libc());
  size_t ok = 0;
  for (int i = 0; i < 2000; ++i) {
    void *p = alloc((size_t)(i % 700) + 1);
    memset(p, 1, (size_t)(i % 700) + 1);
    ok += malloc_usable_size(p) >= (size_t)(i % 700) + 1;
    if (i % 3 == 0) p = realloc(p, 2000);
    free(p);
    char *s = dup("deepbind");
    ok += strcmp(s, "deepbind") == 0;
    free(s);
    void *mine = malloc(64);
    release(alloc(64));
    free(mine);
  }
  pthread_t t;
  void *from_thread = NULL;
  pthread_create(&t, NULL, deep_thread, (void *)alloc);
  pthread_join(t, &from_thread);
  free(from_thread);
  printf("deepbind ok=%zu backend=%s\n", ok, mp_backend());
  return ok == 4000 ? 0 : 1;
}

static int bootblocks(const char *lib) {
  void *h = dlopen(lib, RTLD_NOLOAD | RTLD_LAZY);
  void **blocks = h ? (void **)dlsym(h, "mp_boot_blocks") : NULL;
  if (!blocks) { printf("bootblocks: %s not loaded by the decision\n", lib); return 2; }
  int ok = 0;
  for (int i = 0; i < 8; ++i) {
    char expect[107];
    memset(expect, 'a' + i, sizeof expect);
    ok += blocks[i] != NULL && memcmp(blocks[i], expect, 100 + i) == 0;
    ok += malloc_usable_size(blocks[i]) >= (size_t)(100 + i);
  }
  char *grown = realloc(blocks[0], 5000);
  ok += grown != NULL && grown[0] == 'a' && grown[99] == 'a';
  grown[4999] = 1;
  free(grown);
  char *array = reallocarray(blocks[1], 10, 100);
  ok += array != NULL && array[100] == 'b';
  free(array);
  errno = 0;
  ok += realloc(blocks[2], 0) == NULL;
  for (int i = 3; i < 8; ++i) free(blocks[i]);
  void *fresh = malloc(64);
  free(fresh);
  printf("bootblocks ok=%d backend=%s\n", ok, mp_backend());
  return ok == 19 ? 0 : 1;
}

static int forked(void) {
  printf("parent backend=%s\n", mp_backend());
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    route();
    fflush(stdout);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
}

static size_t hold_blocks(size_t bytes) {
  size_t held = 0;
  for (size_t i = 0; i < bytes / 1000; ++i) {
    void *p = malloc(1000);
    memset(p, 1, 1000);
    held += malloc_usable_size(p);
  }
  return held;
}

static int heap_fork(void) {
  size_t parent_held = hold_blocks(4000000);
  pid_t pid = fork();
  if (pid == 0) {
    size_t held = hold_blocks(8000000);
    free(no_block); /* the child's filter of sampled blocks still sends it to the full path */
    printf("child=%d held=%zu\n", (int)getpid(), held);
    fflush(stdout);
    raise(SIGSTOP);
    _exit(0);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status)) return 3;
  held_and_stop(parent_held);
  waitpid(pid, &status, 0);
  return 0;
}

/* A fork child that stops before its first call, then makes 100
   malloc(64)+free pairs and stops again; the parent prints the child's
   pid when the child first stops, stops, and once resumed waits for the
   child's second stop, prints, and stops. */
static int trace_fork(void) {
  free(malloc(100));
  pid_t pid = fork();
  if (pid == 0) {
    raise(SIGSTOP);
    for (int i = 0; i < 100; ++i) free(malloc(64));
    raise(SIGSTOP);
    _exit(0);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status)) return 3;
  printf("child=%d\n", (int)pid);
  fflush(stdout);
  raise(SIGSTOP);
  if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status)) return 4;
  printf("child done\n");
  fflush(stdout);
  raise(SIGSTOP);
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) return 2;
  const char *mode = argv[1];
  if (!strcmp(mode, "route")) return route();
  if (!strcmp(mode, "abi")) return abi();
  if (!strcmp(mode, "storm")) return storm();
  if (!strcmp(mode, "maps")) return maps();
  if (!strcmp(mode, "secure")) return secure();
  if (!strcmp(mode, "env")) return env();
  if (!strcmp(mode, "heap-threads")) return heap_threads();
  if (!strcmp(mode, "heap-churn")) return heap_churn();
  if (!strcmp(mode, "heap-handoff")) return heap_handoff();
  if (!strcmp(mode, "thread-waves")) return thread_waves();
  if (!strcmp(mode, "thread-crowd")) return thread_crowd();
  if (!strcmp(mode, "heap-fork")) return heap_fork();
  if (!strcmp(mode, "trace-fork")) return trace_fork();
  if (!strcmp(mode, "mmap-threshold")) return mmap_threshold();
  if (!strcmp(mode, "heap-kinds")) return heap_kinds(argc > 2 ? argv[2] : NULL);
  if (!strcmp(mode, "heap") && argc > 3) return heap(strtoull(argv[2], NULL, 10), strtoull(argv[3], NULL, 10));
  if (!strcmp(mode, "fork")) return forked();
  if (!strcmp(mode, "deepbind") && argc > 2) return deepbind(argv[2]);
  if (!strcmp(mode, "bootblocks") && argc > 2) return bootblocks(argv[2]);
  if (!strcmp(mode, "exec") && argc > 2) {
    printf("before exec backend=%s\n", mp_backend());
    fflush(stdout);
    execv(argv[2], argv + 2);
    return 3;
  }
  return 2;
}
