#include "table_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>

#include "memproxy/config.hpp"
#include "memproxy/trust.hpp"

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
  // Opened as the library opens a table: a FIFO or a device in its place
  // must not block or feed this forever, a link is not followed.
  memproxy::trust::Finding finding;
  struct stat st {};
  int fd = memproxy::trust::open_regular_file(AT_FDCWD, path.c_str(), false, memproxy::trust::kRootOnly, &st, &finding);
  if (fd < 0) {
    table.error = "cannot read table " + path + ": " +
                  (finding.verdict == memproxy::trust::Verdict::missing ? std::string(std::strerror(ENOENT))
                   : finding.verdict == memproxy::trust::Verdict::not_regular
                       ? std::string("it is not a regular file (a link, directory, FIFO, socket or device)")
                       : std::string(memproxy::trust::describe(finding.verdict)));
    return table;
  }
  constexpr off_t kMaxTable = off_t{1} << 30;  // what the library accepts
  if (st.st_size > kMaxTable) {
    ::close(fd);
    table.error = "table " + path + " is too large to be a memproxy table";
    return table;
  }
  table.bytes.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < table.bytes.size()) {
    ssize_t n = ::pread(fd, table.bytes.data() + done, table.bytes.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  table.bytes.resize(done);  // rewritten in place meanwhile: judged as read
  table.loaded = true;
  table.status = mt::open(table.bytes.data(), table.bytes.size(), &table.view);
  table.header_ok = table.status == mt::Status::ok;
  if (table.header_ok) table.status = mt::verify_all(table.view);
  if (table.status != mt::Status::ok) {
    table.error = "table " + path + " is not a valid memproxy table: " + mt::status_message(table.status);
  }
  return table;
}

std::vector<std::string> ownership_problems(const std::string& table_path) {
  char where[4096] = "";
  memproxy::trust::Finding finding;
  finding.where = where;
  finding.where_size = sizeof where;
  struct stat st {};
  int fd = memproxy::trust::open_trusted_file(table_path.c_str(), memproxy::trust::kRootOnly, &st, &finding);
  if (fd >= 0) {
    ::close(fd);
    return {};
  }
  // The file itself is reported by name, a directory by its resolved path.
  std::string component = where[0] == '/' ? std::string(where) : table_path;
  std::string problem = component + " " + memproxy::trust::describe(finding.verdict);
  if (finding.error != 0 && finding.verdict == memproxy::trust::Verdict::io_error) {
    problem += std::string(" (") + std::strerror(finding.error) + ")";
  }
  return {component == table_path ? "table " + problem : "table " + table_path + ": " + problem};
}

std::string section_names(uint32_t flags) {
  std::string out;
  if (flags & mt::kFlagExclude) out = "exclude";
  if (flags & mt::kFlagMonitor) out += out.empty() ? "monitor" : "+monitor";
  return out;
}

std::string sample_setting(uint32_t flags) {
  const uint32_t code = mt::sample_code_of(flags);
  if (code == mt::kSampleCodeUnset) return "";
  if (code == mt::kSampleCodeOff) return "off";
  return memproxy::config::size_text(mt::sample_bytes_of_code(code));
}

}  // namespace memproxyctl
