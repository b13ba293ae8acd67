/* Live bytes flat, RSS growing: allocator overhead, not a leak. Every ten
   pattern seconds a block slightly larger than any before (64 KiB and 16
   bytes more each time) is allocated, and the previous one is shrunk in
   place to 64 bytes: its tail becomes a hole that no later block fits, so
   glibc keeps it resident, while the pin left at its head keeps it from
   merging with its neighbours. About 25 MiB of holes per pattern hour, for
   the first ten hours (past that the blocks would reach glibc's mmap
   threshold). Allocators that return or reuse freed memory by size class
   (jemalloc, mimalloc) show less or no growth. A 32 MiB block is trimmed by
   what the pins add, so the bytes held stay within a page of the start. */
#include <malloc.h>

#include "heap_program.h"

struct state {
  struct hp_account account;  /* the ballast, the blocks and their pins */
  void *ballast;
  struct hp_pool pins;
  void *current;
  size_t next_size;
  size_t target;
  struct hp_account churn_account;
  struct hp_churn churn;
};

enum { kCycleSeconds = 10, kMaxBlock = 120 * 1024 };

static void step(void *p, long second) {
  struct state *s = p;
  if (second % kCycleSeconds == 0 && s->next_size < kMaxBlock) {
    void *next = hp_alloc(&s->account, s->next_size);
    s->next_size += 16;
    if (s->current != NULL) hp_pool_add(&s->pins, &s->account, hp_resize(&s->account, s->current, 64));
    s->current = next;
    if (s->target == 0) s->target = s->account.held;
    if (s->account.held > s->target + 4096) {
      size_t excess = s->account.held - s->target;
      s->ballast = hp_resize(&s->account, s->ballast, malloc_usable_size(s->ballast) - excess);
    }
  }
  hp_churn_second(&s->churn, &s->churn_account, second);
}

static size_t held(void *p) {
  struct state *s = p;
  return s->account.held + s->churn_account.held;
}

int main(int argc, char **argv) {
  struct hp_options o = hp_parse(argc, argv);
  static struct state s;
  s.ballast = hp_alloc(&s.account, 32 * HP_MIB);
  s.next_size = 64 * HP_KIB;
  hp_churn_init(&s.churn, o.seed, 0, 10, 1 * HP_KIB);
  return hp_run(&o, &s, step, held);
}
