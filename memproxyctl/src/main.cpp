// memproxyctl: the administrator's view of memproxy. Argument parsing only;
// each subcommand lives in its own cmd_*.cpp.
#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>
#include <optional>
#include <set>
#include <tuple>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "heap_tables.hpp"
#include "memproxy/defaults.hpp"
#include "memproxy/heap_query.hpp"
#include "memproxy/trace_query.hpp"
#include "pid_text.hpp"
#include "platform.hpp"
#include "terminal_text.hpp"

using namespace memproxyctl;

namespace {

// Why the command line names no known command, or "": CLI11 alone says
// "A subcommand is required" for an unknown one. The command is the first
// argument that is neither an option nor a global option's value.
std::string command_problem(CLI::App& app, int argc, char** argv) {
  std::string known;
  std::set<std::string> names;
  for (const CLI::App* command : app.get_subcommands({})) {
    names.insert(command->get_name());
    known += (known.empty() ? "" : ", ") + command->get_name();
  }
  static const std::set<std::string> kTakingValues{"-t", "--table", "-c", "--config", "--query-socket"};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") return "";
    if (kTakingValues.count(arg) != 0) {
      ++i;
      continue;
    }
    if (arg == "--") break;
    if (!arg.empty() && arg[0] == '-') continue;
    if (names.count(arg) != 0) return "";
    return "unknown command \"" + terminal_safe(arg) + "\"; the commands are " + known;
  }
  return "no command given; the commands are " + known;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"memproxyctl: check, inspect and set up memproxy (see memproxyctl(8))", "memproxyctl"};
  app.require_subcommand(1);
  app.fallthrough();  // global options are accepted after the subcommand too

  GlobalOptions options;
  options.table_path = memproxy::defaults::kTablePath;
  options.config_path = memproxy::defaults::kConfigPath;
  app.add_option("-t,--table", options.table_path, "Published table to inspect")->capture_default_str();
  app.add_option("-c,--config", options.config_path, "Configuration file")->capture_default_str();
  app.add_flag("--json", options.json, "Print one JSON document instead of text");
  app.add_option("--query-socket", options.query_socket,
                 "memproxyd's query socket for top, history and leaks (default: query.sock beside the table)");

  std::string check_file;
  auto* check = app.add_subcommand("check", "Validate a configuration file with the daemon's parser");
  check->add_option("file", check_file, "Configuration file to check")->required();

  auto* status = app.add_subcommand("status", "Daemon state, live table, last publish and rejection");
  auto* list = app.add_subcommand("list", "Entries of the live table with their section");

  ExplainArgs explain_args;
  auto* explain = app.add_subcommand("explain", "Which allocator a program or process gets, and why");
  explain->add_option("target", explain_args.target, "Program NAME, absolute PATH, or PID")->required();
  explain->add_flag("--name", explain_args.force_name, "Treat an all-digit target as a program name, not a PID");

  DoctorArgs doctor_args{platform::kPreloadFile, platform::kLibrary64, platform::kLibrary32};
  auto* doctor = app.add_subcommand("doctor", "Find set-up problems, each with its fix");
  doctor->add_option("--preload-file", doctor_args.preload_file, "Global preload file to examine")
      ->capture_default_str();
  doctor->add_option("--lib64", doctor_args.library64, "Installed 64-bit libmemproxy.so")->capture_default_str();
  doctor->add_option("--lib32", doctor_args.library32, "Installed 32-bit libmemproxy.so")->capture_default_str();

  PreloadArgs preload_args;
  preload_args.file = platform::kPreloadFile;
  auto* preload = app.add_subcommand("preload", "Enable, disable or show memproxy in the global preload");
  preload->require_subcommand(1);
  preload->add_option("--file", preload_args.file, "Preload file to read or edit")->capture_default_str();
  preload->add_flag("--print-crle", preload_args.print_crle,
                    "Print the Solaris crle(1) commands instead of editing a file (the default on Solaris)");
  auto* enable = preload->add_subcommand("enable", "Add libmemproxy.so before the allocator, after verifying it");
  enable->add_option("--library", preload_args.library, "libmemproxy entry to write")
      ->default_str(platform::kPreloadEntry);
  enable->add_option("--library32", preload_args.library32, "32-bit libmemproxy.so (crle output)")
      ->default_str(platform::kLibrary32);
  enable->add_option("--allocator", preload_args.allocator, "Also preload this allocator after libmemproxy.so");
  enable->add_flag("--dry-run", preload_args.dry_run, "Verify and print the new file, write nothing");
  enable->add_flag("--allow-second-allocator", preload_args.allow_second_allocator,
                   "Add --allocator even when the file already lists another allocator");
  enable->add_option("--verify-timeout", preload_args.verify_timeout_s,
                     "Seconds the verification program may run before it is killed and the edit refused")
      ->check(CLI::Range(0.001, 3600.0))
      ->capture_default_str();
  // For tests: a program run as `PROGRAM /proc/self/maps` instead of the platform's.
  enable->add_option("--verify-program", preload_args.verify_program)->group("");
  auto* disable = preload->add_subcommand("disable", "Remove memproxy's entries only");
  disable->add_flag("--dry-run", preload_args.dry_run, "Print the new file, write nothing");
  auto* preload_status = preload->add_subcommand("status", "Is memproxy in the global preload, in the right order");

  TopArgs top_args;
  auto* top = app.add_subcommand("top", "Watched processes' heaps, live (q or Ctrl-C quits)");
  top->add_flag("--once", top_args.once, "Print the table once and exit");
  top->add_option("--sort", top_args.sort, std::string("Order by: ") + kTopOrderNames)
      ->check([](const std::string& name) {
        return top_order(name) ? std::string() : std::string("--sort takes one of ") + kTopOrderNames;
      })
      ->capture_default_str();

  HistoryArgs history_args;
  auto* history = app.add_subcommand("history", "A process's live heap and RSS over time, charted");
  history->add_option("target", history_args.target, "PID, or PROGRAM (its newest process)")->required();
  history->add_flag("--name", history_args.force_name, "Treat an all-digit target as a program name, not a PID");
  history->add_option("--since", history_args.since,
                      "From: now, a span before now (90s, 15m, 1h, 2d), @SECONDS, or YYYY-MM-DDTHH:MM[:SS][Z]");
  history->add_option("--until", history_args.until, "To, in the same forms as --since (default: now)");
  history->add_flag("--csv", history_args.csv, "Print the samples as CSV");

  ReportArgs report_args;
  auto* report = app.add_subcommand("report", "A process's history, verdict and call sites as one HTML file");
  report->add_option("target", report_args.target, "PID, or PROGRAM (its newest process)")->required();
  report->add_option("-o,--output", report_args.output, "The HTML file to write (replaced atomically)")->required();
  report->add_flag("--name", report_args.force_name, "Treat an all-digit target as a program name, not a PID");
  report->add_option("--since", report_args.since, "From, in the forms history --since takes (default: all kept)");
  report->add_option("--until", report_args.until, "To, in the same forms (default: now)");
  report->add_option("--sites", report_args.sites, "How many call sites to show")
      ->check(CLI::Range(size_t{1}, memproxy::heap_query::kMaxSites))
      ->capture_default_str();

  auto* leaks = app.add_subcommand(
      "leaks", "Processes whose heap is growing, with the evidence; with PID, that process's call sites (exit 1 if any grows)");
  SitesArgs sites_args;
  std::string leaks_pid;
  leaks->add_option("pid", leaks_pid, "A watched process: list its call sites, the growing ones first");
  leaks->add_option("--limit", sites_args.limit, "With PID: at most this many sites")
      ->check(CLI::Range(size_t{1}, memproxy::heap_query::kMaxSites))
      ->capture_default_str();
  leaks->add_flag("-v,--stack", sites_args.stacks, "With PID: every frame of each site, inlined ones included");
  auto* collapsed = leaks->add_flag("--collapsed", sites_args.collapsed,
                                    "With PID: folded stacks, root first, with live bytes (flamegraph.pl, speedscope)");
  leaks->add_option("--pprof", sites_args.pprof_path, "With PID: write a gzipped pprof heap profile to FILE")
      ->excludes(collapsed);

  TraceArgs trace_args;
  auto* trace = app.add_subcommand("trace", "Every allocator call of a watched process, as it happens (Ctrl-C ends)");
  std::string trace_pid;
  trace->add_option("pid", trace_pid, "The process")->required();
  trace->add_option("--seconds", trace_args.seconds, "How long to trace")
      ->check(CLI::Range(memproxy::trace_query::kMinSeconds, memproxy::trace_query::kMaxSeconds))
      ->capture_default_str();
  trace->add_option("--filter", trace_args.filter, "Only calls whose size argument is at least N: size>=N (K, M, G)");

  if (std::string why = command_problem(app, argc, argv); !why.empty()) {
    std::cerr << "memproxyctl: " << why << "\nRun with --help for more information.\n";
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  for (auto [given, text, pid] : {std::tuple{leaks->parsed() && !leaks_pid.empty(), &leaks_pid, &sites_args.pid},
                                  std::tuple{trace->parsed(), &trace_pid, &trace_args.pid}}) {
    if (!given) continue;
    const std::optional<pid_t> parsed = parse_pid(*text);
    if (!parsed) {
      std::cerr << "memproxyctl: " << not_a_pid(*text) << '\n';
      return kExitUsage;
    }
    *pid = *parsed;
  }

  try {
    if (*check) return cmd_check(options, check_file);
    if (*top) return cmd_top(options, top_args);
    if (*history) return cmd_history(options, history_args);
    if (*report) return cmd_report(options, report_args);
    if (*leaks && sites_args.pid > 0) return cmd_sites(options, sites_args);
    if (*leaks) {
      if (sites_args.stacks || sites_args.collapsed || !sites_args.pprof_path.empty() ||
          leaks->count("--limit") != 0) {
        std::cerr << "memproxyctl: leaks: --stack, --collapsed, --pprof and --limit need a PID\n";
        return kExitUsage;
      }
      return cmd_leaks(options);
    }
    if (*trace) return cmd_trace(options, trace_args);
    if (*status) return cmd_status(options);
    if (*list) return cmd_list(options);
    if (*explain) return cmd_explain(options, explain_args);
    if (*doctor) return cmd_doctor(options, doctor_args);
    if (*enable) return cmd_preload_enable(options, preload_args);
    if (*disable) return cmd_preload_disable(options, preload_args);
    if (*preload_status) return cmd_preload_status(options, preload_args);
  } catch (const std::exception& e) {
    std::cerr << "memproxyctl: " << terminal_safe(e.what()) << '\n';
    return kExitInput;
  }
  return kExitUsage;
}
