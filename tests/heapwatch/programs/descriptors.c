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
//   mp-descriptors self        prints "start SELF" at the start of main,
//                              holds 1 MiB, stops itself; once resumed
//                              prints "after SELF", stops again
//
// FDS are the open descriptors' numbers, ascending, space-separated. SELF
// is what else of the process memproxy could change: its threads, its
// blocked, ignored and caught signals, its children and the names of the
// MEMPROXY_* variables in its environment ("threads=1 blocked=HEX ...").
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

// The value of `key` ("Threads:") in /proc/self/status, blanks trimmed.
static void status_value(const char* key, char* out, size_t size) {
  snprintf(out, size, "?");
  FILE* f = fopen("/proc/self/status", "re");
  if (f == NULL) return;
  char line[256];
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, key, strlen(key)) != 0) continue;
    const char* v = line + strlen(key);
    v += strspn(v, " \t");
    snprintf(out, size, "%.*s", (int)strcspn(v, "\n"), v);
    break;
  }
  fclose(f);
}

static int by_name(const void* a, const void* b) { return strcmp(*(char* const*)a, *(char* const*)b); }

extern char** environ;

static void print_self(const char* label) {
  char threads[64], blocked[64], ignored[64], caught[64], children[256] = "";
  status_value("Threads:", threads, sizeof threads);
  status_value("SigBlk:", blocked, sizeof blocked);
  status_value("SigIgn:", ignored, sizeof ignored);
  status_value("SigCgt:", caught, sizeof caught);
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
  FILE* f = fopen(path, "re");
  if (f == NULL || fgets(children, sizeof children, f) == NULL) snprintf(children, sizeof children, "%s", f ? "" : "?");
  if (f != NULL) fclose(f);
  children[strcspn(children, " \n")] = '\0';
  char* names[64];
  size_t n = 0;
  for (char** e = environ; *e != NULL && n < 64; ++e) {
    if (strncmp(*e, "MEMPROXY_", 9) == 0) names[n++] = *e;
  }
  qsort(names, n, sizeof names[0], by_name);
  printf("%s threads=%s blocked=%s ignored=%s caught=%s children=%s env=", label, threads, blocked, ignored, caught,
         children);
  for (size_t i = 0; i < n; ++i) printf("%s%.*s", i ? "," : "", (int)strcspn(names[i], "="), names[i]);
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
  if (strcmp(mode, "self") == 0) {
    print_self("start");
    hold(1 << 20);
    raise(SIGSTOP);
    print_self("after");
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
