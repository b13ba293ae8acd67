/* A program whose heap grows steadily: the leak the heap watch's
 * end-to-end tests look for.
 *
 *   mp-grower STEP_BYTES INTERVAL_MS [BASE_BYTES]
 *
 * It first allocates and touches BASE_BYTES (default 0), a heap the growth
 * is measured against. Then every INTERVAL_MS it allocates STEP_BYTES more, touches them (so RSS
 * grows too) and never frees them, until it is killed. It prints one line,
 * "growing", once its first step is held (and nothing after: a test that
 * does not read its output must never block it on a full pipe). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Every block links to the one before: the compiler cannot drop them as unused. */
void* volatile newest_block;

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: mp-grower STEP_BYTES INTERVAL_MS [BASE_BYTES]\n");
    return 2;
  }
  if (argc == 4) {
    size_t base = strtoull(argv[3], NULL, 10);
    char* heap = malloc(base);
    if (heap == NULL && base != 0) return 1;
    if (heap != NULL) memset(heap, 0x5b, base);
    newest_block = heap;
  }
  size_t step = strtoull(argv[1], NULL, 10);
  long interval_ms = strtol(argv[2], NULL, 10);
  struct timespec pause = {interval_ms / 1000, (interval_ms % 1000) * 1000000L};
  for (int first = 1;; first = 0) {
    char* block = malloc(step);
    if (block == NULL) return 1;
    memset(block, 0x5a, step);
    if (step >= sizeof(void*)) memcpy(block, (const void*)&newest_block, sizeof(void*));
    newest_block = block;
    if (first) {
      printf("growing\n");
      fflush(stdout);
    }
    nanosleep(&pause, NULL);
  }
}
