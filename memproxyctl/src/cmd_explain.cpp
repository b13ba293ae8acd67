// `memproxyctl explain NAME|PATH|PID`: the decision libmemproxy makes (or, for
// a PID, made) and the entry that caused it.
#include <algorithm>
#include <climits>
#include <cstdlib>
#include <iostream>

#include "commands.hpp"
#include "decision.hpp"
#include "exit_codes.hpp"
#include "memproxy/config.hpp"
#include "output.hpp"
#include "process_info.hpp"
#include "table_file.hpp"
#include "terminal_text.hpp"

namespace memproxyctl {

namespace {

bool all_digits(const std::string& text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return c >= '0' && c <= '9'; });
}

std::string real_path(const std::string& path) {
  char buffer[PATH_MAX];
  return ::realpath(path.c_str(), buffer) ? std::string(buffer) : std::string();
}

// Where in the config file an entry comes from: best effort, the file may have
// changed since the table was published.
std::vector<std::string> config_origins(const std::string& config_path, const std::string& key) {
  std::vector<std::string> origins;
  auto parsed = memproxy::config::parse_file(config_path);
  for (const auto& entry : parsed.entries) {
    if (entry.text == key) origins.push_back(config_path + ":" + std::to_string(entry.line));
  }
  return origins;
}

std::string describe_backend(const Decision& d) {
  if (d.backend == "system") return "system allocator";
  return "custom allocator (" + (d.allocator.empty() ? std::string("the preloaded one") : d.allocator) + ")";
}

// "every 65536 bytes (memproxy.conf)", the library's MEMPROXY_DEBUG words.
std::string describe_sampling(const memproxy::match::SampleRate& rate) {
  std::string out = rate.mean_bytes == 0 ? "off, no sampled stacks" : "every " + std::to_string(rate.mean_bytes) + " bytes";
  return out + " (" + memproxy::match::sample_source_name(rate.source) + ")";
}

std::string entry_sections(uint32_t flags) {
  std::string sample = sample_setting(flags);
  return section_names(flags) + (sample.empty() ? "" : " sample=" + sample);
}

}  // namespace

int cmd_explain(const GlobalOptions& options, const ExplainArgs& args) {
  const bool is_pid = !args.force_name && all_digits(args.target);
  Subject subject;
  ProcessInfo process;
  std::string path_note;
  if (is_pid) {
    long long pid = std::strtoll(args.target.c_str(), nullptr, 10);
    process = inspect_process(pid > 0 && pid <= INT_MAX ? static_cast<pid_t>(pid) : -1);
    if (!process.exists) {
      if (options.json) {
        print_json({{"target", args.target}, {"kind", "pid"}, {"error", process.error}});
      } else {
        std::cerr << "memproxyctl: " << process.error << '\n';
      }
      return kExitInput;
    }
    subject.invoked_name = base_name(process.invoked_path);
    subject.resolved_path = process.resolved_path;
  } else if (args.target.find('/') != std::string::npos) {
    subject.invoked_name = base_name(args.target);
    subject.resolved_path = real_path(args.target);
    if (subject.resolved_path.empty()) {
      // Not on this host (or not readable): match the path as written.
      subject.resolved_path = args.target.front() == '/' ? args.target : std::string();
      path_note = "cannot resolve " + args.target + ": matched as written";
    }
  } else {
    subject.invoked_name = args.target;
  }

  TableFile table = load_table(options.table_path);
  Decision decision = decide(table, subject);
  auto problems = table.valid() ? ownership_problems(options.table_path) : std::vector<std::string>();
  int code = table.valid() ? kExitOk : kExitTable;

  std::vector<std::vector<std::string>> origins;
  for (const auto& m : decision.matches) origins.push_back(config_origins(options.config_path, m.key));

  if (options.json) {
    nlohmann::json matches = nlohmann::json::array();
    for (size_t i = 0; i < decision.matches.size(); ++i) {
      const auto& m = decision.matches[i];
      std::string sample = sample_setting(m.flags);
      matches.push_back({{"entry", m.key},
                         {"matched_as", m.as},
                         {"section", section_names(m.flags)},
                         {"sample", sample.empty() ? nlohmann::json() : nlohmann::json(sample)},
                         {"config", origins[i]}});
    }
    nlohmann::json sampling;  // null unless monitored
    if (decision.monitored) {
      sampling = {{"mean_bytes", decision.sampling.mean_bytes},
                  {"source", memproxy::match::sample_source_name(decision.sampling.source)}};
    }
    nlohmann::json doc = {{"target", args.target},
                          {"kind", is_pid ? "pid" : subject.resolved_path.empty() ? "name" : "path"},
                          {"invoked_name", subject.invoked_name},
                          {"resolved_path", subject.resolved_path},
                          {"backend", decision.backend},
                          {"allocator", decision.allocator},
                          {"monitored", decision.monitored},
                          {"sampling", sampling},
                          {"fail_safe", decision.fail_safe},
                          {"reason", decision.reason},
                          {"matches", matches},
                          {"table", {{"path", options.table_path}, {"valid", table.valid()}, {"error", table.error}}},
                          {"trust_problems", problems}};
    if (table.valid()) doc["table"]["generation"] = table.header().generation;
    if (!path_note.empty()) doc["note"] = path_note;
    if (is_pid) {
      doc["process"] = {{"pid", process.pid},
                        {"invoked_path", process.invoked_path},
                        {"invoked_source", process.invoked_source},
                        {"elf_class", process.elf_class},
                        {"maps_readable", process.maps_readable},
                        {"memproxy_mapped", process.memproxy_mapped},
                        {"memproxy_paths", process.memproxy_paths},
                        {"allocator_paths", process.allocator_paths},
                        {"error", process.error}};
    }
    print_json(doc);
    return code;
  }

  std::cout << terminal_safe(is_pid ? "pid " + args.target + " (" + subject.invoked_name + ")" : args.target) << ": "
            << describe_backend(decision) << (decision.monitored ? ", monitored" : "") << '\n';
  if (is_pid) {
    std::cout << "  invoked as:  " << (process.invoked_path.empty() ? "(unknown)" : terminal_safe(process.invoked_path)) << " (from "
              << (process.invoked_source.empty() ? "nowhere" : process.invoked_source) << ")\n";
    std::cout << "  binary:      " << (process.resolved_path.empty() ? "(unreadable)" : terminal_safe(process.resolved_path));
    if (process.elf_class) std::cout << " (" << process.elf_class << "-bit)";
    std::cout << '\n';
  } else if (!subject.resolved_path.empty() && subject.resolved_path != args.target) {
    std::cout << "  binary:      " << terminal_safe(subject.resolved_path) << '\n';
  }
  std::cout << "  reason:      " << decision.reason << '\n';
  if (decision.monitored) {
    std::cout << "  sampling:    " << describe_sampling(decision.sampling)
              << "; MEMPROXY_SAMPLE_BYTES in the program's environment overrides it\n";
  }
  for (size_t i = 0; i < decision.matches.size(); ++i) {
    const auto& m = decision.matches[i];
    std::cout << "  entry:       " << terminal_safe(m.key) << " [" << entry_sections(m.flags) << "] matched as " << m.as;
    if (!origins[i].empty()) std::cout << ", from " << origins[i].front();
    std::cout << '\n';
  }
  if (table.valid()) {
    std::cout << "  table:       " << options.table_path << ", generation " << table.header().generation << '\n';
  } else if (!decision.fail_safe) {
    std::cout << "  warning:     the table fails full verification (" << table.error
              << "); libmemproxy verifies only the blocks a lookup reads, so it decides as above\n";
  }
  if (!path_note.empty()) std::cout << "  note:        " << path_note << '\n';
  for (const auto& problem : problems) {
    std::cout << "  warning:     " << problem << ": libmemproxy uses this table only when MEMPROXY_TABLE selects it\n";
  }
  if (is_pid) {
    if (!process.maps_readable) {
      std::cout << "  mapped:      cannot read /proc/" << process.pid << "/maps (run as root)\n";
    } else {
      std::cout << "  libmemproxy: " << (process.memproxy_mapped ? terminal_safe(process.memproxy_paths.front()) : "not mapped") << '\n';
      std::cout << "  allocators:  ";
      if (process.allocator_paths.empty()) std::cout << "none mapped";
      for (size_t i = 0; i < process.allocator_paths.size(); ++i) std::cout << (i ? ", " : "") << terminal_safe(process.allocator_paths[i]);
      std::cout << '\n';
      if (!process.memproxy_mapped) {
        std::cout << "  note:        libmemproxy.so is not mapped: this process is not routed by memproxy"
                     " (not preloaded, or started before the preload was enabled)\n";
      }
    }
    std::cout << "  note:        a process decides once, at start: it keeps the decision of the table it started with\n";
  }
  return code;
}

}  // namespace memproxyctl
