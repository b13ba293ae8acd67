// `memproxyctl history PID|PROGRAM`: one process's live heap and RSS over
// time, as a terminal chart with its verdict, or as JSON or CSV.
#include <iostream>

#include "chart.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "heap_tables.hpp"
#include "history_request.hpp"
#include "human_units.hpp"
#include "output.hpp"
#include "query_client.hpp"
#include "terminal.hpp"
#include "memproxy/clock.hpp"

namespace memproxyctl {

namespace hq = memproxy::heap_query;

int cmd_history(const GlobalOptions& options, const HistoryArgs& args) {
  const int64_t now = memproxy::unix_now_ns();
  auto built = history_request(args.target, args.force_name, args.since, args.until, now);
  if (auto* why = std::get_if<std::string>(&built)) {
    std::cerr << "memproxyctl: " << *why << '\n';
    return kExitUsage;
  }
  const hq::Request& request = std::get<hq::Request>(built);
  const std::string socket = query_socket_path(options);
  return with_daemon(options, [&] {
    nlohmann::json answer = ask(socket, request);
    hq::History history = answer.get<hq::History>();
    const std::string note = chosen_process_note(socket, request, history.process);
    if (options.json || args.csv) {
      if (!note.empty()) std::cerr << "memproxyctl: " << note << '\n';
      if (options.json) {
        print_json(answer);
      } else {
        std::cout << history_csv(history.samples);
      }
      return kExitOk;
    }
    TerminalSize terminal = terminal_size();
    std::vector<ChartPanel> panels{{"live heap bytes", {}}, {"resident set (RSS)", {}}};
    for (const hq::Reading& s : history.samples) {
      panels[0].points.push_back({s.unix_ns, s.live_bytes});
      panels[1].points.push_back({s.unix_ns, s.rss_bytes});
    }
    std::cout << history_heading(history) << '\n';
    if (!note.empty()) std::cout << note << '\n';
    // The heading, the verdict and the shell's prompt take three lines (and the note one).
    ChartSize size{terminal.columns, std::max(terminal.rows - 3 - (note.empty() ? 0 : 1), 6),
                   local_utc_offset_s(history.samples.empty() ? now : history.samples.back().unix_ns)};
    for (const std::string& line : render_chart(panels, size)) std::cout << line << '\n';
    std::cout << verdict_line(history.verdict, history.process.ended_unix_ns != 0) << '\n';
    return kExitOk;
  }, request.pid);
}

}  // namespace memproxyctl
