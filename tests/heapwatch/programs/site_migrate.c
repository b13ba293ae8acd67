/* A program whose heap moves from one call site to another and stays the
   same size: it holds 2,048 blocks of 32 KiB (64 MiB) from old_home(), then
   every 40 ms frees one of them and allocates its replacement in
   new_home(), for 82 s; then it holds still. The heap is flat all along,
   so the process is stable, while new_home grows by 0.8 MiB a second
   and old_home shrinks as much. Prints "ready" once the first blocks are
   held, then runs until killed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCK 32768
#define BLOCKS 2048

static void *blocks[BLOCKS];

__attribute__((noinline)) static void *old_home(void) {
  void *p = malloc(BLOCK); /* SITE: old */
  if (p != NULL) memset(p, 1, BLOCK);
  return p;
}

__attribute__((noinline)) static void *new_home(void) {
  void *p = malloc(BLOCK); /* SITE: new */
  if (p != NULL) memset(p, 2, BLOCK);
  return p;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int i = 0; i < BLOCKS; ++i) {
    if ((blocks[i] = old_home()) == NULL) return 1;
  }
  printf("ready\n");
  const struct timespec pause = {0, 40 * 1000 * 1000};
  for (int i = 0; i < BLOCKS; ++i) {
    nanosleep(&pause, NULL);
    free(blocks[i]);
    if ((blocks[i] = new_home()) == NULL) return 1;
  }
  for (;;) nanosleep(&pause, NULL);
}
