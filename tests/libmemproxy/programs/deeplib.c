/* A library the probe dlopens with RTLD_DEEPBIND: its malloc and free bind to
   libc's (its own dependency), not to the preloaded libmemproxy. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

void *mp_deep_malloc(size_t size) { return malloc(size); }
char *mp_deep_strdup(const char *s) { return strdup(s); }
void mp_deep_free(void *p) { free(p); }

/* Whether this library's malloc reference resolved to libc's own malloc. */
int mp_deep_uses_libc_malloc(void) {
  void *libc = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY);
  void *(*volatile mine)(size_t) = malloc;
  return libc != NULL && (void *)mine == dlsym(libc, "malloc");
}
