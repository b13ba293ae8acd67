#include "unwatched.hpp"

#include <unistd.h>

#include <fstream>
#include <iterator>

#include "daemon_probe.hpp"
#include "decision.hpp"
#include "output.hpp"
#include "process_info.hpp"
#include "table_file.hpp"

namespace memproxyctl {

namespace {

// Whether MEMPROXY_MONITOR=1 is in the process's environment as it
// started; nullopt when the environment cannot be read.
std::optional<bool> monitor_requested(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  if (!in) return std::nullopt;
  const std::string env((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string entry = "MEMPROXY_MONITOR=1";
  for (size_t at = 0; at < env.size();) {
    size_t end = env.find('\0', at);
    if (end == std::string::npos) end = env.size();
    if (env.compare(at, end - at, entry) == 0) return true;
    at = end + 1;
  }
  return false;
}

// When the process started, in Unix nanoseconds; 0 when unknown.
int64_t started_unix_ns(pid_t pid) {
  const auto ticks = memproxy::process::start_ticks(pid);
  const long hz = ::sysconf(_SC_CLK_TCK);
  std::ifstream stat("/proc/stat");
  std::string key;
  int64_t boot_s = 0;
  while (stat >> key) {
    if (key == "btime") {
      stat >> boot_s;
      break;
    }
  }
  if (!ticks || hz <= 0 || boot_s == 0) return 0;
  return boot_s * 1'000'000'000 + static_cast<int64_t>(*ticks) * (1'000'000'000 / hz);
}

}  // namespace

std::string why_unwatched(const GlobalOptions& options, pid_t pid) {
  const std::string p = "pid " + std::to_string(pid);
  const ProcessInfo process = inspect_process(pid);
  if (!process.exists) return "no process has " + p + " (it has ended, or never ran)";
  const auto uid = memproxy::process::real_uid(pid);
  if (uid && *uid != ::getuid() && ::geteuid() != 0) {
    return p + " is another user's (uid " + std::to_string(*uid) +
           "): memproxyd shows each user their own processes only, and root all of them";
  }
  const std::string named = p + " (" + base_name(process.invoked_path) + ")";
  if (!process.maps_readable) return "cannot read /proc/" + std::to_string(pid) + "/maps to tell why " + p + " is not watched";
  if (!process.memproxy_mapped) {
    return "libmemproxy.so is not in /proc/" + std::to_string(pid) + "/maps: " + named +
           " was not started with memproxy preloaded (see memproxyctl explain " + std::to_string(pid) + ")";
  }
  const TableFile table = load_table(options.table_path);
  if (table.valid()) {
    const Decision decision = decide(table, {base_name(process.invoked_path), process.resolved_path});
    if (!decision.monitored && monitor_requested(pid) != std::optional<bool>(true)) {
      return named + " is not listed under [monitor] in " + options.config_path +
             " (by its name or binary), nor started with MEMPROXY_MONITOR=1";
    }
  }
  const DaemonState daemon = probe_daemon(options.table_path);
  const int64_t started = started_unix_ns(pid);
  if (daemon.record && started != 0 && daemon.record->started_unix_ns != 0 && started < daemon.record->started_unix_ns) {
    return named + " started at " + format_unix_ns(started) + ", before memproxyd (started at " +
           format_unix_ns(daemon.record->started_unix_ns) +
           "): a process hands its heap to the daemon listening when it starts; restart it to have it watched";
  }
  return named + " is preloaded and monitored, yet memproxyd does not watch it: see memproxyctl explain " +
         std::to_string(pid) + " and memproxyd's log";
}

}  // namespace memproxyctl
