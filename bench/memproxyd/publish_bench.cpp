// memproxyd-bench-publish [DIR] [--sizes N,N,...] [--max-seconds S]
//
// Publish time and table size by entry count. For each size, a config of
// that many entries is written and, repeatedly: parsed (config::parse_file),
// then published through memproxyd's own Publisher (build + verify + write
// beside + fsync + rename), with the build and the write also timed apart.
// DIR holds the tables (default /dev/shm, the tmpfs a runtime directory lives
// on). Prints median and p90 per phase, in milliseconds.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "atomic_file.hpp"
#include "memproxy/config.hpp"
#include "memproxy/table_builder.hpp"
#include "memproxy/table_reader.hpp"
#include "publisher.hpp"

#include "bench_stats.hpp"

namespace {

using memproxyd_bench::Clock;
using memproxyd_bench::ms_since;
using memproxyd_bench::percentile;
namespace table = memproxy::table;

// Names shaped like real ones: a mix of program names and absolute paths.
std::string make_config(std::size_t entries) {
  std::string text = "# benchmark config\n";
  for (std::size_t i = 0; i < entries; ++i) {
    if (i % 4 == 3) {
      text += "/opt/vendor/bin/tool-" + std::to_string(i) + "\n";
    } else {
      text += "program-" + std::to_string(i) + "\n";
    }
  }
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/dev/shm";
  std::vector<std::size_t> sizes{10, 10'000, 1'000'000};
  double max_seconds = 20;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--sizes" && i + 1 < argc) {
      sizes.clear();
      std::string list = argv[++i];
      for (std::size_t pos = 0; pos < list.size();) {
        std::size_t comma = list.find(',', pos);
        sizes.push_back(std::strtoull(list.substr(pos, comma - pos).c_str(), nullptr, 10));
        pos = comma == std::string::npos ? list.size() : comma + 1;
      }
    } else if (arg == "--max-seconds" && i + 1 < argc) {
      max_seconds = std::atof(argv[++i]);
    } else {
      dir = arg;
    }
  }
  std::string work = dir + "/memproxyd-bench-" + std::to_string(::getpid());
  std::filesystem::create_directory(work);
  ::chmod(work.c_str(), 0755);
  const std::string config_path = work + "/memproxy.conf";
  const std::string table_path = work + "/table";

  std::printf("tables in %s\n", dir.c_str());
  std::printf("%10s %6s %12s %14s | %9s %9s | %9s %9s | %9s %9s | %9s %9s\n", "entries", "runs", "table bytes",
              "bytes/entry", "parse p50", "p90", "build p50", "p90", "write p50", "p90", "publish p50", "p90");
  for (std::size_t entries : sizes) {
    {
      std::ofstream out(config_path, std::ios::trunc);
      out << make_config(entries);
    }
    std::vector<double> parse_ms, build_ms, write_ms, publish_ms;
    std::uint64_t bytes = 0;
    memproxy::daemon::Publisher publisher(table_path, {});
    auto budget_start = Clock::now();
    const int min_runs = 5, max_runs = 200;
    for (int run = 0; run < max_runs; ++run) {
      if (run >= min_runs && ms_since(budget_start) > max_seconds * 1000) break;
      auto t0 = Clock::now();
      auto parsed = memproxy::config::parse_file(config_path);
      parse_ms.push_back(ms_since(t0));
      if (!parsed.publishable()) {
        std::fprintf(stderr, "benchmark config does not parse\n");
        return 1;
      }
      auto entries_list = table::entries_from_config(parsed);

      // Build and write alone, to show where a publish spends its time.
      t0 = Clock::now();
      auto image = table::build(entries_list, {}, 1);
      build_ms.push_back(ms_since(t0));
      t0 = Clock::now();
      std::string error = memproxy::daemon::replace_file(work + "/scratch", image.data(), image.size(), 0644);
      write_ms.push_back(ms_since(t0));
      if (!error.empty()) {
        std::fprintf(stderr, "%s\n", error.c_str());
        return 1;
      }

      auto outcome = publisher.publish(entries_list);
      if (!outcome.error.empty()) {
        std::fprintf(stderr, "%s\n", outcome.error.c_str());
        return 1;
      }
      publish_ms.push_back(outcome.duration_ms);
      bytes = outcome.table_bytes;
    }
    std::printf("%10zu %6zu %12llu %14.1f | %9.3f %9.3f | %9.3f %9.3f | %9.3f %9.3f | %11.3f %9.3f\n", entries,
                publish_ms.size(), static_cast<unsigned long long>(bytes),
                static_cast<double>(bytes) / static_cast<double>(std::max<std::size_t>(entries, 1)),
                percentile(parse_ms, 0.5), percentile(parse_ms, 0.9), percentile(build_ms, 0.5),
                percentile(build_ms, 0.9), percentile(write_ms, 0.5), percentile(write_ms, 0.9),
                percentile(publish_ms, 0.5), percentile(publish_ms, 0.9));
    std::fflush(stdout);
  }
  std::filesystem::remove_all(work);
  return 0;
}
