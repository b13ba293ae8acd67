/* A library that replaces the allocator under a name no list knows: what
 * `preload enable` must recognise by its dynamic symbol table. Never loaded
 * by the tests that list it (its malloc fails every request). */
#include <stddef.h>

void* malloc(size_t size) {
  (void)size;
  return NULL;
}

void free(void* block) { (void)block; }
