// `memproxyctl report PID|PROGRAM -o FILE.html`: the process's history,
// verdict and call sites as one self-contained HTML page (report_html.hpp),
// written atomically: a reader of FILE sees the old report or the new one.
#include <sys/stat.h>

#include <iostream>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "history_request.hpp"
#include "human_units.hpp"
#include "memproxy/atomic_replace.hpp"
#include "output.hpp"
#include "query_client.hpp"
#include "report_html.hpp"
#include "memproxy/clock.hpp"

namespace memproxyctl {

namespace hq = memproxy::heap_query;

namespace {

// The call sites of the process `history` is about, or why there are none:
// any failure here leaves the rest of the report standing.
std::variant<hq::SitesAnswer, std::string> sites_of(const std::string& socket, const hq::History& history,
                                                    size_t limit) {
  try {
    nlohmann::json answer = ask(socket, hq::SitesRequest{history.process.pid, limit});
    hq::SitesAnswer sites = hq::sites_from_answer(answer);
    // A pid is reused: the sites must be of the process the history is of.
    if (sites.process.pid != history.process.pid || sites.process.start_ticks != history.process.start_ticks) {
      return "memproxyd's call sites for pid " + std::to_string(history.process.pid) +
             " are of another process (started " + format_unix_ns(sites.process.started_unix_ns) +
             "): the one reported has ended";
    }
    return sites;
  } catch (const DaemonUnreachable& e) {
    return std::string(e.what());
  } catch (const QueryFailed& e) {
    return "memproxyd did not give them: " + std::string(e.what());
  } catch (const nlohmann::json::exception& e) {
    return "memproxyd's answer is not a list of call sites: " + std::string(e.what());
  }
}

// What a newly created file gets: 0666 less the umask, as for any file a
// program creates.
mode_t creation_mode() {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}

}  // namespace

int cmd_report(const GlobalOptions& options, const ReportArgs& args) {
  const int64_t now = memproxy::unix_now_ns();
  auto built = history_request(args.target, args.force_name, args.since, args.until, now);
  if (auto* why = std::get_if<std::string>(&built)) {
    std::cerr << "memproxyctl: " << *why << '\n';
    return kExitUsage;
  }
  const std::string socket = query_socket_path(options);
  const hq::Request& request = std::get<hq::Request>(built);
  ReportInput input;
  input.generated_unix_ns = now;
  const int asked = with_daemon(options, [&] {
    input.history = ask(socket, request).get<hq::History>();
    return kExitOk;
  }, request.pid);
  if (asked != kExitOk) return asked;
  const std::string note = chosen_process_note(socket, request, input.history.process);
  input.sites = sites_of(socket, input.history, args.sites);
  input.utc_offset_s =
      local_utc_offset_s(input.history.samples.empty() ? now : input.history.samples.back().unix_ns);

  const std::string error = memproxy::atomic::replace_file(args.output, report_html(input), creation_mode());
  if (!error.empty()) {
    std::cerr << "memproxyctl: cannot write the report: " << error << '\n';
    return kExitRefused;
  }
  std::cout << report_summary(args.output, input) << '\n';
  if (!note.empty()) std::cout << note << '\n';
  return kExitOk;
}

}  // namespace memproxyctl
