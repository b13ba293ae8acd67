// memproxyd-probe: a freshly started process that maps the published table the
// way libmemproxy does (read-only mapping, validate, look up), so tests can ask
// "how does a newly started process route now?" without the preload library.
//
//   memproxyd-probe TABLE [KEY...]
//     prints "generation=N entries=M" and one "KEY=FLAGS" line per key;
//     exit 0, 3 when the table does not validate, 4 when it cannot be opened.
//   memproxyd-probe --validate-loop TABLE STOPFILE
//     maps and fully verifies TABLE over and over until STOPFILE exists; prints
//     "checked=N invalid=M unopenable=K" and exits 1 if any mapping was invalid.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "memproxy/table_reader.hpp"

namespace {

namespace table = memproxy::table;

enum class Mapped { ok, unopenable, invalid };

struct Mapping {
  void* data = MAP_FAILED;
  size_t size = 0;
  ~Mapping() {
    if (data != MAP_FAILED) ::munmap(data, size);
  }
};

// A table opened by path is one inode for the whole check, whatever renames
// happen meanwhile: exactly the guarantee a process gets.
Mapped map_table(const char* path, Mapping* mapping, table::View* view, table::Status* status, bool full) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Mapped::unopenable;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size == 0) {
    ::close(fd);
    *status = table::Status::too_small;
    return Mapped::invalid;
  }
  mapping->size = static_cast<size_t>(st.st_size);
  mapping->data = ::mmap(nullptr, mapping->size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (mapping->data == MAP_FAILED) return Mapped::unopenable;
  *status = table::open(mapping->data, mapping->size, view);
  if (*status == table::Status::ok && full) *status = table::verify_all(*view);
  return *status == table::Status::ok ? Mapped::ok : Mapped::invalid;
}

int validate_loop(const char* path, const char* stop_file) {
  unsigned long checked = 0, invalid = 0, unopenable = 0;
  table::Status first_bad = table::Status::ok;
  while (::access(stop_file, F_OK) != 0) {
    Mapping mapping;
    table::View view;
    table::Status status = table::Status::ok;
    switch (map_table(path, &mapping, &view, &status, true)) {
      case Mapped::ok:
        ++checked;
        break;
      case Mapped::unopenable:
        ++unopenable;
        break;
      case Mapped::invalid:
        ++checked;
        if (invalid++ == 0) first_bad = status;
        break;
    }
  }
  std::printf("checked=%lu invalid=%lu unopenable=%lu first_invalid=%s\n", checked, invalid, unopenable,
              table::status_message(first_bad));
  return invalid == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 4 && std::strcmp(argv[1], "--validate-loop") == 0) return validate_loop(argv[2], argv[3]);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s TABLE [KEY...] | --validate-loop TABLE STOPFILE\n", argv[0]);
    return 2;
  }
  Mapping mapping;
  table::View view;
  table::Status status = table::Status::ok;
  switch (map_table(argv[1], &mapping, &view, &status, true)) {
    case Mapped::unopenable:
      std::printf("unopenable\n");
      return 4;
    case Mapped::invalid:
      std::printf("invalid: %s\n", table::status_message(status));
      return 3;
    case Mapped::ok:
      break;
  }
  std::printf("generation=%llu entries=%u\n", static_cast<unsigned long long>(view.header->generation),
              view.header->entry_count);
  for (int i = 2; i < argc; ++i) {
    table::LookupResult result = table::lookup(view, argv[i], std::strlen(argv[i]));
    if (result.status != table::Status::ok) {
      std::printf("%s=invalid\n", argv[i]);
      return 3;
    }
    std::printf("%s=%u\n", argv[i], result.flags);
  }
  return 0;
}
