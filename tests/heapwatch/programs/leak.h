/* A leak: blocks of `block_size` allocated at `bytes_per_hour` and never
   freed, spread evenly over the pattern seconds. */
#ifndef MEMPROXY_TESTS_HEAPWATCH_LEAK_H
#define MEMPROXY_TESTS_HEAPWATCH_LEAK_H

#include "heap_program.h"

struct hp_leak {
  struct hp_pool blocks;
  double per_second, carry;
  size_t block_size;
};

static inline void hp_leak_init(struct hp_leak *leak, size_t bytes_per_hour, size_t block_size) {
  leak->per_second = (double)bytes_per_hour / 3600.0 / (double)block_size;
  leak->block_size = block_size;
}

static inline void hp_leak_second(struct hp_leak *leak, struct hp_account *account) {
  for (leak->carry += leak->per_second; leak->carry >= 1; leak->carry -= 1) {
    hp_pool_add(&leak->blocks, account, hp_alloc(account, leak->block_size));
  }
}

#endif
