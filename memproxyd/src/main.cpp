// memproxyd: parses and watches memproxy.conf and publishes the routing table.
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <exception>
#include <string>

#include "check.hpp"
#include "options.hpp"
#include "service.hpp"

namespace {

// The daemon chdir()s to / when it goes to the background; relative paths
// from the command line must keep meaning what the admin meant. Symlinks are
// kept: the watcher needs the link itself.
std::string absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd) == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace memproxy::daemon;
  ParsedOptions parsed = parse_options(argc, argv);
  if (!parsed.options) return parsed.exit_code;
  Options options = *parsed.options;
  if (options.check) return run_check(options);
  options.config_path = absolute(options.config_path);
  options.table_path = absolute(options.table_path);
  options.heap_socket = absolute(options.heap_socket);
  options.query_socket = absolute(options.query_socket);
  options.prometheus_textfile = absolute(options.prometheus_textfile);
  options.history_path = absolute(options.history_path);
  options.symbolizer = absolute(options.symbolizer);
  try {
    return run_service(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "memproxyd: fatal: %s\n", e.what());
    return kExitFailure;
  }
}
