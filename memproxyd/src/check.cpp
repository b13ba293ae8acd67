#include "check.hpp"

#include <cstdio>

#include "config_source.hpp"
#include "memproxy/config.hpp"
#include "memproxy/table_builder.hpp"

namespace memproxy::daemon {

int run_check(const Options& options) {
  // The daemon's own verdict, trust rule included.
  config::ParseResult parsed = load_config(options.config_path).parsed;
  for (const auto& diagnostic : parsed.diagnostics) std::fprintf(stderr, "%s\n", diagnostic.format().c_str());
  if (!parsed.publishable()) {
    std::printf("%s: test failed: %zu error%s, %zu warning%s\n", options.config_path.c_str(), parsed.error_count,
                parsed.error_count == 1 ? "" : "s", parsed.warning_count, parsed.warning_count == 1 ? "" : "s");
    return kExitFailure;
  }
  std::printf("%s: ok: %zu entr%s, %zu warning%s\n", options.config_path.c_str(),
              table::entries_from_config(parsed).size(), parsed.entries.size() == 1 ? "y" : "ies",
              parsed.warning_count, parsed.warning_count == 1 ? "" : "s");
  return kExitOk;
}

}  // namespace memproxy::daemon
