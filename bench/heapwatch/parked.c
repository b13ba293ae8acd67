/* An idle process for the memory a monitored process gains (`run --only
   memory`): holds 1 MiB in 1000-byte blocks, starts THREADS threads that
   each allocate and free once (so each has claimed its slot of the heap
   account and its allocator's thread state) and then block, prints
   "ready" and stops itself, to be read at rest and killed.

       memproxy-parked THREADS */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int parked[2], started[2];

static void *worker(void *arg) {
  (void)arg;
  free(malloc(100));
  char c = 1;
  if (write(started[1], &c, 1) != 1) abort();
  while (read(parked[0], &c, 1) < 0) {
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: memproxy-parked THREADS\n");
    return 2;
  }
  int threads = atoi(argv[1]);
  static void *held[1024];
  for (int i = 0; i < 1024; ++i) held[i] = malloc(1000);
  if (pipe(parked) != 0 || pipe(started) != 0) return 1;
  pthread_t *t = malloc(sizeof *t * (size_t)(threads > 0 ? threads : 1));
  for (int i = 0; i < threads; ++i) {
    if (pthread_create(&t[i], NULL, worker, NULL) != 0) return 1;
  }
  /* Every thread has made its calls before the stop. */
  for (int i = 0; i < threads; ++i) {
    char c;
    if (read(started[0], &c, 1) != 1) return 1;
  }
  printf("ready\n");
  fflush(stdout);
  raise(SIGSTOP);
  return held[0] == NULL;
}
