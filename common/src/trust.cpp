// The trust rule (trust.hpp). Freestanding: system call wrappers only.
//
// The walk keeps one descriptor, of the last directory proven trusted, and
// the rest of the path still to resolve. A symbolic link met in a trusted
// directory is replaced by its target in that rest; an absolute target
// restarts from "/". Every step opens the next component relative to the
// trusted descriptor with O_NOFOLLOW, so the checked object is the opened one.
#include "memproxy/trust.hpp"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

namespace memproxy::trust {
namespace {

constexpr size_t kPathBuffer = PATH_MAX;

void set_where(Finding* f, const char* text, size_t length) {
  if (f->where == nullptr || f->where_size == 0) return;
  size_t n = length < f->where_size - 1 ? length : f->where_size - 1;
  memcpy(f->where, text, n);
  f->where[n] = '\0';
}

Verdict fail(Finding* f, Verdict verdict, int error, const char* component, size_t length) {
  f->verdict = verdict;
  f->error = error;
  set_where(f, component, length);
  return verdict;
}

Verdict from_errno(int error) {
  switch (error) {
    case ENOENT: return Verdict::missing;
    case ENOTDIR: return Verdict::not_a_directory;
    case ENAMETOOLONG: return Verdict::too_long;
    default: return Verdict::io_error;
  }
}

// The resolution state: `rest` holds the components still to walk,
// `done` the resolved prefix (for messages), `dir` the trusted directory.
struct Walk {
  char rest[kPathBuffer];
  size_t rest_length = 0;
  size_t rest_at = 0;
  char done[kPathBuffer];
  size_t done_length = 0;
  int dir = -1;
  int links = 0;
};

bool set_rest(Walk* w, const char* first, size_t first_length, const char* second, size_t second_length) {
  // first + "/" + second, built in a scratch copy: `second` may point into rest.
  char scratch[kPathBuffer];
  size_t total = first_length + (second_length > 0 ? 1 + second_length : 0);
  if (total >= sizeof scratch) return false;
  memcpy(scratch, first, first_length);
  if (second_length > 0) {
    scratch[first_length] = '/';
    memcpy(scratch + first_length + 1, second, second_length);
  }
  memcpy(w->rest, scratch, total);
  w->rest[total] = '\0';
  w->rest_length = total;
  w->rest_at = 0;
  return true;
}

bool restart_at_root(Walk* w, Finding* f) {
  if (w->dir >= 0) close(w->dir);
  w->dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  w->done_length = 0;
  if (w->dir < 0) {
    fail(f, Verdict::io_error, errno, "/", 1);
    return false;
  }
  return true;
}

void append_done(Walk* w, const char* name, size_t length) {
  if (w->done_length + 1 + length >= sizeof w->done) return;
  w->done[w->done_length++] = '/';
  memcpy(w->done + w->done_length, name, length);
  w->done_length += length;
  w->done[w->done_length] = '\0';
}

// Reports the component being examined: the resolved prefix plus `name`.
Verdict fail_at(Walk* w, Finding* f, Verdict verdict, int error, const char* name, size_t length) {
  char text[kPathBuffer];
  size_t n = 0;
  if (w->done_length + 1 + length < sizeof text) {
    memcpy(text, w->done, w->done_length);
    n = w->done_length;
    text[n++] = '/';
    memcpy(text + n, name, length);
    n += length;
  }
  return fail(f, verdict, error, text, n);
}

// The next component of w->rest; false at the end.
bool next_component(Walk* w, const char** name, size_t* length) {
  while (w->rest_at < w->rest_length && w->rest[w->rest_at] == '/') ++w->rest_at;
  if (w->rest_at >= w->rest_length) return false;
  size_t start = w->rest_at;
  while (w->rest_at < w->rest_length && w->rest[w->rest_at] != '/') ++w->rest_at;
  *name = w->rest + start;
  *length = w->rest_at - start;
  return true;
}

bool more_components(const Walk* w) {
  size_t at = w->rest_at;
  while (at < w->rest_length && w->rest[at] == '/') ++at;
  return at < w->rest_length;
}

// Walks `path`; on success the walk's descriptor is the trusted directory
// holding the last component (left in *last_name), or the last component
// itself when `last_is_directory`.
Verdict walk(const char* path, uid_t other_owner, bool last_is_directory, Walk* w, char* last_name, Finding* f) {
  f->verdict = Verdict::ok;
  f->error = 0;
  if (path == nullptr || path[0] != '/') return fail(f, Verdict::not_absolute, 0, path ? path : "", path ? strlen(path) : 0);
  size_t length = strlen(path);
  if (!set_rest(w, path, length, "", 0)) return fail(f, Verdict::too_long, ENAMETOOLONG, path, length);
  if (!restart_at_root(w, f)) return f->verdict;
  {
    struct stat root;
    if (fstat(w->dir, &root) != 0) return fail(f, Verdict::io_error, errno, "/", 1);
    Verdict v = judge(root, other_owner, true);
    if (v != Verdict::ok) return fail(f, v, 0, "/", 1);
  }
  last_name[0] = '\0';
  const char* name;
  size_t name_length;
  while (next_component(w, &name, &name_length)) {
    if (name_length > NAME_MAX) return fail_at(w, f, Verdict::too_long, ENAMETOOLONG, name, name_length);
    char component[NAME_MAX + 1];
    memcpy(component, name, name_length);
    component[name_length] = '\0';
    const bool last = !more_components(w);
    if (strcmp(component, ".") == 0) continue;
    if (strcmp(component, "..") == 0) {
      // The parent of a trusted directory lies on the path already walked to
      // it; it is judged again all the same.
      int parent = openat(w->dir, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (parent < 0) return fail_at(w, f, from_errno(errno), errno, name, name_length);
      struct stat st;
      Verdict v = fstat(parent, &st) == 0 ? judge(st, other_owner, true) : Verdict::io_error;
      if (v != Verdict::ok) {
        close(parent);
        return fail_at(w, f, v, 0, name, name_length);
      }
      close(w->dir);
      w->dir = parent;
      while (w->done_length > 0 && w->done[w->done_length - 1] != '/') --w->done_length;
      if (w->done_length > 0) --w->done_length;
      w->done[w->done_length] = '\0';
      if (last && !last_is_directory) return fail_at(w, f, Verdict::not_regular, EISDIR, name, name_length);
      continue;
    }
    if (last && !last_is_directory) {
      memcpy(last_name, component, name_length + 1);
      // The file itself may still be a link: resolved by the caller's open.
      struct stat st;
      if (fstatat(w->dir, component, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return fail_at(w, f, from_errno(errno), errno, name, name_length);
      if (!S_ISLNK(st.st_mode)) return Verdict::ok;
    }
    int next = openat(w->dir, component, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) return fail_at(w, f, from_errno(errno), errno, name, name_length);
    struct stat st;
    if (fstat(next, &st) != 0) {
      int error = errno;
      close(next);
      return fail_at(w, f, Verdict::io_error, error, name, name_length);
    }
    if (S_ISLNK(st.st_mode)) {
      close(next);
      if (++w->links > kMaxSymlinks) return fail_at(w, f, Verdict::too_many_links, ELOOP, name, name_length);
      char target[kPathBuffer];
      ssize_t n = readlinkat(w->dir, component, target, sizeof target - 1);
      if (n <= 0) return fail_at(w, f, Verdict::io_error, errno, name, name_length);
      size_t rest_left = w->rest_length - w->rest_at;
      if (!set_rest(w, target, static_cast<size_t>(n), w->rest + w->rest_at, rest_left))
        return fail_at(w, f, Verdict::too_long, ENAMETOOLONG, name, name_length);
      if (target[0] == '/' && !restart_at_root(w, f)) return f->verdict;
      last_name[0] = '\0';
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      close(next);
      return fail_at(w, f, last ? Verdict::not_regular : Verdict::not_a_directory, ENOTDIR, name, name_length);
    }
    Verdict v = judge(st, other_owner, true);
    if (v != Verdict::ok) {
      close(next);
      return fail_at(w, f, v, 0, name, name_length);
    }
    close(w->dir);
    w->dir = next;
    append_done(w, name, name_length);
  }
  if (!last_is_directory && last_name[0] == '\0') return fail(f, Verdict::not_regular, EISDIR, path, length);
  return Verdict::ok;
}

}  // namespace

const char* describe(Verdict verdict) {
  switch (verdict) {
    case Verdict::ok: return "trusted";
    case Verdict::missing: return "does not exist";
    case Verdict::not_absolute: return "is not an absolute path";
    case Verdict::too_long: return "is too long";
    case Verdict::too_many_links: return "has too many symbolic links";
    case Verdict::not_a_directory: return "is not a directory";
    case Verdict::not_regular: return "is not a regular file";
    case Verdict::bad_owner: return "is owned by another user, not root";
    case Verdict::writable_by_others: return "is writable by group or others";
    case Verdict::io_error: return "cannot be examined";
  }
  return "?";
}

Verdict judge(const struct stat& st, uid_t other_owner, bool directory) {
  if (st.st_uid != 0 && st.st_uid != other_owner) return Verdict::bad_owner;
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    if (!(directory && (st.st_mode & S_ISVTX) != 0)) return Verdict::writable_by_others;
  }
  return Verdict::ok;
}

int open_trusted_directory(const char* dir_path, uid_t other_owner, Finding* finding) {
  Walk w;
  char last[NAME_MAX + 1];
  Verdict v = walk(dir_path, other_owner, true, &w, last, finding);
  if (v != Verdict::ok) {
    if (w.dir >= 0) close(w.dir);
    return -1;
  }
  return w.dir;
}

int open_regular_file(int dir_fd, const char* name, bool check_owner, uid_t other_owner, struct stat* st,
                      Finding* finding) {
  finding->verdict = Verdict::ok;
  finding->error = 0;
  size_t length = strlen(name);
  // Devices are never opened (opening one can act: a tape, a serial line),
  // so the type is judged first; the descriptor's own fstat below catches a
  // file swapped in between.
  struct stat before;
  if (fstatat(dir_fd, name, &before, AT_SYMLINK_NOFOLLOW) != 0) {
    fail(finding, from_errno(errno), errno, name, length);
    return -1;
  }
  if (!S_ISREG(before.st_mode)) {
    fail(finding, Verdict::not_regular, 0, name, length);
    return -1;
  }
  int fd = openat(dir_fd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int error = errno;
    // A link or a special file swapped in: ELOOP (Linux) or EMLINK (BSD) for a link.
    Verdict v = error == ELOOP || error == EMLINK ? Verdict::not_regular : from_errno(error);
    fail(finding, v, error, name, length);
    return -1;
  }
  Verdict v = Verdict::ok;
  if (fstat(fd, st) != 0) {
    fail(finding, Verdict::io_error, errno, name, length);
    close(fd);
    return -1;
  }
  if (!S_ISREG(st->st_mode)) {
    v = Verdict::not_regular;
  } else if (check_owner) {
    v = judge(*st, other_owner, false);
  }
  if (v != Verdict::ok) {
    fail(finding, v, 0, name, length);
    close(fd);
    return -1;
  }
  return fd;
}

int open_trusted_file(const char* path, uid_t other_owner, struct stat* st, Finding* finding) {
  char dir[kPathBuffer];
  const char* name = split_directory(path, dir, sizeof dir);
  if (name == nullptr) {
    fail(finding, path != nullptr && path[0] == '/' ? Verdict::too_long : Verdict::not_absolute, 0, path ? path : "",
         path ? strlen(path) : 0);
    return -1;
  }
  int dir_fd = open_trusted_directory(dir, other_owner, finding);
  if (dir_fd < 0) return -1;
  int fd = open_regular_file(dir_fd, name, true, other_owner, st, finding);
  close(dir_fd);
  return fd;
}

Verdict check_file_path(const char* path, uid_t other_owner, Finding* finding) {
  Walk w;
  char last[NAME_MAX + 1];
  Verdict v = walk(path, other_owner, false, &w, last, finding);
  if (v == Verdict::ok) {
    struct stat st;
    int fd = open_regular_file(w.dir, last, true, other_owner, &st, finding);
    v = finding->verdict;
    if (fd >= 0) close(fd);
  }
  if (w.dir >= 0) close(w.dir);
  return v;
}

const char* split_directory(const char* path, char* dir, size_t dir_size) {
  if (path == nullptr || path[0] != '/') return nullptr;
  const char* slash = strrchr(path, '/');
  if (slash[1] == '\0') return nullptr;
  size_t length = slash == path ? 1 : static_cast<size_t>(slash - path);
  if (length >= dir_size) return nullptr;
  memcpy(dir, path, length);
  dir[length] = '\0';
  return slash + 1;
}

}  // namespace memproxy::trust
