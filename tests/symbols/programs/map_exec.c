/* Maps FILE... executable (PROT_READ|PROT_EXEC, the whole file, private),
 * prints "mapped FILE ADDRESS SIZE" for each, then stops itself: what a
 * hostile process does to hand the daemon's symbolizer a file of its
 * choosing. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    int fd = open(argv[i], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) {
      perror(argv[i]);
      return 1;
    }
    void* at = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    if (at == MAP_FAILED) {
      perror("mmap");
      return 1;
    }
    close(fd);
    printf("mapped %s %p %lld\n", argv[i], at, (long long)st.st_size);
  }
  printf("ready\n");
  fflush(stdout);
  raise(SIGSTOP);
  return 0;
}
