// memproxy-mktable CONFIG TABLE [--allocator LIB] [--generation N] [--fail-policy system|custom]
// Test support: parses CONFIG and writes the table image to TABLE (no daemon,
// no ownership rules), printing the diagnostics. Exit 0 when written, 1 when
// the config was not publishable, 2 on usage or I/O errors.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "memproxy/config.hpp"
#include "memproxy/table_builder.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s CONFIG TABLE [--allocator LIB] [--generation N] [--fail-policy system|custom]\n", argv[0]);
    return 2;
  }
  memproxy::table::Settings settings;
  uint64_t generation = 1;
  for (int i = 3; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--allocator") == 0) {
      settings.allocator = argv[i + 1];
    } else if (std::strcmp(argv[i], "--generation") == 0) {
      generation = std::strtoull(argv[i + 1], nullptr, 10);
    } else if (std::strcmp(argv[i], "--fail-policy") == 0) {
      settings.fail_policy = std::strcmp(argv[i + 1], "custom") == 0 ? memproxy::table::kFailCustom
                                                                     : memproxy::table::kFailSystem;
    } else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  auto parsed = memproxy::config::parse_file(argv[1]);
  for (const auto& d : parsed.diagnostics) std::fprintf(stderr, "%s\n", d.format().c_str());
  if (!parsed.publishable()) return 1;
  auto image = memproxy::table::build(memproxy::table::entries_from_config(parsed), settings, generation);
  std::ofstream out(argv[2], std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(image.data()), static_cast<std::streamsize>(image.size()));
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", argv[2]);
    return 2;
  }
  return 0;
}
