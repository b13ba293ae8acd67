// `memproxyctl check FILE`: the daemon's own parser and diagnostics, so that
// what check accepts is exactly what memproxyd publishes.
#include <iostream>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "memproxy/config.hpp"
#include "output.hpp"

namespace memproxyctl {

namespace mc = memproxy::config;

int cmd_check(const GlobalOptions& options, const std::string& file) {
  mc::ParseResult parsed = mc::parse_file(file);
  size_t exclude = 0;
  size_t monitor = 0;
  for (const auto& entry : parsed.entries) (entry.section == mc::Section::exclude ? exclude : monitor)++;
  int code = parsed.file_status != mc::FileStatus::ok ? kExitInput
             : parsed.publishable()                   ? kExitOk
                                                      : kExitNegative;
  if (options.json) {
    nlohmann::json diagnostics = nlohmann::json::array();
    for (const auto& d : parsed.diagnostics) {
      diagnostics.push_back({{"file", d.file},
                             {"line", d.line},
                             {"severity", d.severity == mc::Severity::error ? "error" : "warning"},
                             {"message", d.message},
                             {"problem", mc::describe(d.problem)},
                             {"text", d.format()}});
    }
    print_json({{"file", file},
                {"readable", parsed.file_status == mc::FileStatus::ok},
                {"publishable", parsed.publishable()},
                {"entries", parsed.entries.size()},
                {"exclude", exclude},
                {"monitor", monitor},
                {"errors", parsed.error_count},
                {"warnings", parsed.warning_count},
                {"diagnostics", diagnostics}});
    return code;
  }
  for (const auto& d : parsed.diagnostics) std::cerr << d.format() << '\n';
  if (code == kExitInput) {
    std::cout << file << ": cannot be read\n";
  } else if (code == kExitOk) {
    std::cout << file << ": ok, " << parsed.entries.size() << " entries (" << exclude << " exclude, " << monitor
              << " monitor), " << parsed.warning_count << " warnings\n";
  } else {
    std::cout << file << ": " << parsed.error_count
              << " error(s): not publishable (memproxyd keeps the last good table in force)\n";
  }
  return code;
}

}  // namespace memproxyctl
