#include "check.hpp"

#include <cstdio>

#include "memproxy/config.hpp"
#include "memproxy/table_builder.hpp"

namespace memproxy::daemon {

int run_check(const Options& options) {
  config::ParseResult parsed = config::parse_file(options.config_path);
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
