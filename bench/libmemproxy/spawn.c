/* memproxy-spawn COUNT [-e NAME=VALUE]... PROGRAM [ARG]...
 * Start-up cost: posix_spawn()s PROGRAM COUNT times, one after the other,
 * waiting for each, with an environment made only of the -e pairs (so the
 * spawner itself runs without the preload and every child gets exactly the
 * same environment). Prints three numbers per spawn+exit on stdout: the
 * children's CPU time (user+system, RUSAGE_CHILDREN) and the wall time, in
 * microseconds, and the children's minor page faults; exits 1 if any child failed. CPU time leaves out the time
 * spent preempted by other processes. */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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
  struct rusage r0, r1;
  getrusage(RUSAGE_CHILDREN, &r0);
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
  getrusage(RUSAGE_CHILDREN, &r1);
  double wall = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3;
#define US(tv) ((double)(tv).tv_sec * 1e6 + (double)(tv).tv_usec)
  double cpu = US(r1.ru_utime) - US(r0.ru_utime) + US(r1.ru_stime) - US(r0.ru_stime);
  printf("%.2f %.2f %.2f\n", cpu / (double)count, wall / (double)count,
         (double)(r1.ru_minflt - r0.ru_minflt) / (double)count);
  return 0;
}
