/* A monitored wrapper that execs a monitored program, as a launcher does:
 * the same process (pid, start time) hands the daemon a second account.
 *
 *   mp-exec-wrapper PROGRAM [ARG...]
 *
 * It holds a few blocks of its own, prints "wrapping", stops itself
 * (SIGSTOP: the test resumes it once the daemon watches the wrapper), then
 * execs PROGRAM with the same environment. No shell in between. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void* volatile held[4];

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: mp-exec-wrapper PROGRAM [ARG...]\n");
    return 2;
  }
  for (int i = 0; i < 4; ++i) held[i] = malloc(1000);
  printf("wrapping\n");
  fflush(stdout);
  raise(SIGSTOP);
  execv(argv[1], argv + 1);
  perror("mp-exec-wrapper: execv");
  return 127;
}
