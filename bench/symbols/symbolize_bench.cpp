// memproxyd-bench-symbolize [ADDRESSES]: symbolizes return addresses spread
// over this program's own executable mappings (itself, built -g, and the
// libraries it links: libc, libstdc++, libdw, ...) and prints addresses
// per second for:
//   in-process cold   a new Symbolizer: every object parsed on first use
//   in-process warm   the same Symbolizer again: every address cached
//   objects warm      objects parsed, no address cache (max_addresses 1)
//   worker cold       a new client: worker started, objects parsed
//   worker warm       the kept worker, everything cached
// Run as root (the worker then runs as nobody) or as any user.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "symbols/mappings.hpp"
#include "symbols/symbolizer.hpp"
#include "symbols/symbolizer_client.hpp"

using namespace memproxy::symbols;

namespace {

std::vector<uint64_t> spread_addresses(size_t count) {
  std::string why;
  auto mappings = read_maps(::getpid(), &why);
  if (!mappings) {
    std::fprintf(stderr, "%s\n", why.c_str());
    std::exit(1);
  }
  uint64_t total = 0;
  for (const Mapping& m : *mappings) total += m.end - m.start;
  std::vector<uint64_t> out;
  for (const Mapping& m : *mappings) {
    const size_t here = static_cast<size_t>(static_cast<double>(count) * static_cast<double>(m.end - m.start) /
                                            static_cast<double>(total)) + 1;
    const uint64_t stride = (m.end - m.start) / here;
    for (size_t i = 0; i < here; ++i) out.push_back(m.start + i * stride + 1);
  }
  return out;
}

void report(const char* what, size_t addresses, const std::function<bool()>& run) {
  const auto start = std::chrono::steady_clock::now();
  if (!run()) {
    std::printf("%-18s failed\n", what);
    return;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%-18s %8zu addresses in %8.3f s: %10.0f addresses/s\n", what, addresses, seconds,
              static_cast<double>(addresses) / seconds);
}

}  // namespace

int main(int argc, char** argv) {
  const size_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 20000;
  const std::vector<uint64_t> addresses = spread_addresses(count);
  const pid_t self = ::getpid();
  std::string why;

  Symbolizer symbolizer;
  report("in-process cold", addresses.size(), [&] { return symbolizer.symbolize_process(self, addresses, &why).has_value(); });
  report("in-process warm", addresses.size(), [&] { return symbolizer.symbolize_process(self, addresses, &why).has_value(); });
  SymbolizerOptions no_address_cache;
  no_address_cache.max_addresses = 1;
  Symbolizer objects_only(no_address_cache);
  objects_only.symbolize_process(self, addresses, &why);
  report("objects warm", addresses.size(), [&] { return objects_only.symbolize_process(self, addresses, &why).has_value(); });

  ClientOptions options;
  options.worker_command = {MEMPROXY_SYMBOLIZE_WORKER_BIN};
  SymbolizerClient client(options);
  auto through_worker = [&] {
    auto result = client.symbolize(self, ::getuid(), ::getgid(), addresses, std::chrono::seconds(120));
    if (!result.ok()) std::fprintf(stderr, "%s\n", result.error.c_str());
    return result.ok();
  };
  report("worker cold", addresses.size(), through_worker);
  report("worker warm", addresses.size(), through_worker);
  return 0;
}
