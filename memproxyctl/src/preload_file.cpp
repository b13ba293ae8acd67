#include "preload_file.hpp"

#include <algorithm>

#include "process_info.hpp"

namespace memproxyctl {

namespace {

constexpr const char* kSeparators = " \t\r:";

struct Line {
  std::string active;   // before any '#'
  std::string comment;  // from '#' on, or ""
};

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

Line split_comment(const std::string& line) {
  auto hash = line.find('#');
  if (hash == std::string::npos) return {line, ""};
  return {line.substr(0, hash), line.substr(hash)};
}

std::vector<std::string> tokens(const std::string& active) {
  std::vector<std::string> out;
  size_t at = active.find_first_not_of(kSeparators);
  while (at != std::string::npos) {
    size_t end = active.find_first_of(kSeparators, at);
    out.push_back(active.substr(at, end == std::string::npos ? std::string::npos : end - at));
    at = end == std::string::npos ? end : active.find_first_not_of(kSeparators, end);
  }
  return out;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

EntryPredicate or_by_name(const EntryPredicate& is_allocator) {
  if (is_allocator) return is_allocator;
  return [](const std::string& entry) { return is_allocator_library(entry); };
}

}  // namespace

bool same_library(const std::string& a, const std::string& b) { return a == b || base_name(a) == base_name(b); }

std::vector<std::string> preload_entries(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& line : split_lines(text)) {
    auto line_tokens = tokens(split_comment(line).active);
    out.insert(out.end(), line_tokens.begin(), line_tokens.end());
  }
  return out;
}

PreloadAnalysis analyze_preload(const std::string& text, const EntryPredicate& is_allocator_entry) {
  const EntryPredicate is_allocator = or_by_name(is_allocator_entry);
  PreloadAnalysis analysis;
  analysis.entries = preload_entries(text);
  bool allocator_seen = false;
  for (const auto& entry : analysis.entries) {
    if (is_memproxy_library(entry)) {
      analysis.memproxy_entries.push_back(entry);
      if (allocator_seen) analysis.order_ok = false;
    } else if (is_allocator(entry)) {
      analysis.allocator_entries.push_back(entry);
      allocator_seen = true;
    }
  }
  analysis.memproxy_present = !analysis.memproxy_entries.empty();
  return analysis;
}

std::string remove_entries(const std::string& text, const EntryPredicate& remove) {
  std::vector<std::string> kept;
  for (const auto& line : split_lines(text)) {
    Line parts = split_comment(line);
    auto line_tokens = tokens(parts.active);
    auto removed = std::count_if(line_tokens.begin(), line_tokens.end(), remove);
    if (removed == 0) {
      kept.push_back(line);
      continue;
    }
    std::vector<std::string> rest;
    std::copy_if(line_tokens.begin(), line_tokens.end(), std::back_inserter(rest),
                 [&remove](const std::string& t) { return !remove(t); });
    // Keep the line's own separator style for what remains of it.
    const char* separator = parts.active.find_first_of(" \t") != std::string::npos ? " " : ":";
    std::string rebuilt;
    for (const auto& token : rest) rebuilt += (rebuilt.empty() ? "" : separator) + token;
    if (!parts.comment.empty()) rebuilt += (rebuilt.empty() ? "" : " ") + parts.comment;
    if (!rebuilt.empty()) kept.push_back(rebuilt);
  }
  return join_lines(kept);
}

std::string remove_memproxy(const std::string& text) {
  return remove_entries(text, [](const std::string& t) { return is_memproxy_library(t); });
}

std::string enable_memproxy(const std::string& text, const std::string& entry, const std::string& allocator,
                            const EntryPredicate& is_allocator_entry) {
  const EntryPredicate is_allocator = or_by_name(is_allocator_entry);
  std::vector<std::string> lines = split_lines(remove_memproxy(text));
  auto first_allocator = std::find_if(lines.begin(), lines.end(), [&is_allocator](const std::string& line) {
    auto line_tokens = tokens(split_comment(line).active);
    return std::any_of(line_tokens.begin(), line_tokens.end(), is_allocator);
  });
  bool allocator_present = false;
  if (!allocator.empty()) {
    for (const auto& existing : preload_entries(text)) allocator_present |= same_library(existing, allocator);
  }
  std::vector<std::string> inserted{entry};
  if (!allocator.empty() && !allocator_present) inserted.push_back(allocator);
  lines.insert(first_allocator, inserted.begin(), inserted.end());
  return join_lines(lines);
}

std::string join_entries(const std::vector<std::string>& entries) {
  std::string out;
  for (const auto& entry : entries) out += (out.empty() ? "" : ":") + entry;
  return out;
}

}  // namespace memproxyctl
