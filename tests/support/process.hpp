// Running the programs a test observes: one runner for every test of the
// project. A child gets exactly the environment it is given (nothing
// inherited), its stdout and stderr are captured, and every wait is bounded,
// so a deadlock or a hang fails the test instead of hanging the suite.
//
//   run(argv, env)            start, wait for the exit, return everything
//   Process(argv, env)        start, then talk to it: read its output line
//                             by line, wait for it to stop (SIGSTOP),
//                             continue it, signal it, wait for its exit
//   spawn_logged(...)         start a long-running child (a daemon) whose
//                             output goes to files, nobody having to drain
//                             it; wait_exit() bounds the wait for its end
#ifndef MEMPROXY_TESTS_PROCESS_HPP
#define MEMPROXY_TESTS_PROCESS_HPP

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace memproxy::testing {

struct Outcome {
  bool exited = false;    // exited normally: code is its status
  int code = -1;
  int signal = 0;         // killed by this signal
  bool timed_out = false; // killed by the runner at the deadline
  std::string out;
  std::string err;
  // The outcome and both outputs, for assertion messages.
  std::string describe() const;
  bool ok() const { return exited && code == 0; }
};

struct Options {
  std::chrono::milliseconds timeout{std::chrono::seconds(120)};
  std::string cwd;    // "" = the test's own
  std::string input;  // written to the child's stdin, then closed
  // The child starts with 0, 1 and 2 open and nothing else the test's
  // process inherited (from its shell, its runner): for a test of what the
  // child itself finds open.
  bool only_standard_descriptors = false;
};

Outcome run(const std::vector<std::string>& argv, const std::vector<std::string>& env, const Options& options = {});

class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::vector<std::string>& env, const Options& options = {});
  ~Process();  // kills and reaps a child still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // The next line of stdout (without the newline), or nullopt at EOF or the deadline.
  std::optional<std::string> read_line(std::chrono::milliseconds limit = std::chrono::seconds(30));
  // Waits until the child stops itself (raise(SIGSTOP)); false at the deadline or if it exited.
  bool wait_stopped(std::chrono::milliseconds limit = std::chrono::seconds(30));
  void resume();
  void signal(int sig);
  // Waits for the exit (killing the child at the deadline) and collects the rest of its output.
  Outcome finish(std::chrono::milliseconds limit = std::chrono::seconds(30));

 private:
  void pump(std::chrono::milliseconds wait);
  pid_t pid_ = -1;
  int out_ = -1, err_ = -1;
  std::string out_buffer_, out_all_, err_all_;
  bool reaped_ = false;
  int status_ = 0;
};

// The test's own environment, for a child meant to inherit it.
std::vector<std::string> inherited_environment();

// Starts argv[0] with stdin from /dev/null and stdout and stderr appended
// to the given files (they may be the same file).
pid_t spawn_logged(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                   const std::string& out_path, const std::string& err_path);

// Waits for `pid` to exit: its exit status, 128 + the signal that ended it,
// -1 if it is not our child, or nullopt when it still runs at the limit.
std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds limit);

// `argv` prefixed to run as `nobody` (setpriv, groups cleared); the
// environment passes through. capability.hpp tells whether it can. Nobody
// may not reach the build tree: a program of the tree is passed as its copy
// in a StagedForOtherUser (staged.hpp), never in place.
std::vector<std::string> as_nobody(std::vector<std::string> argv);

}  // namespace memproxy::testing

#endif
