// A query line is read once, by the parser of its kind: each kind reads
// back as sent, and a line of no kind, or a bad line of a known kind, is
// refused with the reason that kind's parser gives.
#include "memproxy/query.hpp"

#include <gtest/gtest.h>

namespace memproxy::query {
namespace {

namespace hq = memproxy::heap_query;
namespace tq = memproxy::trace_query;

std::string refusal(const std::string& line) {
  const Query q = parse_query(line);
  const Refusal* r = std::get_if<Refusal>(&q);
  return r ? r->why : "(not refused)";
}

TEST(Query, EachKindReadsBackAsSent) {
  const tq::TraceRequest trace{1234, 60, 4096};
  Query q = parse_query(tq::trace_request_line(trace));
  ASSERT_TRUE(std::holds_alternative<tq::TraceRequest>(q));
  EXPECT_EQ(std::get<tq::TraceRequest>(q), trace);

  hq::SitesRequest sites;
  sites.pid = 77;
  sites.limit = 5;
  q = parse_query(hq::sites_request_line(sites));
  ASSERT_TRUE(std::holds_alternative<hq::SitesRequest>(q));
  EXPECT_EQ(std::get<hq::SitesRequest>(q).pid, 77);
  EXPECT_EQ(std::get<hq::SitesRequest>(q).limit, 5u);

  hq::Request history;
  history.name = hq::request::kHistory;
  history.program = "grower";
  history.since_unix_ns = 42;
  q = parse_query(hq::request_line(history));
  ASSERT_TRUE(std::holds_alternative<hq::Request>(q));
  EXPECT_EQ(std::get<hq::Request>(q).name, hq::request::kHistory);
  EXPECT_EQ(std::get<hq::Request>(q).program, std::optional<std::string>("grower"));
  EXPECT_EQ(std::get<hq::Request>(q).since_unix_ns, 42);

  q = parse_query(R"({"request":"top"})");
  ASSERT_TRUE(std::holds_alternative<hq::Request>(q));
  EXPECT_EQ(std::get<hq::Request>(q).name, hq::request::kTop);
}

TEST(Query, ALineOfNoKindIsRefusedWithTheReason) {
  EXPECT_EQ(refusal("not json"), "the request is not JSON");
  EXPECT_EQ(refusal("[1,2]"), "the request is not a JSON object");
  EXPECT_EQ(refusal(R"({"request":7})"), "the request has no \"request\" string (top, leaks or history)");
  EXPECT_EQ(refusal(R"({"request":"frobnicate"})"), "unknown request \"frobnicate\" (top, leaks or history)");
}

TEST(Query, ABadLineOfAKnownKindGetsThatKindsReason) {
  EXPECT_EQ(refusal(R"({"request":"trace","pid":-1})"), "\"pid\" must be a positive integer");
  EXPECT_EQ(refusal(R"({"request":"sites"})"), "sites needs \"pid\"");
  EXPECT_EQ(refusal(R"({"request":"history"})"), "history needs exactly one of \"pid\" and \"program\"");
}

}  // namespace
}  // namespace memproxy::query
