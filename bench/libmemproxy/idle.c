/* memproxy-idle: a small C program that allocates a little (as any program
 * does), writes "ready" on stdout and then blocks reading stdin until EOF, so
 * a driver can read /proc/PID/smaps_rollup while it is idle. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  char* p = malloc(100);
  strcpy(p, "ready\n");
  (void)!write(1, p, strlen(p));
  char buf[64];
  while (read(0, buf, sizeof buf) > 0) {
  }
  free(p);
  return 0;
}
