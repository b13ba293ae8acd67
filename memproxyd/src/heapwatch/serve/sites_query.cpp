#include "heapwatch/serve/sites_query.hpp"

#include <boost/asio/steady_timer.hpp>
#include <map>
#include <set>

#include "heapwatch/analysis/site_views.hpp"
#include "heapwatch/serve/site_frames.hpp"
#include "memproxy/clock.hpp"

namespace memproxy::heapwatch {

namespace hq = memproxy::heap_query;

namespace {

using memproxy::unix_now_ns;

// An answer waiting for its symbols, and whichever of the symbolizer and
// the timer comes first.
struct Waiting {
  explicit Waiting(boost::asio::io_context& loop) : timer(loop) {}
  hq::SitesAnswer answer;
  std::vector<Stack> stacks;  // of answer.sites, in order
  std::function<void(Answer)> done;
  boost::asio::steady_timer timer;
  bool answered = false;

  void finish(std::string symbols_error) {
    if (answered) return;
    answered = true;
    timer.cancel();
    answer.symbols_error = std::move(symbols_error);
    done({std::move(answer)});
  }
};

}  // namespace

void SitesQuery::collect(const hq::SitesRequest& request, uid_t peer, std::function<void(Answer)> done) {
  const Watched* watched = nullptr;
  registry_.for_each([&](const Watched& w) {
    if (w.process.pid == request.pid && visible_to(peer, w.process.uid)) watched = &w;
  });
  if (watched == nullptr) {
    std::string unwatched = "no watched process has pid " + std::to_string(request.pid);
    auto answered = std::make_shared<std::function<void(Answer)>>(std::move(done));
    const bool asked = ended_of_ && ended_of_(request.pid, peer,
                                              [answered, unwatched, limit = request.limit,
                                               alive = std::weak_ptr<char>(alive_)](std::optional<hq::SitesAnswer> kept) {
                                                if (alive.expired()) return;
                                                if (!kept) return (*answered)({unwatched});
                                                if (kept->sites.size() > limit) {
                                                  kept->sites.resize(limit);
                                                  kept->truncated = true;
                                                }
                                                (*answered)({std::move(*kept)});
                                              });
    if (!asked) (*answered)({std::move(unwatched)});
    return;
  }
  const SiteHistory& history = sites_.read_now(*watched, unix_now_ns());
  auto waiting = std::make_shared<Waiting>(loop_);
  waiting->done = std::move(done);
  waiting->answer =
      sites_answer(watched->process, history, sample_mean_bytes(*watched), request.limit, nullptr,
                   verdict_of_ ? verdict_of_(id_of(watched->process)) : VerdictState::not_judged);
  std::set<uint64_t> unique;
  for (const hq::SiteView& site : waiting->answer.sites) {
    Stack stack;
    stack.reserve(site.frames.size());
    for (const hq::FrameView& f : site.frames) stack.push_back(f.address);
    unique.insert(stack.begin(), stack.end());
    waiting->stacks.push_back(std::move(stack));
  }
  if (unique.empty()) {
    waiting->finish("");
    return;
  }
  if (symbols_ == nullptr) {
    waiting->finish("the daemon runs without a symbolizer");
    return;
  }
  waiting->timer.expires_after(patience_);
  waiting->timer.async_wait([waiting, ms = patience_.count()](const boost::system::error_code& ec) {
    if (!ec) waiting->finish("the symbolizer did not answer within " + std::to_string(ms) + " ms");
  });
  std::vector<uint64_t> addresses(unique.begin(), unique.end());
  symbols_->symbolize(watched->handle, watched->process, addresses,
                      [waiting, addresses, alive = std::weak_ptr<char>(alive_)](
                          std::vector<symbols::Location> locations, std::string error) {
                        if (alive.expired() || waiting->answered) return;
                        if (!error.empty()) {
                          waiting->finish("the symbolizer failed: " + error);
                          return;
                        }
                        std::map<uint64_t, symbols::Location> by_address;
                        for (size_t i = 0; i < locations.size() && i < addresses.size(); ++i) {
                          by_address.emplace(addresses[i], std::move(locations[i]));
                        }
                        for (size_t i = 0; i < waiting->answer.sites.size(); ++i) {
                          waiting->answer.sites[i].frames = frames_of(waiting->stacks[i], by_address);
                        }
                        waiting->finish("");
                      });
}

std::optional<hq::SitesAnswer> ended_sites_in(HistoryStore& store, pid_t pid, uid_t peer) {
  Result<std::vector<WatchedProcess>> processes = store.processes();
  if (!processes) return std::nullopt;
  std::optional<WatchedProcess> newest =
      newest_visible(*processes, peer, [pid](const WatchedProcess& p) { return p.pid == pid && p.ended_unix_ns != 0; });
  if (!newest) return std::nullopt;
  Result<std::optional<KeptSites>> kept = store.kept_sites(id_of(*newest));
  if (!kept || !*kept) return std::nullopt;
  hq::SitesAnswer answer = std::move((*kept)->answer);
  answer.process = *newest;
  return answer;
}

}  // namespace memproxy::heapwatch
