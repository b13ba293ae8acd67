#define _GNU_SOURCE
#include "heap_program.h"

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(const char *name) {
  fprintf(stderr, "usage: %s [--speed K] [--seconds N] [--seed S] [--no-pacing]\n", name);
  exit(2);
}

static long number(const char *name, const char *text, long min) {
  char *end = NULL;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < min) usage(name);
  return v;
}

struct hp_options hp_parse(int argc, char **argv) {
  struct hp_options o = {1, 0, 1, 0};
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--no-pacing") == 0) {
      o.no_pacing = 1;
    } else if (i + 1 < argc && strcmp(argv[i], "--speed") == 0) {
      o.speed = number(argv[0], argv[++i], 1);
    } else if (i + 1 < argc && strcmp(argv[i], "--seconds") == 0) {
      o.seconds = number(argv[0], argv[++i], 0);
    } else if (i + 1 < argc && strcmp(argv[i], "--seed") == 0) {
      o.seed = (uint64_t)number(argv[0], argv[++i], 0);
    } else {
      usage(argv[0]);
    }
  }
  return o;
}

static uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/* Through the mixer: SplitMix64 walks one sequence by a fixed increment, so
   positions set linearly from the seed would overlap, a few steps apart. */
struct hp_rng hp_rng_seeded(uint64_t seed, uint64_t stream) {
  struct hp_rng r = {mix(mix(seed + 0x9E3779B97F4A7C15ULL) ^ mix(stream + 0xD1B54A32D192ED03ULL))};
  return r;
}

uint64_t hp_next(struct hp_rng *rng) { return mix(rng->state += 0x9E3779B97F4A7C15ULL); }

double hp_uniform(struct hp_rng *rng) { return (double)(hp_next(rng) >> 11) * 0x1.0p-53; }

static void *or_die(void *p) {
  if (p == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  return p;
}

void *hp_alloc(struct hp_account *account, size_t size) {
  void *p = or_die(malloc(size));
  memset(p, 0xA5, size);
  account->held += malloc_usable_size(p);
  return p;
}

void hp_free(struct hp_account *account, void *block) {
  if (block == NULL) return;
  account->held -= malloc_usable_size(block);
  free(block);
}

void *hp_resize(struct hp_account *account, void *block, size_t size) {
  size_t before = block != NULL ? malloc_usable_size(block) : 0;
  void *p = or_die(realloc(block, size));
  account->held = account->held - before + malloc_usable_size(p);
  return p;
}

void hp_pool_add(struct hp_pool *pool, struct hp_account *account, void *block) {
  if (pool->count == pool->capacity) {
    pool->capacity = pool->capacity != 0 ? pool->capacity * 2 : 1024;
    pool->blocks = hp_resize(account, pool->blocks, pool->capacity * sizeof *pool->blocks);
  }
  pool->blocks[pool->count++] = block;
}

void hp_pool_shrink(struct hp_pool *pool, struct hp_account *account, size_t keep) {
  while (pool->count > keep) hp_free(account, pool->blocks[--pool->count]);
}

void hp_pool_fill_to(struct hp_pool *pool, struct hp_account *account, size_t target, size_t block_size) {
  while (account->held < target) hp_pool_add(pool, account, hp_alloc(account, block_size));
}

void hp_churn_init(struct hp_churn *churn, uint64_t seed, uint64_t stream, double per_second, size_t max_size) {
  memset(churn, 0, sizeof *churn);
  churn->per_second = per_second;
  churn->max_size = max_size;
  churn->rng = hp_rng_seeded(seed, stream);
}

void hp_churn_second(struct hp_churn *churn, struct hp_account *account, long now) {
  size_t kept = 0;
  for (size_t i = 0; i < churn->count; ++i) {
    if (churn->blocks[i].expires <= now) {
      hp_free(account, churn->blocks[i].block);
    } else {
      churn->blocks[kept++] = churn->blocks[i];
    }
  }
  churn->count = kept;
  churn->carry += churn->per_second;
  for (; churn->carry >= 1; churn->carry -= 1) {
    /* log-uniform in [64, max_size]; lifetime ~ exponential, mean 20 s, within [1, 120] */
    double size = 64.0 * pow((double)churn->max_size / 64.0, hp_uniform(&churn->rng));
    long life = 1 + (long)(-20.0 * log(1.0 - hp_uniform(&churn->rng)));
    if (life > 120) life = 120;
    if (churn->count == churn->capacity) {
      churn->capacity = churn->capacity != 0 ? churn->capacity * 2 : 1024;
      churn->blocks = hp_resize(account, churn->blocks, churn->capacity * sizeof *churn->blocks);
    }
    churn->blocks[churn->count].block = hp_alloc(account, (size_t)size);
    churn->blocks[churn->count].expires = now + life;
    ++churn->count;
  }
}

int hp_run(const struct hp_options *o, void *state, void (*step)(void *state, long pattern_second),
           size_t (*held)(void *state)) {
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  long pattern_second = 0;
  for (long second = 1; o->seconds == 0 || second <= o->seconds; ++second) {
    for (long i = 0; i < o->speed; ++i) step(state, pattern_second++);
    if (!o->no_pacing) {
      next.tv_sec += 1;
      while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
      }
    }
    if (printf("held_bytes=%zu\n", held(state)) < 0 || fflush(stdout) != 0) return 1;
  }
  return 0;
}
