// memproxy-attribution LEAK_SITES SECONDS RATE_KIB
// How fast sampled attribution converges: runs memproxy-leak-sites (which
// must be monitored by the environment it inherits) and, each second,
// reads its heap account as memproxyd does, attributes the live samples to
// the three leaking sites by their first frame and compares each site's
// estimated share of the leaked bytes with its true share (1:2:4 by
// construction, the exact figures printed by the program). Prints one
// markdown row per second: seconds, MiB leaked, live samples, the mean,
// each site's estimated share and the largest relative error.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>

#include "memproxy/heap_reader.hpp"

namespace {

std::map<std::string, uint64_t> numbers_of(const std::string& line) {
  std::map<std::string, uint64_t> out;
  std::istringstream words(line);
  std::string word;
  while (words >> word) {
    auto eq = word.find('=');
    if (eq != std::string::npos) out[word.substr(0, eq)] = std::stoull(word.substr(eq + 1), nullptr, 0);
  }
  return out;
}

// The site whose function starts nearest below `pc` (within 4 KiB), or -1.
int site_of(uint64_t pc, const uint64_t starts[3]) {
  int best = -1;
  for (int i = 0; i < 3; ++i) {
    if (starts[i] <= pc && pc - starts[i] < 4096 && (best < 0 || starts[i] > starts[best])) best = i;
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s LEAK_SITES SECONDS RATE_KIB\n", argv[0]);
    return 2;
  }
  int out[2];
  if (pipe(out) != 0) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    execl(argv[1], argv[1], argv[2], argv[3], static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  FILE* lines = fdopen(out[0], "r");
  std::printf("| s | MiB leaked | live samples | mean KiB | share a (1/7 = 0.143) | share b (0.286) | share c (0.571) | "
              "max relative error |\n|---|---|---|---|---|---|---|---|\n");
  char buffer[512];
  memproxy::heap::MappedAccount account;
  while (std::fgets(buffer, sizeof buffer, lines) != nullptr) {
    auto n = numbers_of(buffer);
    if (!account) {
      std::string why;
      account = memproxy::heap::MappedAccount::of_process(pid, &why);
      if (!account) {
        std::fprintf(stderr, "%s: %s\n", argv[0], why.c_str());
        kill(pid, SIGKILL);
        return 1;
      }
    }
    const uint64_t starts[3] = {n["site_a"], n["site_b"], n["site_c"]};
    const double truth[3] = {static_cast<double>(n["leak_a"]), static_cast<double>(n["leak_b"]),
                             static_cast<double>(n["leak_c"])};
    double estimated[3] = {0, 0, 0};
    auto samples = memproxy::heap::read_samples(account.samples());
    for (const auto& s : samples) {
      int site = s.pcs.empty() ? -1 : site_of(s.pcs[0], starts);
      if (site >= 0) estimated[site] += memproxy::heap::estimated_bytes(s.size, s.mean_bytes);
    }
    const double est_total = estimated[0] + estimated[1] + estimated[2];
    const double true_total = truth[0] + truth[1] + truth[2];
    double worst = 0;
    double share[3];
    for (int i = 0; i < 3; ++i) {
      share[i] = est_total > 0 ? estimated[i] / est_total : 0;
      worst = std::max(worst, std::fabs(share[i] / (truth[i] / true_total) - 1));
    }
    std::printf("| %llu | %.0f | %zu | %.0f | %.3f | %.3f | %.3f | %.1f%% |\n",
                static_cast<unsigned long long>(n["t"]), true_total / 1048576.0, samples.size(),
                static_cast<double>(account.header().sample_mean_bytes) / 1024.0, share[0], share[1], share[2],
                worst * 100);
    std::fflush(stdout);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
