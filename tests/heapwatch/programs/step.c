/* A 48 MiB heap that grows by 32 MiB over ten pattern seconds at minute 30,
   then stays there under churn: not a leak. */
#include "heap_program.h"

struct state {
  struct hp_account account;
  struct hp_pool heap;
  struct hp_churn churn;
  struct hp_account step_account;
  struct hp_pool step;
};

enum { kStepAt = 1800, kStepSeconds = 10 };

static void step(void *p, long second) {
  struct state *s = p;
  if (second >= kStepAt && second < kStepAt + kStepSeconds) {
    size_t target = 32 * HP_MIB / kStepSeconds * (size_t)(second - kStepAt + 1);
    hp_pool_fill_to(&s->step, &s->step_account, target, 64 * HP_KIB);
  }
  hp_churn_second(&s->churn, &s->account, second);
}

static size_t held(void *p) {
  struct state *s = p;
  return s->account.held + s->step_account.held;
}

int main(int argc, char **argv) {
  struct hp_options o = hp_parse(argc, argv);
  static struct state s;
  hp_pool_fill_to(&s.heap, &s.account, 48 * HP_MIB, 64 * HP_KIB);
  hp_churn_init(&s.churn, o.seed, 0, 20, 64 * HP_KIB);
  return hp_run(&o, &s, step, held);
}
