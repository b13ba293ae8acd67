// Allocations from known call sites, for the sampling and trace tests. The
// functions that allocate are never inlined, so their addresses (printed)
// are where a sample's or trace record's caller must point.
//
//   sites N LO HI  site_a keeps N blocks of 4LO..4HI bytes (made by
//                  realloc(NULL, n)), site_b 8N and
//                  site_c 16N of LO..HI (so they hold about 1:2:4 of the
//                  bytes, in blocks of two sizes), churn allocates 16N
//                  blocks of LO..HI and frees each; prints the
//                  functions' addresses and each site's usable bytes (and
//                  how many samples its blocks should take), stops
//                  (SIGSTOP); frees site_c's blocks, prints, stops; exits.
//   trace          prints traced_calls' address, stops; makes a known sequence
//                  of calls from traced_calls, prints their pointers, stops;
//                  exits.
//   flood N [MS]   stops; makes N malloc(8) and keeps them, in no less than
//                  MS milliseconds (0, the default: as fast as it can), so
//                  that their rate does not depend on how fast the host and
//                  the allocator are; stops; exits.
//   rings T N R    T threads at once each keep a ring of N blocks of 16-64
//                  bytes, free one at random and make another R times, then
//                  free them all; prints the addresses of rings and
//                  run_rings and stops; exits.
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <new>
#include <vector>

namespace {

uint64_t g_random = 0x9E3779B97F4A7C15ull;

size_t size_between(size_t lo, size_t hi) {
  g_random = g_random * 6364136223846793005ull + 1442695040888963407ull;
  return lo + static_cast<size_t>((g_random >> 33) % (hi - lo + 1));
}

struct Site {
  std::vector<void*> blocks;
  size_t bytes = 0;
};
std::vector<size_t> g_asked;  // the bytes each site block asked for, in the sites' order

// The vectors' own storage is reserved before the sites run, so that the
// only allocations made from a site function are its blocks.
// site_a makes its blocks with realloc(NULL, n), which a monitored
// process counts and samples on a path of its own (site_b's and site_c's
// calls take the allocations' path, and churn's is malloc itself).
__attribute__((noinline)) void site_a(Site* s, size_t n, size_t lo, size_t hi) {
  for (size_t i = 0; i < n; ++i) {
    g_asked.push_back(size_between(lo, hi));
    s->blocks.push_back(realloc(nullptr, g_asked.back()));
  }
}
__attribute__((noinline)) void site_b(Site* s, size_t n, size_t lo, size_t hi) {
  for (size_t i = 0; i < n; ++i) {
    g_asked.push_back(size_between(lo, hi));
    s->blocks.push_back(::operator new(g_asked.back()));
  }
}
__attribute__((noinline)) void site_c(Site* s, size_t n, size_t lo, size_t hi) {
  for (size_t i = 0; i < n; ++i) {
    g_asked.push_back(size_between(lo, hi));
    s->blocks.push_back(calloc(1, g_asked.back()));
  }
}
// How many samples the blocks made here should take: each block is taken
// with probability 1 - exp(-n / mean), independently (the sampler's
// countdown is memoryless), so the count has this mean and variance; n is
// its usable bytes where the sampler counts those, the bytes asked for
// where it counts those (by jemalloc's thread counters, which size no
// block). MEMPROXY_SAMPLE_BYTES is the mean asked for.
struct Expected {
  double taken = 0;
  double variance = 0;
  void add(double bytes, double mean) {
    const double p = 1 - exp(-bytes / mean);
    taken += p;
    variance += p * (1 - p);
  }
};
Expected g_by_usable;
Expected g_by_asked;

void expect_taken(const void* p, size_t asked) {
  const char* mean_text = getenv("MEMPROXY_SAMPLE_BYTES");
  const double mean = mean_text != nullptr ? strtod(mean_text, nullptr) : 0;
  if (p == nullptr || mean <= 0) return;
  g_by_usable.add(static_cast<double>(malloc_usable_size(const_cast<void*>(p))), mean);
  g_by_asked.add(static_cast<double>(asked), mean);
}

__attribute__((noinline)) void churn(size_t n, size_t lo, size_t hi) {
  for (size_t i = 0; i < n; ++i) {
    const size_t asked = size_between(lo, hi);
    void* volatile p = malloc(asked);
    expect_taken(p, asked);
    free(p);
  }
}

size_t usable_bytes(const Site& s) {
  size_t total = 0;
  for (void* p : s.blocks) total += malloc_usable_size(p);
  return total;
}

void stop() {
  fflush(stdout);
  raise(SIGSTOP);
}

__attribute__((noinline)) int run_sites(size_t n, size_t lo, size_t hi) {
  Site a, b, c;
  g_asked.reserve(25 * n);
  a.blocks.reserve(n);
  b.blocks.reserve(8 * n);
  c.blocks.reserve(16 * n);
  site_a(&a, n, 4 * lo, 4 * hi);
  site_b(&b, 8 * n, lo, hi);
  site_c(&c, 16 * n, lo, hi);
  size_t block = 0;
  for (const Site* site : {&a, &b, &c}) {
    for (void* p : site->blocks) expect_taken(p, g_asked[block++]);
  }
  churn(16 * n, lo, hi);
  printf("site_a=%p site_b=%p site_c=%p churn=%p run_sites=%p\n", reinterpret_cast<void*>(&site_a),
         reinterpret_cast<void*>(&site_b), reinterpret_cast<void*>(&site_c), reinterpret_cast<void*>(&churn),
         reinterpret_cast<void*>(&run_sites));
  printf("held_a=%zu held_b=%zu held_c=%zu expected_taken=%.0f taken_sd=%.0f expected_taken_asked=%.0f "
         "taken_asked_sd=%.0f\n",
         usable_bytes(a), usable_bytes(b), usable_bytes(c), g_by_usable.taken, ceil(sqrt(g_by_usable.variance)),
         g_by_asked.taken, ceil(sqrt(g_by_asked.variance)));
  stop();
  for (void* p : c.blocks) free(p);
  c.blocks.clear();
  printf("held_a=%zu held_b=%zu held_c=%zu\n", usable_bytes(a), usable_bytes(b), usable_bytes(c));
  stop();
  for (void* p : a.blocks) free(p);
  for (void* p : b.blocks) ::operator delete(p);
  return 0;
}

uintptr_t g_keep[8];  // the pointers, as numbers: printed after they are freed

// The sequence the trace test expects, record for record.
__attribute__((noinline)) void traced_calls() {
  void* p = malloc(1000);
  void* q = calloc(10, 100);
  g_keep[1] = reinterpret_cast<uintptr_t>(q);
  p = realloc(p, 5000);
  g_keep[0] = reinterpret_cast<uintptr_t>(p);
  free(q);
  // Fails: 3 (SIZE_MAX / 2) bytes are more than there are.
  volatile size_t half = SIZE_MAX / 2;
  if (calloc(half, 3) != nullptr) abort();
  void* r = nullptr;
  if (posix_memalign(&r, 64, 3000) != 0) abort();
  g_keep[2] = reinterpret_cast<uintptr_t>(r);
  free(r);
  void* s = ::operator new(2000, std::nothrow);
  g_keep[3] = reinterpret_cast<uintptr_t>(s);
  ::operator delete(s);
  void* t = ::operator new(1500);
  g_keep[4] = reinterpret_cast<uintptr_t>(t);
  ::operator delete(t, 1500);
  free(p);
}

int trace() {
  printf("traced_calls=%p\n", reinterpret_cast<void*>(&traced_calls));
  stop();
  traced_calls();
  printf("p=%#jx q=%#jx r=%#jx s=%#jx t=%#jx\n", static_cast<uintmax_t>(g_keep[0]), static_cast<uintmax_t>(g_keep[1]),
         static_cast<uintmax_t>(g_keep[2]), static_cast<uintmax_t>(g_keep[3]), static_cast<uintmax_t>(g_keep[4]));
  stop();
  return 0;
}

int64_t monotonic_ns() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

int flood(size_t n, int64_t ms) {
  void** kept = static_cast<void**>(calloc(n, sizeof(void*)));
  printf("flooding %zu\n", n);
  stop();
  // Paced in steps of 1,024 blocks: each step waits for its share of the time.
  constexpr size_t kStep = 1024;
  const int64_t started = monotonic_ns();
  const double ns_per_block = static_cast<double>(ms) * 1e6 / static_cast<double>(n);
  for (size_t i = 0; i < n; ++i) {
    kept[i] = malloc(8);
    if (ms > 0 && (i + 1) % kStep == 0) {
      const int64_t due = started + static_cast<int64_t>(static_cast<double>(i + 1) * ns_per_block);
      while (monotonic_ns() < due) {
      }
    }
  }
  printf("flooded\n");
  stop();
  return 0;
}

struct Ring {
  size_t blocks;
  size_t rounds;
  uint64_t random;
};
pthread_barrier_t g_start;

// Blocks small enough that several share a 64-byte granule of the sampled
// blocks' filter, so that many frees of unsampled blocks look for a sample
// while other threads' frees take samples out of the table.
__attribute__((noinline)) void* rings(void* argument) {
  Ring* r = static_cast<Ring*>(argument);
  std::vector<void*> ring(r->blocks);
  auto next = [r] {
    r->random ^= r->random << 13;
    r->random ^= r->random >> 7;
    r->random ^= r->random << 17;
    return r->random;
  };
  for (void*& p : ring) p = malloc(16 + next() % 49);
  pthread_barrier_wait(&g_start);
  for (size_t i = 0; i < r->rounds; ++i) {
    void*& p = ring[next() % r->blocks];
    free(p);
    p = malloc(16 + next() % 49);
  }
  for (void* p : ring) free(p);
  return nullptr;
}

__attribute__((noinline)) int run_rings(size_t threads, size_t blocks, size_t rounds) {
  std::vector<pthread_t> ids(threads);
  std::vector<Ring> work(threads);
  pthread_barrier_init(&g_start, nullptr, static_cast<unsigned>(threads));
  for (size_t t = 0; t < threads; ++t) {
    work[t] = {blocks, rounds, 0x9E3779B97F4A7C15ull * (t + 1)};
    if (pthread_create(&ids[t], nullptr, rings, &work[t]) != 0) return 3;
  }
  for (pthread_t id : ids) pthread_join(id, nullptr);
  printf("rings=%p run_rings=%p\n", reinterpret_cast<void*>(&rings), reinterpret_cast<void*>(&run_rings));
  stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  if (argc == 5 && strcmp(argv[1], "sites") == 0) {
    return run_sites(strtoull(argv[2], nullptr, 10), strtoull(argv[3], nullptr, 10), strtoull(argv[4], nullptr, 10));
  }
  if (argc == 2 && strcmp(argv[1], "trace") == 0) return trace();
  if (argc == 5 && strcmp(argv[1], "rings") == 0) {
    return run_rings(strtoull(argv[2], nullptr, 10), strtoull(argv[3], nullptr, 10), strtoull(argv[4], nullptr, 10));
  }
  if ((argc == 3 || argc == 4) && strcmp(argv[1], "flood") == 0) {
    return flood(strtoull(argv[2], nullptr, 10), argc == 4 ? strtoll(argv[3], nullptr, 10) : 0);
  }
  return 2;
}
