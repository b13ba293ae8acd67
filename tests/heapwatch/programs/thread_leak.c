/* Eight threads, each with an 8 MiB heap and its own churn; thread 3 also
   leaks 6 MiB per pattern hour in 2 KiB blocks. The threads play each
   pattern second together (between two barriers), so what is printed does
   not depend on scheduling. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "heap_program.h"
#include "leak.h"

enum { kThreads = 8, kLeakingThread = 3 };

struct worker {
  pthread_t thread;
  struct hp_account account;
  struct hp_pool heap;
  struct hp_churn churn;
  struct hp_leak leak;
  int leaking;
};

struct state {
  struct worker workers[kThreads];
  pthread_barrier_t start, done;
  long second;
};

static struct state s;

static void *work(void *p) {
  struct worker *w = p;
  hp_pool_fill_to(&w->heap, &w->account, 8 * HP_MIB, 64 * HP_KIB);
  for (;;) {
    pthread_barrier_wait(&s.start);
    if (w->leaking) hp_leak_second(&w->leak, &w->account);
    hp_churn_second(&w->churn, &w->account, s.second);
    pthread_barrier_wait(&s.done);
  }
  return NULL;
}

static void step(void *p, long second) {
  struct state *st = p;
  st->second = second;
  pthread_barrier_wait(&st->start);
  pthread_barrier_wait(&st->done);
}

static size_t held(void *p) {
  struct state *st = p;
  size_t total = 0;
  for (int i = 0; i < kThreads; ++i) total += st->workers[i].account.held;
  return total;
}

int main(int argc, char **argv) {
  struct hp_options o = hp_parse(argc, argv);
  if (pthread_barrier_init(&s.start, NULL, kThreads + 1) != 0 || pthread_barrier_init(&s.done, NULL, kThreads + 1) != 0) {
    perror("pthread_barrier_init");
    return 1;
  }
  for (int i = 0; i < kThreads; ++i) {
    struct worker *w = &s.workers[i];
    hp_churn_init(&w->churn, o.seed, (uint64_t)i, 2.5, 64 * HP_KIB);
    w->leaking = i == kLeakingThread;
    hp_leak_init(&w->leak, 6 * HP_MIB, 2 * HP_KIB);
    if (pthread_create(&w->thread, NULL, work, w) != 0) {
      perror("pthread_create");
      return 1;
    }
  }
  /* The workers' heaps are allocated before the first pattern second ends. */
  int rc = hp_run(&o, &s, step, held);
  exit(rc);
}
