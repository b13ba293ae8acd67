/* A 32 MiB heap and a cache that grows by 64 MiB over about eight pattern
   minutes (each tooth 80% to 120% of that), then is trimmed to 2%: not a leak. */
#include "heap_program.h"

struct state {
  struct hp_account account;
  struct hp_pool heap;
  struct hp_churn churn;
  struct hp_account cache_account;
  struct hp_pool cache;
  struct hp_rng rng;
  long tooth_ends;
  long tooth_seconds;
  size_t cache_target;
};

static void begin_tooth(struct state *s, long now) {
  s->tooth_seconds = (long)(480.0 * (0.8 + 0.4 * hp_uniform(&s->rng)));
  s->tooth_ends = now + s->tooth_seconds;
  hp_pool_shrink(&s->cache, &s->cache_account, s->cache.count / 50);
  s->cache_target = s->cache_account.held;
}

static void step(void *p, long second) {
  struct state *s = p;
  if (second >= s->tooth_ends) begin_tooth(s, second);
  s->cache_target += 64 * HP_MIB / (size_t)s->tooth_seconds;
  hp_pool_fill_to(&s->cache, &s->cache_account, s->cache_target, 16 * HP_KIB);
  hp_churn_second(&s->churn, &s->account, second);
}

static size_t held(void *p) {
  struct state *s = p;
  return s->account.held + s->cache_account.held;
}

int main(int argc, char **argv) {
  struct hp_options o = hp_parse(argc, argv);
  static struct state s;
  s.rng = hp_rng_seeded(o.seed, 1);
  hp_pool_fill_to(&s.heap, &s.account, 32 * HP_MIB, 64 * HP_KIB);
  hp_churn_init(&s.churn, o.seed, 0, 20, 64 * HP_KIB);
  begin_tooth(&s, 0);
  return hp_run(&o, &s, step, held);
}
