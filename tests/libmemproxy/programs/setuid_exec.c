/* mp-setuid-exec [--setenv NAME=VALUE]... PROGRAM [ARG...]
   What su without '-', sudo -E or any setuid wrapper does: installed setuid
   root, it becomes root entirely and runs PROGRAM with the environment it was
   given (plus the --setenv ones, as sudo -E keeps variables the caller
   set). Linked with libmemproxy (DT_NEEDED), as every process on a host with
   the global preload is. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int i = 1;
  for (; i + 1 < argc && strcmp(argv[i], "--setenv") == 0; i += 2) putenv(argv[i + 1]);
  if (i >= argc) {
    fprintf(stderr, "usage: mp-setuid-exec [--setenv NAME=VALUE]... PROGRAM [ARG...]\n");
    return 2;
  }
  if (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0) {
    perror("mp-setuid-exec: becoming root");
    return 3;
  }
  execv(argv[i], argv + i);
  perror("mp-setuid-exec: execv");
  return 4;
}
