/* A library whose constructor leaves a mark: "<its own path>.loaded". A test
   names it as the table's allocator to see whether libmemproxy ever loaded it
   (and so ran its code in the process). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static void mark(void) {}

__attribute__((constructor)) static void leave_mark(void) {
  Dl_info info;
  if (!dladdr((void *)mark, &info) || info.dli_fname == NULL) return;
  char path[4096];
  snprintf(path, sizeof path, "%s.loaded", info.dli_fname);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) close(fd);
}
