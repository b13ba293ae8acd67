/* A program that brings its own C allocator (malloc, free, calloc, realloc
   over a static pool, as glibc documents a replacement must), and then uses
   the derived entry points it does not define. It must behave exactly as it
   does with no preload: every block it frees is one of its own. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { kPool = 8 << 20 };
static _Alignas(16) unsigned char pool[kPool];
static size_t used;
static unsigned long own_calls, foreign_frees;

struct header { size_t size; size_t pad; };

static int in_pool(const void *p) { return (const unsigned char *)p >= pool && (const unsigned char *)p < pool + kPool; }

void *malloc(size_t n) {
  ++own_calls;
  size_t need = (n + sizeof(struct header) + 15) & ~(size_t)15;
  if (n > kPool || used + need > kPool) { errno = ENOMEM; return NULL; }
  struct header *h = (struct header *)(pool + used);
  used += need;
  h->size = n;
  return h + 1;
}

void free(void *p) {
  if (p == NULL) return;
  if (!in_pool(p)) ++foreign_frees;  /* a block that is not ours: the failure this program detects */
}

void *calloc(size_t n, size_t size) {
  size_t bytes;
  if (__builtin_mul_overflow(n, size, &bytes)) { errno = ENOMEM; return NULL; }
  void *p = malloc(bytes);
  if (p) memset(p, 0, bytes);
  return p;
}

void *realloc(void *p, size_t n) {
  if (p == NULL) return malloc(n);
  if (!in_pool(p)) { ++foreign_frees; return NULL; }
  size_t old = ((struct header *)p - 1)->size;
  void *q = malloc(n);
  if (q) memcpy(q, p, old < n ? old : n);
  return q;
}

static size_t opaque(size_t v) {
  volatile size_t x = v;
  return x;
}

int main(void) {
  char *s = strdup("a string libc copies with the program's malloc");
  free(s);
  void *p = malloc(100);
  memset(p, 7, 100);
  void *q = reallocarray(p, 20, 10);  /* the standard's reallocarray: the program's realloc */
  int kept = q != NULL && in_pool(q) && ((unsigned char *)q)[99] == 7;
  free(q);
  errno = 0;
  void *overflow = reallocarray(NULL, opaque(SIZE_MAX / 2), 3);
  printf("reallocarray_own=%d overflow_null=%d errno=%d\n", kept, overflow == NULL, errno);
  printf("foreign_frees=%lu own_calls>0=%d\n", foreign_frees, own_calls > 0);
  return foreign_frees == 0 && kept ? 0 : 1;
}
