#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>
#include <stdexcept>

extern char** environ;

namespace memproxy::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

}  // namespace

std::string Outcome::describe() const {
  std::ostringstream s;
  s << "exited=" << exited << " code=" << code << " signal=" << signal << " timed_out=" << timed_out
    << "\n--- stdout\n" << out << "--- stderr\n" << err;
  return s.str();
}

Process::Process(const std::vector<std::string>& argv, const std::vector<std::string>& env, const Options& options) {
  int out_pipe[2], err_pipe[2], in_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 || pipe2(in_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  auto args = c_strings(argv);
  auto envp = c_strings(env);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    if (options.only_standard_descriptors && close_range(3, ~0u, 0) != 0) _exit(126);
    if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) _exit(126);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (!options.input.empty()) {
    ssize_t ignored = write(in_pipe[1], options.input.data(), options.input.size());
    (void)ignored;
  }
  close(in_pipe[1]);
  out_ = out_pipe[0];
  err_ = err_pipe[0];
  fcntl(out_, F_SETFL, O_NONBLOCK);
  fcntl(err_, F_SETFL, O_NONBLOCK);
}

Process::~Process() {
  if (!reaped_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
  }
  if (out_ >= 0) close(out_);
  if (err_ >= 0) close(err_);
}

// Reads what is available from both pipes, waiting up to `wait` for some.
void Process::pump(std::chrono::milliseconds wait) {
  pollfd fds[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
  int n = 0;
  for (auto& f : fds) n += f.fd >= 0;
  if (n == 0) return;
  if (poll(fds, 2, static_cast<int>(wait.count())) <= 0) return;
  for (int i = 0; i < 2; ++i) {
    if (fds[i].fd < 0 || fds[i].revents == 0) continue;
    char buf[4096];
    for (;;) {
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        if (i == 0) {
          out_buffer_.append(buf, static_cast<size_t>(got));
          out_all_.append(buf, static_cast<size_t>(got));
        } else {
          err_all_.append(buf, static_cast<size_t>(got));
        }
        continue;
      }
      if (got == 0) {
        close(fds[i].fd);
        (i == 0 ? out_ : err_) = -1;
      }
      break;
    }
  }
}

std::optional<std::string> Process::read_line(std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  for (;;) {
    size_t newline = out_buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = out_buffer_.substr(0, newline);
      out_buffer_.erase(0, newline + 1);
      return line;
    }
    if (out_ < 0 || Clock::now() >= deadline) return std::nullopt;
    pump(std::chrono::milliseconds(remaining_ms(deadline)));
  }
}

bool Process::wait_stopped(std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG | WUNTRACED);
    if (r == pid_) {
      if (WIFSTOPPED(status)) return true;
      reaped_ = true;
      status_ = status;
      return false;
    }
    pump(std::chrono::milliseconds(5));
  }
  return false;
}

void Process::resume() { kill(pid_, SIGCONT); }

void Process::signal(int sig) { kill(pid_, sig); }

Outcome Process::finish(std::chrono::milliseconds limit) {
  Outcome o;
  auto deadline = Clock::now() + limit;
  while (!reaped_) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      status_ = status;
      break;
    }
    if (Clock::now() >= deadline) {
      o.timed_out = true;
      kill(pid_, SIGKILL);
      waitpid(pid_, &status_, 0);
      reaped_ = true;
      break;
    }
    pump(std::chrono::milliseconds(5));
  }
  // The pipes close once every writer is gone; a grandchild may hold them.
  auto drain_until = Clock::now() + std::chrono::seconds(2);
  while ((out_ >= 0 || err_ >= 0) && Clock::now() < drain_until) pump(std::chrono::milliseconds(20));
  o.exited = WIFEXITED(status_);
  o.code = o.exited ? WEXITSTATUS(status_) : -1;
  o.signal = WIFSIGNALED(status_) ? WTERMSIG(status_) : 0;
  o.out = out_all_;
  o.err = err_all_;
  return o;
}

Outcome run(const std::vector<std::string>& argv, const std::vector<std::string>& env, const Options& options) {
  Process p(argv, env, options);
  return p.finish(options.timeout);
}

std::vector<std::string> inherited_environment() {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.emplace_back(*e);
  return env;
}

pid_t spawn_logged(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                   const std::string& out_path, const std::string& err_path) {
  auto args = c_strings(argv);
  auto envp = c_strings(env);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int err = err_path == out_path ? out : open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || out < 0 || err < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  return pid;
}

std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0) return -1;
    if (Clock::now() >= deadline) return std::nullopt;
    usleep(2000);
  }
}

std::vector<std::string> as_nobody(std::vector<std::string> argv) {
  uid_t uid = 65534;
  gid_t gid = 65534;
  if (const passwd* p = getpwnam("nobody")) {
    uid = p->pw_uid;
    gid = p->pw_gid;
  }
  std::vector<std::string> full{"/usr/bin/setpriv", "--reuid=" + std::to_string(uid), "--regid=" + std::to_string(gid),
                                "--clear-groups", "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  return full;
}

}  // namespace memproxy::testing
