// `memproxyctl list`: the entries of the live table, with their section.
#include <iomanip>
#include <iostream>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "output.hpp"
#include "table_file.hpp"
#include "terminal_text.hpp"

namespace memproxyctl {

int cmd_list(const GlobalOptions& options) {
  TableFile table = load_table(options.table_path);
  if (!table.valid()) {
    if (options.json) {
      print_json({{"table", options.table_path}, {"valid", false}, {"error", table.error}});
    } else {
      std::cerr << "memproxyctl: " << table.error << '\n';
    }
    return kExitTable;
  }
  auto problems = ownership_problems(options.table_path);
  auto entries = table.entries();
  if (options.json) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& e : entries) {
      nlohmann::json sections = nlohmann::json::array();
      if (e.flags & memproxy::table::kFlagExclude) sections.push_back("exclude");
      if (e.flags & memproxy::table::kFlagMonitor) sections.push_back("monitor");
      std::string sample = sample_setting(e.flags);
      rows.push_back({{"entry", e.key},
                      {"kind", e.is_path() ? "path" : "name"},
                      {"sections", sections},
                      {"sample", sample.empty() ? nlohmann::json() : nlohmann::json(sample)}});
    }
    print_json({{"table", options.table_path},
                {"valid", true},
                {"generation", table.header().generation},
                {"allocator", table.allocator()},
                {"trusted_as_system_table", problems.empty()},
                {"trust_problems", problems},
                {"entries", rows}});
    return kExitOk;
  }
  for (const auto& problem : problems) {
    std::cerr << "memproxyctl: warning: " << problem << ": libmemproxy uses this table only when MEMPROXY_TABLE selects it\n";
  }
  std::cout << std::left << std::setw(16) << "SECTION" << std::setw(6) << "KIND" << "ENTRY\n";
  for (const auto& e : entries) {
    std::string sample = sample_setting(e.flags);
    std::cout << std::setw(16) << section_names(e.flags) << std::setw(6) << (e.is_path() ? "path" : "name") << terminal_safe(e.key)
              << (sample.empty() ? "" : "  [sample=" + sample + "]") << '\n';
  }
  std::cout << "# " << entries.size() << " entries, generation " << table.header().generation << ", table "
            << options.table_path << '\n';
  return kExitOk;
}

}  // namespace memproxyctl
