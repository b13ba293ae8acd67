// The terminal the heap views draw on: its size, and the live screen of
// `memproxyctl top` (alternate screen, no cursor, keys read one at a time),
// which is always given back as it was found: on q, on Ctrl-C or SIGTERM,
// and on an exception.
#ifndef MEMPROXYCTL_TERMINAL_HPP
#define MEMPROXYCTL_TERMINAL_HPP

#include <termios.h>

#include <chrono>
#include <string>

namespace memproxyctl {

struct TerminalSize {
  int columns = 80;
  int rows = 24;
};

// ioctl(TIOCGWINSZ) on stdout, else $COLUMNS and $LINES, else 80x24.
TerminalSize terminal_size();

class LiveScreen {
 public:
  LiveScreen();  // takes over the terminal when stdin and stdout are terminals
  ~LiveScreen();
  LiveScreen(const LiveScreen&) = delete;
  LiveScreen& operator=(const LiveScreen&) = delete;

  // Replaces the screen's content with `text`.
  void show(const std::string& text);
  // Waits up to `limit` for a key; false when the user asked to quit
  // (q, Q, Ctrl-C, SIGTERM) or the input ended.
  bool wait(std::chrono::milliseconds limit);

 private:
  bool raw_ = false;
  termios saved_{};
};

}  // namespace memproxyctl

#endif
