/* A stand-in custom allocator that the table names, so libmemproxy dlopens it
   during the decision. It forwards to libc's allocator. Its constructor runs
   inside the decision and allocates through the process's malloc, i.e. from
   libmemproxy's bootstrap arena; the probe ("bootblocks") later frees,
   reallocs and sizes those blocks. Such a block must never reach this
   allocator: if one does, it aborts. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { kBootBlocks = 8 };
void *mp_boot_blocks[kBootBlocks];

static void *(*libc_malloc)(size_t);
static void (*libc_free)(void *);
static void *(*libc_calloc)(size_t, size_t);
static void *(*libc_realloc)(void *, size_t);
static void *(*libc_memalign)(size_t, size_t);
static int (*libc_posix_memalign)(void **, size_t, size_t);
static size_t (*libc_malloc_usable_size)(void *);

static void refuse_boot_block(const void *p) {
  for (int i = 0; i < kBootBlocks; ++i) {
    if (p != NULL && p == mp_boot_blocks[i]) {
      static const char message[] = "bootlib: a bootstrap-arena block reached the backend\n";
      ssize_t ignored = write(2, message, sizeof message - 1);
      (void)ignored;
      abort();
    }
  }
}

void *malloc(size_t n) { return libc_malloc(n); }
void free(void *p) { refuse_boot_block(p); libc_free(p); }
void *calloc(size_t n, size_t size) { return libc_calloc(n, size); }
void *realloc(void *p, size_t n) { refuse_boot_block(p); return libc_realloc(p, n); }
void *memalign(size_t a, size_t n) { return libc_memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) { return libc_posix_memalign(out, a, n); }
size_t malloc_usable_size(void *p) { refuse_boot_block(p); return libc_malloc_usable_size(p); }

__attribute__((constructor)) static void bootlib_init(void) {
  void *libc = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY);
  libc_malloc = (void *(*)(size_t))dlsym(libc, "malloc");
  libc_free = (void (*)(void *))dlsym(libc, "free");
  libc_calloc = (void *(*)(size_t, size_t))dlsym(libc, "calloc");
  libc_realloc = (void *(*)(void *, size_t))dlsym(libc, "realloc");
  libc_memalign = (void *(*)(size_t, size_t))dlsym(libc, "memalign");
  libc_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(libc, "posix_memalign");
  libc_malloc_usable_size = (size_t (*)(void *))dlsym(libc, "malloc_usable_size");
  /* The process's malloc: libmemproxy's, first in the global scope. */
  void *(*process_malloc)(size_t) = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "malloc");
  for (int i = 0; i < kBootBlocks; ++i) {
    mp_boot_blocks[i] = process_malloc(100 + i);
    if (mp_boot_blocks[i] != NULL) memset(mp_boot_blocks[i], 'a' + i, 100 + i);
  }
}
