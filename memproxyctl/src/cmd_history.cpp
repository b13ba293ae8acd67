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

namespace memproxyctl {

namespace hq = memproxy::heap_query;

namespace {

std::string describe(const hq::History& h) {
  std::string text = "pid " + std::to_string(h.process.pid) + " (" + h.process.program + ", user " + h.process.user +
                     (h.process.ended_unix_ns != 0 ? ", ended" : "") + "): " + std::to_string(h.samples.size()) +
                     " sample" + (h.samples.size() == 1 ? "" : "s");
  if (!h.samples.empty()) {
    text += " from " + format_unix_ns(h.samples.front().unix_ns) + " to " + format_unix_ns(h.samples.back().unix_ns);
  }
  if (h.truncated) text += " (the oldest left out: at most " + std::to_string(hq::kMaxHistorySamples) + ")";
  return text;
}

}  // namespace

int cmd_history(const GlobalOptions& options, const HistoryArgs& args) {
  const int64_t now = now_unix_ns();
  auto built = history_request(args.target, args.force_name, args.since, args.until, now);
  if (auto* why = std::get_if<std::string>(&built)) {
    std::cerr << "memproxyctl: " << *why << '\n';
    return kExitUsage;
  }
  const hq::Request& request = std::get<hq::Request>(built);
  try {
    nlohmann::json answer = ask(query_socket_path(options), request);
    if (options.json) {
      print_json(answer);
      return kExitOk;
    }
    hq::History history = answer.get<hq::History>();
    if (args.csv) {
      std::cout << history_csv(history.samples);
      return kExitOk;
    }
    TerminalSize terminal = terminal_size();
    std::vector<ChartPanel> panels{{"live heap bytes", {}}, {"resident set (RSS)", {}}};
    for (const hq::Sample& s : history.samples) {
      panels[0].points.push_back({s.unix_ns, s.live_bytes});
      panels[1].points.push_back({s.unix_ns, s.rss_bytes});
    }
    std::cout << describe(history) << '\n';
    // The description, the verdict and the shell's prompt take three lines.
    ChartSize size{terminal.columns, std::max(terminal.rows - 3, 6),
                   local_utc_offset_s(history.samples.empty() ? now : history.samples.back().unix_ns)};
    for (const std::string& line : render_chart(panels, size)) std::cout << line << '\n';
    std::cout << verdict_line(history.verdict) << '\n';
    return kExitOk;
  } catch (const DaemonUnreachable& e) {
    std::cerr << "memproxyctl: " << e.what() << '\n';
    return kExitInput;
  } catch (const QueryFailed& e) {
    std::cerr << "memproxyctl: " << e.what() << '\n';
    return kExitInput;
  } catch (const nlohmann::json::exception& e) {
    std::cerr << "memproxyctl: memproxyd's answer is not a history: " << e.what() << '\n';
    return kExitInput;
  }
}

}  // namespace memproxyctl
