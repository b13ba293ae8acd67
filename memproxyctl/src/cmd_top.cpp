// `memproxyctl top`: the watched processes' heaps, refreshed every second.
#include <unistd.h>

#include <iostream>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "heap_tables.hpp"
#include "human_units.hpp"
#include "output.hpp"
#include "query_client.hpp"
#include "terminal.hpp"

namespace memproxyctl {

namespace hq = memproxy::heap_query;

namespace {

std::string screen(std::vector<hq::View> views, const TopArgs& args, TerminalSize size) {
  sort_views(views, *top_order(args.sort));
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  std::string text = "memproxy top: " + std::to_string(views.size()) + " watched process" +
                     (views.size() == 1 ? "" : "es") + " at " + clock_time(now, local_utc_offset_s(now), false) +
                     ", sorted by " + args.sort + "\n";
  std::vector<std::string> lines = top_lines(views, size.columns, *top_order(args.sort));
  if (views.empty()) lines.push_back("(no monitored process is running: programs are listed under [monitor] in memproxy.conf)");
  // The live screen keeps a line for the header and one for the cursor.
  const size_t room = args.once ? lines.size() : static_cast<size_t>(std::max(size.rows - 2, 2));
  for (size_t i = 0; i < lines.size() && i < room; ++i) text += lines[i] + "\n";
  if (lines.size() > room) text += "(" + std::to_string(lines.size() - room) + " more)\n";
  return text;
}

}  // namespace

int cmd_top(const GlobalOptions& options, const TopArgs& args) {
  const std::string socket = query_socket_path(options);
  hq::Request request;
  request.name = hq::request::kTop;
  return with_daemon(options, [&] {
    if (options.json) {
      print_json(ask(socket, request));
      return kExitOk;
    }
    if (args.once || !::isatty(STDOUT_FILENO)) {
      std::cout << screen(hq::views_from_answer(ask(socket, request)), args, terminal_size());
      return kExitOk;
    }
    LiveScreen live;
    do {
      live.show(screen(hq::views_from_answer(ask(socket, request)), args, terminal_size()));
    } while (live.wait(std::chrono::seconds(1)));
    return kExitOk;
  });
}

}  // namespace memproxyctl
