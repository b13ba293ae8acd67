#include "heapwatch/serve/site_keeping.hpp"

#include <utility>

#include "heapwatch/analysis/site_views.hpp"
#include "memproxy/clock.hpp"

namespace memproxy::heapwatch {

namespace hq = memproxy::heap_query;

SiteKeeping::SiteKeeping(boost::asio::io_context& loop, const Registry& registry, SiteWatch& sites, SitesQuery& query,
                         Keep keep, Fetch fetch, SiteKeepingOptions options)
    : registry_(registry),
      sites_(sites),
      query_(query),
      keep_(std::move(keep)),
      fetch_(std::move(fetch)),
      options_(options),
      started_unix_ns_(unix_now_ns()),
      timer_(loop) {}

void SiteKeeping::start() { schedule(); }

void SiteKeeping::schedule() {
  timer_.expires_after(options_.interval);
  timer_.async_wait([this, alive = std::weak_ptr<char>(alive_)](const boost::system::error_code& ec) {
    if (ec || alive.expired()) return;
    round();
    schedule();
  });
}

void SiteKeeping::on_added(const Watched& watched) {
  // Started after this daemon: no earlier daemon kept anything of it.
  if (!fetch_ || watched.process.started_unix_ns >= started_unix_ns_) return;
  const ProcessId id = id_of(watched.process);
  fetch_(id, [this, id, alive = std::weak_ptr<char>(alive_)](std::optional<hq::SitesAnswer> kept) {
    const Watched* watched = alive.expired() || !kept ? nullptr : registry_.find(id);
    if (watched == nullptr) return;
    const std::vector<KeptSite> sites = kept_sites_of(*kept);
    sites_.resume(watched->process, sites);
  });
}

void SiteKeeping::round() {
  // A round still under way when the next is due goes on; the next round
  // finds the processes it did not reach.
  if (!due_.empty()) return;
  registry_.for_each([&](const Watched& w) {
    if (w.account) due_.push_back(id_of(w.process));
  });
  while (in_flight_ < options_.in_flight && !due_.empty()) next();
}

void SiteKeeping::next() {
  const ProcessId id = due_.front();
  due_.pop_front();
  if (!registry_.contains(id)) return;
  ++in_flight_;
  hq::SitesRequest request;
  request.pid = id.pid;
  request.limit = options_.sites;
  // As root, who may see every process.
  query_.collect(request, 0, [this, id, alive = std::weak_ptr<char>(alive_)](Answer answer) {
    if (alive.expired()) return;
    --in_flight_;
    auto* sites = std::get_if<hq::SitesAnswer>(&answer.content);
    // The pid may have been taken by another process since it was asked.
    if (sites != nullptr && !sites->sites.empty() && registry_.contains(id)) {
      const bool named = sites->symbols_error.empty();
      if (named || named_.count(id) == 0) {
        if (named) named_.insert(id);
        const int64_t when = sites->unix_ns;
        keep_(id, std::move(*sites), when);
      }
    }
    while (in_flight_ < options_.in_flight && !due_.empty()) next();
  });
}

}  // namespace memproxy::heapwatch
