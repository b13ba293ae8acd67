// One function per subcommand. Each prints its answer (text, or JSON when
// options.json) and returns an ExitCode.
#ifndef MEMPROXYCTL_COMMANDS_HPP
#define MEMPROXYCTL_COMMANDS_HPP

#include <sys/types.h>

#include <cstdint>

#include <cstddef>
#include <string>

#include "options.hpp"

namespace memproxyctl {

int cmd_check(const GlobalOptions& options, const std::string& file);
int cmd_status(const GlobalOptions& options);
int cmd_list(const GlobalOptions& options);

struct ExplainArgs {
  std::string target;       // NAME, PATH or PID
  bool force_name = false;  // an all-digit target is a name, not a PID
};
int cmd_explain(const GlobalOptions& options, const ExplainArgs& args);

struct DoctorArgs {
  std::string preload_file;  // the global preload file to examine
  std::string library64;     // the installed libmemproxy of each bitness
  std::string library32;
};
int cmd_doctor(const GlobalOptions& options, const DoctorArgs& args);

struct PreloadArgs {
  std::string file;         // the preload file to read or edit
  std::string library;      // the libmemproxy entry to write ("" = platform default)
  std::string library32;    // crle: the 32-bit library
  std::string allocator;    // enable: also preload this allocator after libmemproxy
  bool dry_run = false;     // enable/disable: print the new file, write nothing
  bool print_crle = false;  // print the Solaris crle(1) commands instead of editing
  bool allow_second_allocator = false;  // enable: add `allocator` even when another is listed
  std::string verify_program;           // enable: the test program ("" = the platform's)
  double verify_timeout_s = 10;         // enable: the test program is killed after this long
};
int cmd_preload_status(const GlobalOptions& options, const PreloadArgs& args);
int cmd_preload_enable(const GlobalOptions& options, const PreloadArgs& args);
int cmd_preload_disable(const GlobalOptions& options, const PreloadArgs& args);

// The heap watch's views, asked of the daemon on its query socket.
struct TopArgs {
  bool once = false;         // print once, even on a terminal
  std::string sort = "live"; // heap_tables.hpp's top_order() names
};
int cmd_top(const GlobalOptions& options, const TopArgs& args);

struct HistoryArgs {
  std::string target;       // PID or PROGRAM
  bool force_name = false;  // an all-digit target is a program name, not a PID
  std::string since;        // time_spec.hpp's forms; "" = everything kept
  std::string until;
  bool csv = false;
};
int cmd_history(const GlobalOptions& options, const HistoryArgs& args);

struct ReportArgs {
  std::string target;       // PID or PROGRAM, as for history
  bool force_name = false;
  std::string since;        // as for history
  std::string until;
  std::string output;       // the HTML file to write
  size_t sites = 20;        // call sites asked for (1..kMaxSites)
};
// Exits kExitRefused when the file cannot be written.
int cmd_report(const GlobalOptions& options, const ReportArgs& args);

// Exits kExitNegative when some process is growing.
int cmd_leaks(const GlobalOptions& options);

struct TraceArgs {
  pid_t pid = 0;
  uint32_t seconds = 10;  // memproxy/trace_query.hpp's kMinSeconds..kMaxSeconds
  std::string filter;     // "size>=N"; "" = every call
};
int cmd_trace(const GlobalOptions& options, const TraceArgs& args);

// `leaks PID`: one process's call sites. Exits kExitNegative when some site
// is growing.
struct SitesArgs {
  pid_t pid = 0;
  size_t limit = 50;          // heap_query::kDefaultSites
  bool stacks = false;        // -v/--stack: every frame of each site
  bool collapsed = false;     // --collapsed: folded stacks instead of the table
  std::string pprof_path;     // --pprof FILE: also write a gzipped pprof profile (no table then)
};
int cmd_sites(const GlobalOptions& options, const SitesArgs& args);

}  // namespace memproxyctl

#endif
