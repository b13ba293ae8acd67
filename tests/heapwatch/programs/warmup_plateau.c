/* Fills 96 MiB as 1 - exp(-t / 200 s) (95% after ten pattern minutes, so
   well past a five-minute warm-up), then stays there under churn: not a leak. */
#include <math.h>

#include "heap_program.h"

struct state {
  struct hp_account account;
  struct hp_pool heap;
  struct hp_churn churn;
  struct hp_account heap_account;
};

static void step(void *p, long second) {
  struct state *s = p;
  size_t target = (size_t)(96.0 * HP_MIB * (1.0 - exp(-(double)second / 200.0)));
  hp_pool_fill_to(&s->heap, &s->heap_account, target, 32 * HP_KIB);
  hp_churn_second(&s->churn, &s->account, second);
}

static size_t held(void *p) {
  struct state *s = p;
  return s->account.held + s->heap_account.held;
}

int main(int argc, char **argv) {
  struct hp_options o = hp_parse(argc, argv);
  static struct state s;
  hp_churn_init(&s.churn, o.seed, 0, 20, 64 * HP_KIB);
  return hp_run(&o, &s, step, held);
}
