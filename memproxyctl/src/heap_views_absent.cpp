// The heap views of a memproxyctl built without the heap watch
// (MEMPROXY_HEAP_WATCH=OFF): the commands parse as in every build, so a
// script learns from the exit status, not from a usage error, that this
// build cannot answer them.
#include <iostream>

#include "commands.hpp"
#include "exit_codes.hpp"

namespace memproxyctl {
namespace {

int no_heap_watch(const char* command) {
  std::cerr << "memproxyctl: " << command
            << ": this memproxyctl is built without the heap watch (MEMPROXY_HEAP_WATCH=OFF); "
               "it has the routing commands only\n";
  return kExitNoHeapWatch;
}

}  // namespace

int cmd_top(const GlobalOptions&, const TopArgs&) { return no_heap_watch("top"); }
int cmd_history(const GlobalOptions&, const HistoryArgs&) { return no_heap_watch("history"); }
int cmd_report(const GlobalOptions&, const ReportArgs&) { return no_heap_watch("report"); }
int cmd_leaks(const GlobalOptions&) { return no_heap_watch("leaks"); }
int cmd_trace(const GlobalOptions&, const TraceArgs&) { return no_heap_watch("trace"); }
int cmd_sites(const GlobalOptions&, const SitesArgs&) { return no_heap_watch("leaks"); }

}  // namespace memproxyctl
