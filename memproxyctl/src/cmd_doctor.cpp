// `memproxyctl doctor`: every way the set-up can be wrong, each with its fix.
#include <sys/stat.h>

#include <iostream>

#include "atomic_write.hpp"
#include "commands.hpp"
#include "daemon_probe.hpp"
#include "exit_codes.hpp"
#include "memproxy/config.hpp"
#include "output.hpp"
#include "platform.hpp"
#include "preload_file.hpp"
#include "preload_verify.hpp"
#include "process_info.hpp"
#include "table_file.hpp"

namespace memproxyctl {

namespace {

struct Finding {
  std::string check;
  std::string severity;  // "ok", "warning", "error"
  std::string message;
  std::string fix;       // "" for ok
};

class Report {
 public:
  void ok(const std::string& check, const std::string& message) { findings_.push_back({check, "ok", message, ""}); }
  void warn(const std::string& check, const std::string& message, const std::string& fix) {
    findings_.push_back({check, "warning", message, fix});
  }
  void error(const std::string& check, const std::string& message, const std::string& fix) {
    findings_.push_back({check, "error", message, fix});
  }
  const std::vector<Finding>& findings() const { return findings_; }
  bool clean() const {
    for (const auto& f : findings_) {
      if (f.severity != "ok") return false;
    }
    return true;
  }

 private:
  std::vector<Finding> findings_;
};

bool is_jemalloc(const std::string& library) { return base_name(library).rfind("libjemalloc", 0) == 0; }

// The files an entry names for each bitness ($LIB expanded the way glibc does here).
std::vector<std::pair<int, std::string>> expand_entry(const std::string& entry) {
  auto token = entry.find("$LIB");
  if (token == std::string::npos) return {{0, entry}};
  std::string p64 = entry;
  std::string p32 = entry;
  p64.replace(token, 4, platform::kLibToken64);
  p32.replace(token, 4, platform::kLibToken32);
  return {{64, p64}, {32, p32}};
}

void check_preload(const DoctorArgs& args, const std::string& table_allocator, Report* report) {
  const char* check = "preload";
  if (platform::kUsesCrle) {
    report->warn(check, "the global preload is in the crle(1) configuration, which doctor does not read",
                 "check that `crle` and `crle -64` show LD_PRELOAD with libmemproxy.so first "
                 "(`memproxyctl preload enable` prints the commands)");
    return;
  }
  std::string text;
  bool exists = false;
  std::string error;
  if (!read_text_file(args.preload_file, &text, &exists, &error)) {
    report->error(check, error, "make " + args.preload_file + " readable (mode 0644, owned by root)");
    return;
  }
  PreloadAnalysis a = analyze_preload(text);
  if (!a.memproxy_present) {
    report->warn(check, "libmemproxy.so is not in " + args.preload_file + ": memproxy routes no process on this host",
                 "memproxyctl preload enable" + (table_allocator.empty() ? std::string() : " --allocator " + table_allocator));
  } else if (!a.order_ok) {
    report->error(check, "libmemproxy.so comes after the allocator in " + args.preload_file +
                             ": the allocator's malloc wins and nothing is routed",
                  "memproxyctl preload enable (moves libmemproxy.so before the allocator)");
  } else {
    report->ok(check, "libmemproxy.so is preloaded from " + args.preload_file + ", before any allocator");
  }
  for (const auto& entry : a.entries) {
    if (entry.front() != '/') continue;  // bare names are searched for by the dynamic linker
    for (const auto& [bits, file] : expand_entry(entry)) {
      struct stat st {};
      if (::stat(file.c_str(), &st) != 0) {
        report->error(check, "preloaded " + file + (bits ? " (" + std::to_string(bits) + "-bit)" : "") +
                                 " does not exist: every " + (bits ? std::to_string(bits) + "-bit " : "") +
                                 "program prints an ld.so error",
                      "install it, or remove the entry (memproxyctl preload disable for libmemproxy)");
      }
    }
  }
  if (!a.entries.empty()) {
    Verification v = verify_preload(a.entries, a.memproxy_present);
    if (v.ok) {
      report->ok(check, "the preload list works: " + v.detail);
    } else {
      report->error(check, "the preload list does not work: " + v.detail,
                    "fix or remove the failing entry in " + args.preload_file);
    }
  }
  // jemalloc's static TLS model needs it loaded at start-up: dlopen fails or corrupts TLS.
  if (is_jemalloc(table_allocator)) {
    bool preloaded = false;
    for (const auto& e : a.allocator_entries) preloaded |= is_jemalloc(e);
    if (!preloaded) {
      report->error("allocator", "the table names " + table_allocator +
                                     ", which cannot be dlopen'ed (static TLS): it must be preloaded",
                    "memproxyctl preload enable --allocator " + table_allocator);
    }
  }
  if (a.memproxy_present && a.allocator_entries.empty() && table_allocator.empty()) {
    report->warn("allocator", "no custom allocator is preloaded and the table names none: every process gets the system allocator",
                 "memproxyctl preload enable --allocator /usr/lib/x86_64-linux-gnu/libjemalloc.so.2, or start memproxyd --allocator LIB");
  }
}

void check_allocator(const std::string& allocator, Report* report) {
  if (allocator.empty()) return;
  Verification v = verify_preload({allocator}, false);
  if (v.ok) {
    report->ok("allocator", allocator + " loads");
  } else {
    report->error("allocator", allocator + " cannot be loaded: " + v.detail,
                  "install the allocator's package, or start memproxyd with --allocator naming an installed one");
  }
}

void check_table(const GlobalOptions& options, const TableFile& table, Report* report) {
  const char* check = "table";
  if (!table.valid()) {
    report->error(check, table.error + ": every process falls back to the fail policy (system allocator)",
                  "start memproxyd (systemctl start memproxyd, or svcadm enable memproxyd); it republishes the table");
    return;
  }
  // The library's own checks (common/include/memproxy/trust.hpp), made here
  // with the same code.
  static const char kChecks[] =
      "every directory from / down is root's and not writable by group or others (unless sticky), and the "
      "table is a regular file (not a link, FIFO, socket or device), root's and not writable by group or others";
  auto problems = ownership_problems(options.table_path);
  for (const auto& problem : problems) {
    report->error(check, problem + ": libmemproxy believes the table only if " + kChecks +
                             "; it ignores this one and routes every process to the system allocator",
                  "let memproxyd create it (runtime directory owned by root, mode 0755), or "
                  "chown root:root and chmod go-w the failing component");
  }
  if (problems.empty()) report->ok(check, options.table_path + " is valid and passes libmemproxy's checks: " + kChecks);
}

void check_freshness(const GlobalOptions& options, const TableFile& table, Report* report) {
  const char* check = "freshness";
  DaemonState daemon = probe_daemon(options.table_path);
  if (!daemon.alive) {
    report->error(check, "memproxyd is not running (" + daemon.alive_reason + "): config changes are not published",
                  "systemctl start memproxyd (Linux) or svcadm enable memproxyd (Solaris)");
  } else {
    report->ok(check, "memproxyd is running");
  }
  if (!daemon.record) {
    report->warn(check, daemon.record_error, "start memproxyd: it writes the status record beside the table");
    return;
  }
  const auto& r = *daemon.record;
  if (table.valid() && r.generation != table.header().generation) {
    report->warn(check, "the table is generation " + std::to_string(table.header().generation) +
                            " but the status record says " + std::to_string(r.generation),
                 "restart memproxyd; if it persists, another program writes " + options.table_path);
  }
  if (r.last_rejection_unix_ns > r.last_publish_unix_ns) {
    report->error(check, "the current config was rejected: " + r.last_error + "; the last good table stays in force",
                  "memproxyctl check " + (r.config_path.empty() ? options.config_path : r.config_path) +
                      ", fix the errors it reports, save");
  }
  const std::string config = r.config_path.empty() ? options.config_path : r.config_path;
  struct stat st {};
  if (::stat(config.c_str(), &st) == 0) {
    int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    if (mtime > r.config_mtime_ns && r.last_rejection_unix_ns <= r.last_publish_unix_ns) {
      report->warn(check, config + " changed after memproxyd last read it",
                   daemon.alive ? "memproxyd republishes within milliseconds; if this persists: systemctl reload memproxyd"
                                : "start memproxyd");
    }
  }
}

void check_config(const GlobalOptions& options, Report* report) {
  auto parsed = memproxy::config::parse_file(options.config_path);
  if (parsed.publishable()) {
    report->ok("config", options.config_path + " is valid (" + std::to_string(parsed.entries.size()) + " entries)");
  } else {
    std::string first = parsed.diagnostics.empty() ? "" : ": " + parsed.diagnostics.front().format();
    report->error("config", options.config_path + " is not publishable" + first,
                  "memproxyctl check " + options.config_path);
  }
}

void check_libraries(const DoctorArgs& args, Report* report) {
  for (const auto& [bits, path] : {std::pair<int, std::string>{64, args.library64}, {32, args.library32}}) {
    int found = elf_class_of(path);
    if (found == bits) {
      report->ok("libraries", std::to_string(bits) + "-bit " + path + " is present");
    } else if (found == 0) {
      report->warn("libraries", std::to_string(bits) + "-bit library " + path + " is missing: " +
                                    std::to_string(bits) + "-bit programs are not routed and print an ld.so error",
                   bits == 32 ? "build with -DMEMPROXY_BUILD_32BIT=ON (needs g++-multilib) and install"
                              : "reinstall memproxy");
    } else {
      report->error("libraries", path + " is " + std::to_string(found) + "-bit, expected " + std::to_string(bits),
                    "reinstall memproxy");
    }
  }
}

}  // namespace

int cmd_doctor(const GlobalOptions& options, const DoctorArgs& args) {
  Report report;
  TableFile table = load_table(options.table_path);
  check_preload(args, table.allocator(), &report);
  check_allocator(table.allocator(), &report);
  check_table(options, table, &report);
  check_freshness(options, table, &report);
  check_config(options, &report);
  check_libraries(args, &report);

  if (options.json) {
    nlohmann::json findings = nlohmann::json::array();
    for (const auto& f : report.findings()) {
      findings.push_back({{"check", f.check}, {"severity", f.severity}, {"message", f.message}, {"fix", f.fix}});
    }
    print_json({{"ok", report.clean()}, {"findings", findings}});
  } else {
    for (const auto& f : report.findings()) {
      std::cout << "[" << f.severity << "] " << f.check << ": " << f.message << '\n';
      if (!f.fix.empty()) std::cout << "    fix: " << f.fix << '\n';
    }
    std::cout << (report.clean() ? "no problem found\n" : "problems found: see the fixes above\n");
  }
  return report.clean() ? kExitOk : kExitNegative;
}

}  // namespace memproxyctl
