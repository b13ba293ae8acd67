#include "unwatched.hpp"

#include <unistd.h>

#include <sys/stat.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <iterator>

#include "decision.hpp"
#include "memproxy/clock.hpp"
#include "memproxy/heap_query.hpp"
#include "output.hpp"
#include "process_info.hpp"
#include "query_client.hpp"
#include "table_file.hpp"

namespace memproxyctl {

namespace hq = memproxy::heap_query;

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

// Whether the process maps a heap account (its memfd's name in
// /proc/PID/maps); nullopt when the maps cannot be read.
std::optional<bool> has_account(pid_t pid) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  if (!maps) return std::nullopt;
  for (std::string line; std::getline(maps, line);) {
    if (line.find("/memfd:memproxy-heap-") != std::string::npos) return true;
  }
  return false;
}

// Whether the process is set-id or not dumpable: the kernel then gives
// /proc/PID to root, or its uids differ. The heap watch shows no such process.
bool privileged_or_private(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Uid:", 0) != 0 && line.rfind("Gid:", 0) != 0) continue;
    std::istringstream ids(line.substr(4));
    long first = -1, id = -1;
    ids >> first;
    while (ids >> id) {
      if (id != first) return true;
    }
  }
  const auto uid = memproxy::process::real_uid(pid);
  struct stat st {};
  return uid && ::stat(("/proc/" + std::to_string(pid)).c_str(), &st) == 0 && st.st_uid != *uid;
}

// Whether the daemon kept call sites of `process`, which ended.
bool sites_kept(const GlobalOptions& options, const hq::Process& process) {
  try {
    const hq::SitesAnswer sites = hq::sites_from_answer(ask(query_socket_path(options), hq::SitesRequest{process.pid, 1}));
    return sites.process.start_ticks == process.start_ticks && sites.process.ended_unix_ns != 0;
  } catch (const std::exception&) {
    return false;
  }
}

// What the daemon's history keeps of `pid` once it ended: "pid 4242
// (leaker) ended at ..., killed by ...: ..."; nullopt when the history
// holds no process of that pid that ended (or cannot be asked).
std::optional<std::string> ended_in_history(const GlobalOptions& options, pid_t pid) {
  hq::Request request;
  request.name = hq::request::kHistory;
  request.pid = pid;
  // No samples: only the process is wanted.
  request.since_unix_ns = request.until_unix_ns = memproxy::unix_now_ns();
  try {
    const hq::History history = ask(query_socket_path(options), request).get<hq::History>();
    const hq::Process& p = history.process;
    if (p.pid != pid || p.ended_unix_ns == 0) return std::nullopt;
    const std::string number = std::to_string(pid);
    const std::string ended = "pid " + number + " (" + p.program + ") ended at " + format_unix_ns(p.ended_unix_ns) +
                              (p.ended_how.empty() ? "" : ", " + p.ended_how);
    if (sites_kept(options, p)) {
      return ended + ": its trace ended with it; memproxyctl leaks " + number +
             " shows its call sites as the daemon kept them while it ran, history " + number + " and report " +
             number + " its samples and its last verdict";
    }
    return ended + ": its trace ended with it, and no call sites of it were kept (the daemon keeps them every few "
                   "minutes while a process runs); memproxyctl history " + number + " and report " + number +
           " show its samples and its last verdict";
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::string why_unwatched(const GlobalOptions& options, pid_t pid) {
  const std::string p = "pid " + std::to_string(pid);
  const ProcessInfo process = inspect_process(pid);
  if (!process.exists) {
    if (std::optional<std::string> ended = ended_in_history(options, pid)) return *ended;
    return "no process has " + p + " (it has ended, or never ran)";
  }
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
  if (has_account(pid) == std::optional<bool>(false)) {
    return named + " is monitored but has no heap account: the library could not make one (run the program with "
                   "MEMPROXY_DEBUG=1 to see why)";
  }
  if (privileged_or_private(pid)) {
    return named + " is set-id or not dumpable: the heap watch shows no process its owner could not trace";
  }
  return named + " has a heap account, yet memproxyd does not watch it: memproxyd's log says whether it refused it "
                 "(\"heap socket: refused pid " + std::to_string(pid) + "\") or has not found it yet";
}

}  // namespace memproxyctl
