#include "memproxy/query.hpp"

#include <nlohmann/json.hpp>

namespace memproxy::query {

namespace {

template <class T>
Query from(std::variant<T, std::string> parsed) {
  if (auto* why = std::get_if<std::string>(&parsed)) return Refusal{std::move(*why)};
  return std::get<T>(std::move(parsed));
}

}  // namespace

Query parse_query(const std::string& line) {
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  const std::string name = heap_query::request_name(j);
  if (name == trace_query::request::kTrace) return from(trace_query::trace_request_from(j));
  if (name == heap_query::request::kSites) return from(heap_query::sites_request_from(j));
  // top, leaks, history, and the refusals of every other line.
  return from(heap_query::request_from(j));
}

}  // namespace memproxy::query
