/* memproxy-spawn COUNT [-e NAME=VALUE]... PROGRAM [ARG]...
 * Start-up cost: posix_spawn()s PROGRAM COUNT times, one after the other,
 * waiting for each, with an environment made only of the -e pairs (so the
 * spawner itself runs without the preload and every child gets exactly the
 * same environment). Prints microseconds per spawn+exit on stdout; exits 1 if
 * any child failed. */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s COUNT [-e NAME=VALUE]... PROGRAM [ARG]...\n", argv[0]);
    return 2;
  }
  long count = atol(argv[1]);
  char* envp[64];
  int nenv = 0;
  int i = 2;
  while (i + 1 < argc && strcmp(argv[i], "-e") == 0 && nenv < 63) {
    envp[nenv++] = argv[i + 1];
    i += 2;
  }
  envp[nenv] = NULL;
  if (i >= argc || count < 1) return 2;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long n = 0; n < count; n++) {
    pid_t pid;
    int st;
    if (posix_spawn(&pid, argv[i], NULL, NULL, &argv[i], envp) != 0) {
      perror("posix_spawn");
      return 1;
    }
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fprintf(stderr, "child failed (status %d)\n", st);
      return 1;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3;
  printf("%.2f\n", us / (double)count);
  return 0;
}
