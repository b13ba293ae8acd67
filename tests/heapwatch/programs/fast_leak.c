/* A 32 MiB heap under churn that leaks 60 MiB per pattern hour in 4 KiB blocks. */
#include "heap_program.h"
#include "leak.h"

struct state {
  struct hp_account account;
  struct hp_pool heap;
  struct hp_churn churn;
  struct hp_leak leak;
};

static void step(void *p, long second) {
  struct state *s = p;
  hp_leak_second(&s->leak, &s->account);
  hp_churn_second(&s->churn, &s->account, second);
}

static size_t held(void *p) { return ((struct state *)p)->account.held; }

int main(int argc, char **argv) {
  struct hp_options o = hp_parse(argc, argv);
  static struct state s;
  hp_pool_fill_to(&s.heap, &s.account, 32 * HP_MIB, 64 * HP_KIB);
  hp_churn_init(&s.churn, o.seed, 0, 20, 64 * HP_KIB);
  hp_leak_init(&s.leak, 60 * HP_MIB, 4 * HP_KIB);
  return hp_run(&o, &s, step, held);
}
