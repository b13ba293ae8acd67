#include "memproxy/table_consult.hpp"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memproxy/table_reader.hpp"

namespace memproxy {
namespace {

namespace tbl = memproxy::table;

void read_table(int fd, uint64_t size, const match::Identity& who, TableVerdict* out) {
  tbl::FileTable table;
  tbl::Status status = tbl::open_file(fd, size, &table);
  if (status != tbl::Status::ok) {
    out->outcome = TableOutcome::unusable;
    out->detail = tbl::status_message(status);
    return;
  }
  const tbl::Header& h = table.header();  // valid until the first lookup
  out->has_header = true;
  out->generation = h.generation;
  out->fail_policy = h.fail_policy;
  memcpy(out->allocator, h.allocator, h.allocator_length);
  out->allocator[h.allocator_length] = '\0';

  out->match = match::match(who, [&table](const char* key, size_t length, uint32_t* flags) {
    tbl::LookupResult r = tbl::lookup(&table, key, length);
    *flags = r.flags;
    return static_cast<uint32_t>(r.status);
  });
  if (out->match.failed) {
    out->outcome = TableOutcome::lookup_failed;
    out->detail = tbl::status_message(static_cast<tbl::Status>(out->match.failure));
    return;
  }
  out->outcome = TableOutcome::matched;
}

void untrusted(TableVerdict* out, const trust::Finding& finding) {
  const bool missing = finding.verdict == trust::Verdict::missing;
  out->outcome = missing ? TableOutcome::missing : TableOutcome::untrusted;
  out->detail = missing ? "no table" : "table is not trusted";
  out->trust = missing ? trust::Verdict::ok : finding.verdict;
}

}  // namespace

void consult_table(const char* path, TablePolicy policy, const match::Identity& who, TableVerdict* out) {
  out->detail = "";
  out->trust = trust::Verdict::ok;
  out->trust_where[0] = '\0';
  out->match = match::Result{};
  out->has_header = false;
  out->generation = 0;
  out->fail_policy = tbl::kFailSystem;
  out->allocator[0] = '\0';

  trust::Finding finding;
  finding.where = out->trust_where;
  finding.where_size = sizeof out->trust_where;
  struct stat st;
  int fd = policy.trusted_only
               ? trust::open_trusted_file(path, trust::kRootOnly, &st, &finding)
               : trust::open_regular_file(AT_FDCWD, path, false, trust::kRootOnly, &st, &finding);
  if (fd < 0) {
    untrusted(out, finding);
    return;
  }
  if (st.st_size <= 0 || static_cast<uint64_t>(st.st_size) > (1ull << 30)) {
    out->outcome = TableOutcome::unusable;
    out->detail = st.st_size <= 0 ? "table is empty" : "table is too large";
  } else {
    read_table(fd, static_cast<uint64_t>(st.st_size), who, out);
  }
  close(fd);
}

}  // namespace memproxy
