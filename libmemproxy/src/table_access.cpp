#include "table_access.hpp"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memproxy/table_reader.hpp"

namespace memproxy {
namespace {

namespace tbl = memproxy::table;

// Keys in the order the spec names them: the resolved path (absolute-path
// entries), then the resolved and the invoked basenames (name entries).
void look_up(const tbl::View& view, const ProgramIdentity& id, TableVerdict* out) {
  const char* keys[3] = {id.exe_length > 0 ? id.exe_path : nullptr, id.exe_name, id.invoked_name};
  for (const char* key : keys) {
    if (key == nullptr || key[0] == '\0') continue;
    tbl::LookupResult r = tbl::lookup(view, key, strlen(key));
    if (r.status != tbl::Status::ok) {
      out->outcome = TableOutcome::lookup_failed;
      out->detail = tbl::status_message(r.status);
      return;
    }
    if (r.flags != 0) {
      out->outcome = TableOutcome::listed;
      out->matched_key = key;
      out->flags = r.flags;
      return;
    }
  }
  out->outcome = TableOutcome::not_listed;
}

void read_mapping(const void* data, uint64_t size, const ProgramIdentity& id, TableVerdict* out) {
  tbl::View view;
  tbl::Status status = tbl::open(data, size, &view);
  if (status != tbl::Status::ok) {
    out->outcome = TableOutcome::unusable;
    out->detail = tbl::status_message(status);
    return;
  }
  const tbl::Header* h = view.header;
  out->has_header = true;
  out->generation = h->generation;
  out->fail_policy = h->fail_policy;
  uint32_t n = h->allocator_length;
  if (n > tbl::kMaxAllocatorLength) n = 0;
  memcpy(out->allocator, h->allocator, n);
  out->allocator[n] = '\0';
  look_up(view, id, out);
}

}  // namespace

void consult_table(const char* path, bool trust_owner, const ProgramIdentity& id, TableVerdict* out) {
  out->detail = "";
  out->matched_key = nullptr;
  out->flags = 0;
  out->has_header = false;
  out->generation = 0;
  out->fail_policy = tbl::kFailSystem;
  out->allocator[0] = '\0';

  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    out->outcome = errno == ENOENT ? TableOutcome::missing : TableOutcome::unusable;
    out->detail = errno == ENOENT ? "no table" : "table cannot be opened";
    return;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    out->outcome = TableOutcome::untrusted;
    out->detail = "table is not a regular file";
  } else if (trust_owner && st.st_uid != 0) {
    out->outcome = TableOutcome::untrusted;
    out->detail = "table not owned by root";
  } else if (trust_owner && (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    out->outcome = TableOutcome::untrusted;
    out->detail = "table writable by group or others";
  } else if (st.st_size <= 0 || static_cast<uint64_t>(st.st_size) > (1u << 30)) {
    out->outcome = TableOutcome::unusable;
    out->detail = st.st_size <= 0 ? "table is empty" : "table is too large";
  } else {
    size_t size = static_cast<size_t>(st.st_size);
    void* data = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (data == MAP_FAILED) {
      out->outcome = TableOutcome::unusable;
      out->detail = "table cannot be mapped";
    } else {
      read_mapping(data, size, id, out);
      munmap(data, size);
    }
  }
  close(fd);
}

}  // namespace memproxy
