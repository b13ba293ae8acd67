// What a monitored program can see of memproxy in its own descriptor table,
// and whether its watch survives what programs do with descriptors.
//
//   mp-descriptors list        prints "start FDS" at the start of main,
//                              holds 1 MiB, stops itself (SIGSTOP); once
//                              resumed prints "after FDS", stops again
//   mp-descriptors closefrom   closes every descriptor above 2 first,
//                              then as "list" without the listings:
//                              "held N" (the usable bytes it holds), stop
//   mp-descriptors rawfork     holds 1 MiB, forks without the fork
//                              handlers (the raw system call); the child
//                              prints "child PID" and pauses, the parent
//                              stops, and exits once resumed
//   mp-descriptors exec PROG   holds 4 MiB, stops; once resumed execs PROG
//                              with the argument "sleep"
//   mp-descriptors sleep       prints "sleeping" and pauses
//
// FDS are the open descriptors' numbers, ascending, space-separated.
#define _GNU_SOURCE
#include <dirent.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void print_descriptors(const char* label) {
  int fds[64];
  int n = 0;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == NULL) {
    perror("opendir");
    exit(2);
  }
  struct dirent* e;
  while ((e = readdir(dir)) != NULL && n < 64) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd != dirfd(dir)) fds[n++] = fd;
  }
  closedir(dir);
  for (int i = 1; i < n; ++i) {
    for (int j = i; j > 0 && fds[j - 1] > fds[j]; --j) {
      int t = fds[j];
      fds[j] = fds[j - 1];
      fds[j - 1] = t;
    }
  }
  printf("%s", label);
  for (int i = 0; i < n; ++i) printf(" %d", fds[i]);
  printf("\n");
  fflush(stdout);
}

// Blocks of 64 KiB, touched, kept: their usable bytes.
static size_t hold(size_t bytes) {
  size_t usable = 0;
  for (size_t done = 0; done < bytes; done += 65536) {
    char* p = malloc(65536);
    if (p == NULL) exit(3);
    memset(p, 1, 65536);
    usable += malloc_usable_size(p);
  }
  return usable;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const char* mode = argv[1];
  if (strcmp(mode, "list") == 0) {
    print_descriptors("start");
    hold(1 << 20);
    raise(SIGSTOP);
    print_descriptors("after");
    raise(SIGSTOP);
    return 0;
  }
  if (strcmp(mode, "closefrom") == 0) {
    if (syscall(SYS_close_range, 3u, ~0u, 0u) != 0) return 4;
    size_t held = hold(1 << 20);
    printf("held %zu\n", held);
    fflush(stdout);
    raise(SIGSTOP);
    return 0;
  }
  if (strcmp(mode, "rawfork") == 0) {
    hold(1 << 20);
    long child = syscall(SYS_fork);
    if (child < 0) return 5;
    if (child == 0) {
      printf("child %d\n", (int)getpid());
      fflush(stdout);
      for (;;) pause();
    }
    raise(SIGSTOP);
    return 0;
  }
  if (strcmp(mode, "exec") == 0 && argc == 3) {
    hold(4 << 20);
    raise(SIGSTOP);
    execl(argv[2], argv[2], "sleep", (char*)NULL);
    perror("execl");
    return 6;
  }
  if (strcmp(mode, "sleep") == 0) {
    printf("sleeping\n");
    fflush(stdout);
    for (;;) pause();
  }
  return 2;
}
