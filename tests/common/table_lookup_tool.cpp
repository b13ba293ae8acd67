// table-lookup TABLE KEYS: prints "<status> <flags>" for each line of KEYS.
// Built for the host and with -m32 from the same freestanding reader sources,
// so a test can show a 32-bit process reads what the 64-bit builder wrote.
// Deliberately libc-only, like the reader's real home (libmemproxy).
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memproxy/table_reader.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s TABLE KEYS\n", argv[0]);
    return 2;
  }
  int fd = open(argv[1], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    perror(argv[1]);
    return 2;
  }
  void* map = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) {
    perror("mmap");
    return 2;
  }
  memproxy::table::View view;
  memproxy::table::Status status = memproxy::table::open(map, static_cast<uint64_t>(st.st_size), &view);
  if (status != memproxy::table::Status::ok) {
    printf("open-failed %s\n", memproxy::table::status_message(status));
    return 1;
  }
  printf("generation %llu entries %u allocator %s\n", static_cast<unsigned long long>(view.header->generation),
         view.header->entry_count, view.header->allocator);
  FILE* keys = fopen(argv[2], "r");
  if (keys == nullptr) {
    perror(argv[2]);
    return 2;
  }
  static char line[8192];
  while (fgets(line, sizeof line, keys) != nullptr) {
    size_t length = strcspn(line, "\n");
    memproxy::table::LookupResult r = memproxy::table::lookup(view, line, length);
    printf("%s %u\n", memproxy::table::status_message(r.status), r.flags);
  }
  fclose(keys);
  return 0;
}
