#include "heapwatch/analysis/site_watch.hpp"

namespace memproxy::heapwatch {

SiteHistory& SiteWatch::history_of(const WatchedProcess& process) {
  auto it = histories_.find(id_of(process));
  if (it == histories_.end()) {
    it = histories_.emplace(id_of(process), SiteHistory(limits_, growth_)).first;
    it->second.set_started(process.started_unix_ns);
  }
  return it->second;
}

void SiteWatch::on_tick(const Registry& registry, int64_t unix_ns) {
  registry.for_each([&](const Watched& w) {
    if (!w.account) return;
    history_of(w.process).observe(w.account.samples(), unix_ns);
  });
}

const SiteHistory& SiteWatch::read_now(const Watched& watched, int64_t unix_ns) {
  SiteHistory& h = history_of(watched.process);
  if (watched.account) h.observe(watched.account.samples(), unix_ns, /*fresh=*/true);
  return h;
}

uint64_t sample_mean_bytes(const Watched& watched) {
  if (!watched.account) return 0;
  // The process may change it at any time: one load, whatever it holds.
  return __atomic_load_n(&watched.account.header().sample_mean_bytes, __ATOMIC_RELAXED);
}

}  // namespace memproxy::heapwatch
