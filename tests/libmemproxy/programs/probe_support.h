/* Independent views of which allocator served a block, looked up at run time
   so the probes run with or without any preload. Shared by the C and C++ probes. */
#ifndef MP_PROBE_SUPPORT_H
#define MP_PROBE_SUPPORT_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char *mp_backend(void) {
  const char *(*fn)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "memproxy_backend");
  return fn ? fn() : "none";
}

/* jemalloc's own per-thread counter of allocated bytes. */
static uint64_t mp_jemalloc_allocated(int *present) {
  int (*mallctl)(const char *, void *, size_t *, void *, size_t) =
      (int (*)(const char *, void *, size_t *, void *, size_t))dlsym(RTLD_DEFAULT, "mallctl");
  uint64_t value = 0;
  size_t size = sizeof value;
  *present = mallctl != NULL && mallctl("thread.allocated", &value, &size, NULL, 0) == 0;
  return *present ? value : 0;
}

/* glibc's view: libc's own mallinfo2 (never an allocator's replacement). */
static size_t mp_glibc_in_use(void) {
  void *libc = dlopen("libc.so.6", RTLD_NOLOAD | RTLD_LAZY);
  struct mallinfo2 (*fn)(void) = libc ? (struct mallinfo2 (*)(void))dlsym(libc, "mallinfo2") : NULL;
  if (!fn) return 0;
  struct mallinfo2 mi = fn();
  return mi.uordblks + mi.hblkhd;
}

/* A symbol of an allocator that may be preloaded (global) or dlopen'ed by
   libmemproxy with RTLD_LOCAL (found by its soname then). */
static void *mp_allocator_symbol(const char *soname, const char *name) {
  void *symbol = dlsym(RTLD_DEFAULT, name);
  if (symbol) return symbol;
  void *handle = dlopen(soname, RTLD_NOLOAD | RTLD_LAZY);
  return handle ? dlsym(handle, name) : NULL;
}

static size_t mp_tcmalloc_allocated(int *present) {
  int (*fn)(const char *, size_t *) =
      (int (*)(const char *, size_t *))mp_allocator_symbol("libtcmalloc_minimal.so.4", "MallocExtension_GetNumericProperty");
  size_t value = 0;
  *present = fn != NULL && fn("generic.current_allocated_bytes", &value);
  return value;
}

/* -1: mimalloc absent; else whether p lies in mimalloc's heap. */
static int mp_mimalloc_owns(const void *p) {
  int (*fn)(const void *) = (int (*)(const void *))mp_allocator_symbol("libmimalloc.so.2", "mi_is_in_heap_region");
  return fn ? (fn(p) ? 1 : 0) : -1;
}

struct mp_snapshot {
  int je_present, tc_present;
  uint64_t je;
  size_t tc, glibc;
};

static struct mp_snapshot mp_snap(void) {
  struct mp_snapshot s;
  s.je = mp_jemalloc_allocated(&s.je_present);
  s.tc = mp_tcmalloc_allocated(&s.tc_present);
  s.glibc = mp_glibc_in_use();
  return s;
}

/* Prints the deltas as key=value lines the tests parse. */
static void mp_report(const char *path, struct mp_snapshot a, struct mp_snapshot b, const void *sample) {
  printf("path=%s\nbackend=%s\n", path, mp_backend());
  printf("je_present=%d\nje_delta=%lld\n", a.je_present, (long long)(b.je - a.je));
  printf("tc_present=%d\ntc_delta=%lld\n", a.tc_present, (long long)(b.tc - a.tc));
  printf("glibc_delta=%lld\n", (long long)(b.glibc - a.glibc));
  printf("mi_owns=%d\n", mp_mimalloc_owns(sample));
}

#endif
