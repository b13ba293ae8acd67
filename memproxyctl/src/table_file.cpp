#include "table_file.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace memproxyctl {
namespace mt = memproxy::table;

std::string TableFile::allocator() const {
  if (!valid()) return {};
  const auto& h = header();
  return std::string(h.allocator, strnlen(h.allocator, std::min<size_t>(h.allocator_length, mt::kMaxAllocatorLength)));
}

mt::LookupResult TableFile::lookup(const std::string& key) const {
  if (!valid()) return {mt::Status::bad_layout, 0};
  return mt::lookup(view, key.data(), key.size());
}

std::vector<TableEntry> TableFile::entries() const {
  std::vector<TableEntry> out;
  if (!valid()) return out;
  auto visit = [](void* context, const char* key, size_t length, uint32_t flags) {
    static_cast<std::vector<TableEntry>*>(context)->push_back({std::string(key, length), flags});
    return true;
  };
  mt::for_each_entry(view, visit, &out);
  std::sort(out.begin(), out.end(), [](const TableEntry& a, const TableEntry& b) { return a.key < b.key; });
  return out;
}

TableFile load_table(const std::string& path) {
  TableFile table;
  table.path = path;
  std::ifstream in(path, std::ios::binary);
  struct stat st {};
  if (!in || ::stat(path.c_str(), &st) != 0) {
    table.error = "cannot read table " + path + ": " + std::strerror(errno);
    return table;
  }
  if (S_ISDIR(st.st_mode)) {
    table.error = "cannot read table " + path + ": it is a directory";
    return table;
  }
  table.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  table.loaded = true;
  table.status = mt::open(table.bytes.data(), table.bytes.size(), &table.view);
  table.header_ok = table.status == mt::Status::ok;
  if (table.header_ok) table.status = mt::verify_all(table.view);
  if (table.status != mt::Status::ok) {
    table.error = "table " + path + " is not a valid memproxy table: " + mt::status_message(table.status);
  }
  return table;
}

namespace {

void check_owner(const std::string& what, const std::string& path, std::vector<std::string>* problems) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    problems->push_back("cannot stat " + what + " " + path + ": " + std::strerror(errno));
    return;
  }
  if (st.st_uid != 0) {
    problems->push_back(what + " " + path + " is owned by uid " + std::to_string(st.st_uid) + ", not root");
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    problems->push_back(what + " " + path + " is writable by group or others (mode " + mode + ")");
  }
}

std::string parent_directory(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

std::vector<std::string> ownership_problems(const std::string& table_path) {
  std::vector<std::string> problems;
  check_owner("table", table_path, &problems);
  check_owner("table directory", parent_directory(table_path), &problems);
  return problems;
}

std::string section_names(uint32_t flags) {
  std::string out;
  if (flags & mt::kFlagExclude) out = "exclude";
  if (flags & mt::kFlagMonitor) out += out.empty() ? "monitor" : "+monitor";
  return out;
}

}  // namespace memproxyctl
