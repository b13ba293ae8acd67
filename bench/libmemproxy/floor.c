/* The floor: the thinnest possible pointer-dispatch allocator proxy.
 * Every entry point is one indirect jump through a pointer that starts at a
 * resolver and, once resolved, points at the next library's function
 * (dlsym(RTLD_NEXT)): the allocator preloaded after this one, or libc.
 * libmemproxy's hot path is measured against this; nothing here may cost
 * more than the jump. glibc's dlsym does not allocate on success, so the
 * resolver needs no bootstrap arena; if it ever did, the re-entry aborts
 * loudly instead of handing out memory that free could not recognise. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

static void resolve(void);

#define FLOOR_FN(ret, name, params, args)            \
  static ret init_##name params;                     \
  static ret(*next_##name) params = init_##name;     \
  static ret init_##name params {                    \
    resolve();                                       \
    return next_##name args;                         \
  }                                                  \
  EXPORT ret name params { return next_##name args; }

FLOOR_FN(void*, malloc, (size_t n), (n))
FLOOR_FN(void, free, (void* p), (p))
FLOOR_FN(void*, calloc, (size_t n, size_t s), (n, s))
FLOOR_FN(void*, realloc, (void* p, size_t n), (p, n))
FLOOR_FN(void*, memalign, (size_t a, size_t n), (a, n))
FLOOR_FN(void*, aligned_alloc, (size_t a, size_t n), (a, n))
FLOOR_FN(int, posix_memalign, (void** r, size_t a, size_t n), (r, a, n))
FLOOR_FN(void*, valloc, (size_t n), (n))
FLOOR_FN(void*, pvalloc, (size_t n), (n))
FLOOR_FN(size_t, malloc_usable_size, (void* p), (p))

static void* must(const char* name) {
  static __thread int depth; /* per thread: a racing first call is not re-entry */
  if (depth++) {
    static const char msg[] = "memproxy-floor: allocation while resolving\n";
    (void)!write(2, msg, sizeof msg - 1);
    abort();
  }
  void* f = dlsym(RTLD_NEXT, name);
  depth--;
  if (!f) {
    static const char msg[] = "memproxy-floor: symbol not found\n";
    (void)!write(2, msg, sizeof msg - 1);
    abort();
  }
  return f;
}

/* Idempotent: racing threads store the same values. */
static void resolve(void) {
  next_malloc = (void* (*)(size_t))must("malloc");
  next_free = (void (*)(void*))must("free");
  next_calloc = (void* (*)(size_t, size_t))must("calloc");
  next_realloc = (void* (*)(void*, size_t))must("realloc");
  next_memalign = (void* (*)(size_t, size_t))must("memalign");
  next_aligned_alloc = (void* (*)(size_t, size_t))must("aligned_alloc");
  next_posix_memalign = (int (*)(void**, size_t, size_t))must("posix_memalign");
  next_valloc = (void* (*)(size_t))must("valloc");
  next_pvalloc = (void* (*)(size_t))must("pvalloc");
  next_malloc_usable_size = (size_t(*)(void*))must("malloc_usable_size");
}

__attribute__((constructor)) static void floor_init(void) { resolve(); }
