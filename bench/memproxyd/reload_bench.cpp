// memproxyd-bench-reload [--edits N] [--entries N] [--watch inotify|poll] [--config-dir DIR] [--table-dir DIR]
//
// Reload latency: a memproxyd runs in the foreground; N times, the config is
// changed (alternately rewritten in place and replaced by rename, like an
// editor) to name one new program, and the clock runs from just before the
// write until a newly started process (memproxyd-probe: maps the table, looks
// the program up) first reports it listed. That includes the watcher, the
// coalescing delay, parse, build, write, rename and the probe's own start-up,
// whose cost alone is printed for reference. Prints p50/p90/p99/max.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

#include "bench_stats.hpp"

namespace {

using memproxyd_bench::Clock;
using memproxyd_bench::ms_since;
using memproxyd_bench::percentile;

pid_t spawn(const std::vector<std::string>& argv, int out_fd, const std::string& err_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (out_fd >= 0) posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

// Runs the probe as a new process; true when it reports `key` listed.
bool new_process_sees(const std::string& table, const std::string& key) {
  int fds[2];
  if (::pipe(fds) != 0) return false;
  pid_t pid = spawn({MEMPROXYD_PROBE, table, key}, fds[1], "/dev/null");
  ::close(fds[1]);
  std::string out;
  char buffer[256];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) out.append(buffer, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  auto pos = out.find(key + "=");
  return pos != std::string::npos && out.compare(pos + key.size() + 1, 1, "0") != 0;
}

void write_in_place(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

void write_by_rename(const std::string& path, const std::string& text) {
  write_in_place(path + ".tmp", text);
  std::rename((path + ".tmp").c_str(), path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  int edits = 200;
  int entries = 100;
  std::string watch = "inotify";
  std::string config_dir = std::filesystem::temp_directory_path().string();
  std::string table_dir = "/dev/shm";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string arg = argv[i];
    if (arg == "--edits") edits = std::atoi(argv[i + 1]);
    else if (arg == "--entries") entries = std::atoi(argv[i + 1]);
    else if (arg == "--watch") watch = argv[i + 1];
    else if (arg == "--config-dir") config_dir = argv[i + 1];
    else if (arg == "--table-dir") table_dir = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  const std::string tag = "memproxyd-bench-" + std::to_string(::getpid());
  const std::string work = config_dir + "/" + tag, run = table_dir + "/" + tag;
  std::filesystem::create_directories(work);
  std::filesystem::create_directories(run);
  ::chmod(run.c_str(), 0755);
  const std::string config = work + "/memproxy.conf", table = run + "/table", log = work + "/daemon.log";

  std::string base;
  for (int i = 0; i < entries; ++i) base += "program-" + std::to_string(i) + "\n";
  write_in_place(config, base);

  pid_t daemon = spawn({MEMPROXYD_BIN, "-f", "--no-history", "-c", config, "-t", table, "--watch", watch,
                        "--poll-interval", "10"},
                       -1, log);
  auto deadline = Clock::now() + std::chrono::seconds(20);
  while (!new_process_sees(table, "program-0")) {
    if (Clock::now() > deadline) {
      std::fprintf(stderr, "the daemon published nothing; see %s\n", log.c_str());
      ::kill(daemon, SIGKILL);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  std::vector<double> probe_alone;
  for (int i = 0; i < 50; ++i) {
    auto t0 = Clock::now();
    new_process_sees(table, "program-0");
    probe_alone.push_back(ms_since(t0));
  }

  std::vector<double> in_place, renamed, all;
  int lost = 0;
  for (int i = 0; i < edits; ++i) {
    const std::string key = "edit-" + std::to_string(i);
    const bool by_rename = i % 2 == 1;
    auto t0 = Clock::now();
    (by_rename ? write_by_rename : write_in_place)(config, base + key + "\n");
    bool seen = false;
    while (!(seen = new_process_sees(table, key)) && ms_since(t0) < 10'000) {
    }
    double latency = ms_since(t0);
    if (!seen) {
      ++lost;
      continue;
    }
    (by_rename ? renamed : in_place).push_back(latency);
    all.push_back(latency);
  }
  ::kill(daemon, SIGTERM);
  int status = 0;
  ::waitpid(daemon, &status, 0);

  std::printf("reload latency: %d edits of a %d-entry config (watch=%s, config in %s, table in %s)\n", edits,
              entries, watch.c_str(), config_dir.c_str(), table_dir.c_str());
  std::printf("%-22s %6s %9s %9s %9s %9s\n", "", "n", "p50 ms", "p90 ms", "p99 ms", "max ms");
  auto row = [](const char* name, const std::vector<double>& v) {
    if (v.empty()) return;
    std::printf("%-22s %6zu %9.2f %9.2f %9.2f %9.2f\n", name, v.size(), percentile(v, 0.5), percentile(v, 0.9),
                percentile(v, 0.99), *std::max_element(v.begin(), v.end()));
  };
  row("all edits", all);
  row("in-place writes", in_place);
  row("rename-replace", renamed);
  row("probe process alone", probe_alone);
  if (lost > 0) std::printf("edits never seen within 10 s: %d\n", lost);
  std::filesystem::remove_all(work);
  std::filesystem::remove_all(run);
  return lost == 0 ? 0 : 1;
}
