/* What the labelled heap programs share. Each program plays one heap
   pattern on a timeline of "pattern seconds", allocating with plain
   malloc/free (so any allocator serves it), and prints once per real second
   one line, held_bytes=N: the usable size (malloc_usable_size, which every
   allocator provides) of every block the program holds at that moment.
   memproxy's live bytes count the same blocks, plus the few KiB libc keeps
   for itself (stdout's buffer, thread bookkeeping).

   Options, common to all:
     --speed K     K pattern seconds per real second (rates and durations
                   times K: --speed 60 plays a one-hour pattern in a minute)
     --seconds N   stop after N real seconds (0, the default: run until killed)
     --seed S      the seed of every random choice (default 1)
     --no-pacing   do not wait for real seconds to pass (for testing the
                   programs themselves)
   The output is a function of the options alone: deterministic. */
#ifndef MEMPROXY_TESTS_HEAPWATCH_HEAP_PROGRAM_H
#define MEMPROXY_TESTS_HEAPWATCH_HEAP_PROGRAM_H

#include <stddef.h>
#include <stdint.h>

#define HP_KIB ((size_t)1024)
#define HP_MIB ((size_t)1024 * 1024)

struct hp_options {
  long speed;
  long seconds;
  uint64_t seed;
  int no_pacing;
};

/* Parses the options above; prints usage and exits 2 on anything else. */
struct hp_options hp_parse(int argc, char **argv);

/* SplitMix64: the same numbers everywhere. */
struct hp_rng {
  uint64_t state;
};
struct hp_rng hp_rng_seeded(uint64_t seed, uint64_t stream);
uint64_t hp_next(struct hp_rng *rng);
double hp_uniform(struct hp_rng *rng); /* [0, 1) */

/* The bytes one thread holds. Touching every byte makes the blocks resident,
   as a real program's data is. */
struct hp_account {
  size_t held;
};
void *hp_alloc(struct hp_account *account, size_t size);
void hp_free(struct hp_account *account, void *block);
/* realloc, keeping the account (a shrink in place returns the tail to the
   allocator). */
void *hp_resize(struct hp_account *account, void *block, size_t size);

/* Blocks held until freed together (a heap, a cache, a leak). Its own array
   is on the account too: held_bytes is everything the program allocated. */
struct hp_pool {
  void **blocks;
  size_t count, capacity;
};
void hp_pool_add(struct hp_pool *pool, struct hp_account *account, void *block);
/* Frees the newest blocks until `keep` are left. */
void hp_pool_shrink(struct hp_pool *pool, struct hp_account *account, size_t keep);
/* Allocates `block_size` blocks into `pool` until the account holds `target`. */
void hp_pool_fill_to(struct hp_pool *pool, struct hp_account *account, size_t target, size_t block_size);

/* The memory of requests in flight: blocks of 64 B to 64 KiB (log-uniform)
   that live 1 to 120 pattern seconds. `per_second` of them start each
   pattern second; about 9 KiB each on average, ~20 s each. */
struct hp_churn {
  struct hp_churn_block {
    void *block;
    long expires;
  } *blocks;
  size_t count, capacity;
  double per_second, carry;
  size_t max_size;
  struct hp_rng rng;
};
void hp_churn_init(struct hp_churn *churn, uint64_t seed, uint64_t stream, double per_second, size_t max_size);
void hp_churn_second(struct hp_churn *churn, struct hp_account *account, long pattern_second);

/* Plays `step` for every pattern second, `speed` of them per real second,
   and prints held_bytes=held(state) after each real second. */
int hp_run(const struct hp_options *options, void *state, void (*step)(void *state, long pattern_second),
           size_t (*held)(void *state));

#endif
