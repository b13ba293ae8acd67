#include "terminal.hpp"

#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

namespace memproxyctl {
namespace {

volatile std::sig_atomic_t g_quit = 0;

extern "C" void on_quit_signal(int) { g_quit = 1; }

int env_number(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return 0;
  char* end = nullptr;
  long n = std::strtol(value, &end, 10);
  return end != value && *end == '\0' && n > 0 && n < 100000 ? static_cast<int>(n) : 0;
}

void write_all(const std::string& text) {
  for (size_t done = 0; done < text.size();) {
    ssize_t n = ::write(STDOUT_FILENO, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

}  // namespace

TerminalSize terminal_size() {
  TerminalSize size;
  winsize w{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 0 && w.ws_row > 0) {
    size.columns = w.ws_col;
    size.rows = w.ws_row;
    return size;
  }
  if (int columns = env_number("COLUMNS")) size.columns = columns;
  if (int rows = env_number("LINES")) size.rows = rows;
  return size;
}

LiveScreen::LiveScreen() {
  struct sigaction quit {};
  quit.sa_handler = on_quit_signal;
  sigemptyset(&quit.sa_mask);
  ::sigaction(SIGINT, &quit, nullptr);
  ::sigaction(SIGTERM, &quit, nullptr);
  if (::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO) && ::tcgetattr(STDIN_FILENO, &saved_) == 0) {
    termios raw = saved_;
    raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO));  // ISIG stays: Ctrl-C is SIGINT
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    raw_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    write_all("\x1b[?1049h\x1b[?25l");  // alternate screen, cursor hidden
  }
}

LiveScreen::~LiveScreen() {
  if (raw_) {
    write_all("\x1b[?25h\x1b[?1049l");
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

void LiveScreen::show(const std::string& text) {
  write_all(raw_ ? "\x1b[H\x1b[2J" + text : text + "\n");
}

bool LiveScreen::wait(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!g_quit) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return true;
    pollfd p{STDIN_FILENO, POLLIN, 0};
    int ready = ::poll(&p, raw_ ? 1 : 0, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char key = 0;
    ssize_t n = ::read(STDIN_FILENO, &key, 1);
    if (n == 0) return false;
    if (n == 1 && (key == 'q' || key == 'Q')) return false;
  }
  return false;
}

}  // namespace memproxyctl
