// The trust rule (trust.hpp). Freestanding: system call wrappers only.
//
// A walk holds one descriptor, of the last directory proven trusted, and
// opens the next component relative to it with O_NOFOLLOW, so the checked
// object is the opened one. The common case, a path without symbolic links,
// is walked in place, using a few hundred bytes of stack: libmemproxy walks
// the table's directory in every process, and each stack page it touches
// costs a page fault at every start. The first link met hands the rest of
// the walk to a slower path with a PATH_MAX buffer, which replaces the link
// by its target (an absolute target restarts from "/").
#include "memproxy/trust.hpp"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

namespace memproxy::trust {
namespace {

// The component being judged, as the finding reports it: the text walked so
// far, `text[0, length)`.
Verdict fail(Finding* f, Verdict verdict, int error, const char* text, size_t length) {
  f->verdict = verdict;
  f->error = error;
  if (f->where != nullptr && f->where_size > 0) {
    size_t n = length < f->where_size - 1 ? length : f->where_size - 1;
    memcpy(f->where, text, n);
    f->where[n] = '\0';
  }
  return verdict;
}

Verdict from_errno(int error) {
  switch (error) {
    case ENOENT: return Verdict::missing;
    case ENOTDIR: return Verdict::not_a_directory;
    case ENAMETOOLONG: return Verdict::too_long;
    case ELOOP: return Verdict::too_many_links;
    default: return Verdict::io_error;
  }
}

// Components of a string: [begin, end) of the next one after `at`.
bool next_component(const char* text, size_t length, size_t* at, size_t* begin, size_t* end) {
  size_t i = *at;
  while (i < length && text[i] == '/') ++i;
  if (i >= length) return false;
  *begin = i;
  while (i < length && text[i] != '/') ++i;
  *end = i;
  *at = i;
  return true;
}

bool more_components(const char* text, size_t length, size_t at) {
  while (at < length && text[at] == '/') ++at;
  return at < length;
}

struct Position {
  int dir;     // the trusted directory reached
  int links;   // symbolic links followed so far
};

enum class Step { next, link, done };

// One directory step from pos->dir into `name`: judged and made the new
// trusted directory, or reported as a link for the caller to expand.
Step enter(Position* pos, const char* name, uid_t other_owner, Verdict* verdict, int* error) {
  if (strcmp(name, ".") == 0) return Step::next;
  const bool up = strcmp(name, "..") == 0;
  int next = openat(pos->dir, name, O_PATH | O_CLOEXEC | (up ? O_DIRECTORY : O_NOFOLLOW));
  if (next < 0) {
    *error = errno;
    *verdict = from_errno(*error);
    return Step::done;
  }
  struct stat st;
  if (fstat(next, &st) != 0) {
    *error = errno;
    *verdict = Verdict::io_error;
    close(next);
    return Step::done;
  }
  if (S_ISLNK(st.st_mode)) {
    close(next);
    return Step::link;
  }
  // The parent of a trusted directory lies on the path already walked to
  // it; it is judged again all the same.
  *verdict = S_ISDIR(st.st_mode) ? judge(st, other_owner, true) : Verdict::not_a_directory;
  if (*verdict != Verdict::ok) {
    *error = S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
    close(next);
    return Step::done;
  }
  close(pos->dir);
  pos->dir = next;
  return Step::next;
}

bool copy_name(const char* text, size_t begin, size_t end, char* name) {
  if (end - begin > NAME_MAX) return false;
  memcpy(name, text + begin, end - begin);
  name[end - begin] = '\0';
  return true;
}

// What the walk does with the last component.
enum class Last {
  directory,    // enter and judge it
  name,         // do not enter it: hand its name over (a link there is the caller's to refuse)
  followed,     // do not enter it, but follow it while it is a link
};

Verdict walk_text(Position* pos, const char* text, size_t length, Last last_mode, uid_t other_owner,
                  char* last_name, Finding* f);

// The slow path: the link `name` in pos->dir, then `rest` (what followed it
// in the text being walked), as one string: the link's target + "/" + rest.
__attribute__((noinline)) Verdict follow_link(Position* pos, const char* name, const char* rest, size_t rest_length,
                                              Last last_mode, uid_t other_owner, char* last_name, Finding* f) {
  if (++pos->links > kMaxSymlinks) return fail(f, Verdict::too_many_links, ELOOP, name, strlen(name));
  char expanded[PATH_MAX];
  ssize_t n = readlinkat(pos->dir, name, expanded, sizeof expanded - 1);
  if (n <= 0) return fail(f, Verdict::io_error, errno, name, strlen(name));
  size_t length = static_cast<size_t>(n);
  if (rest_length > 0) {
    if (length + 1 + rest_length >= sizeof expanded) return fail(f, Verdict::too_long, ENAMETOOLONG, name, strlen(name));
    expanded[length++] = '/';
    memcpy(expanded + length, rest, rest_length);
    length += rest_length;
  }
  expanded[length] = '\0';
  if (expanded[0] == '/') {
    int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) return fail(f, Verdict::io_error, errno, "/", 1);
    close(pos->dir);
    pos->dir = root;
  }
  // walk_text copies the last name out of `expanded`, which ends here.
  return walk_text(pos, expanded, length, last_mode, other_owner, last_name, f);
}

// Walks `text` from pos->dir; the last component as `last_mode` says, its
// name copied to `last_name` (NAME_MAX + 1 bytes) unless it is a directory.
Verdict walk_text(Position* pos, const char* text, size_t length, Last last_mode, uid_t other_owner,
                  char* last_name, Finding* f) {
  size_t at = 0, begin = 0, end = 0;
  char name[NAME_MAX + 1];
  while (next_component(text, length, &at, &begin, &end)) {
    if (!copy_name(text, begin, end, name)) return fail(f, Verdict::too_long, ENAMETOOLONG, text, end);
    const bool last = !more_components(text, length, at);
    if (last && last_mode != Last::directory) {
      if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return fail(f, Verdict::not_regular, EISDIR, text, end);
      bool hand_over = last_mode == Last::name;
      if (!hand_over) {
        struct stat st;
        if (fstatat(pos->dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
          int error = errno;
          return fail(f, from_errno(error), error, text, end);
        }
        hand_over = !S_ISLNK(st.st_mode);
      }
      if (hand_over) {
        memcpy(last_name, name, end - begin + 1);
        return Verdict::ok;
      }
    }
    Verdict v = Verdict::ok;
    int error = 0;
    switch (enter(pos, name, other_owner, &v, &error)) {
      case Step::next:
        break;
      case Step::done:
        return fail(f, v, error, text, end);
      case Step::link:
        return follow_link(pos, name, text + at, length - at, last_mode, other_owner, last_name, f);
    }
  }
  if (last_mode != Last::directory) return fail(f, Verdict::not_regular, EISDIR, text, length);
  return Verdict::ok;
}

// From "/" (itself judged) along the absolute `path`.
Verdict walk(const char* path, Last last_mode, uid_t other_owner, Position* pos, char* last_name, Finding* f) {
  f->verdict = Verdict::ok;
  f->error = 0;
  pos->dir = -1;
  pos->links = 0;
  last_name[0] = '\0';
  if (path == nullptr || path[0] != '/') {
    return fail(f, Verdict::not_absolute, 0, path ? path : "", path ? strlen(path) : 0);
  }
  size_t length = strlen(path);
  if (length >= PATH_MAX) return fail(f, Verdict::too_long, ENAMETOOLONG, path, length);
  pos->dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (pos->dir < 0) return fail(f, Verdict::io_error, errno, "/", 1);
  struct stat root;
  if (fstat(pos->dir, &root) != 0) return fail(f, Verdict::io_error, errno, "/", 1);
  Verdict v = judge(root, other_owner, true);
  if (v != Verdict::ok) return fail(f, v, 0, "/", 1);
  return walk_text(pos, path, length, last_mode, other_owner, last_name, f);
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
  Position pos;
  char unused[NAME_MAX + 1];
  if (walk(dir_path, Last::directory, other_owner, &pos, unused, finding) != Verdict::ok) {
    if (pos.dir >= 0) close(pos.dir);
    return -1;
  }
  return pos.dir;
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
    int error = errno;
    fail(finding, from_errno(error), error, name, length);
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

namespace {

int open_checked(const char* path, Last last_mode, uid_t other_owner, struct stat* st, Finding* finding) {
  Position pos;
  char last[NAME_MAX + 1];
  if (walk(path, last_mode, other_owner, &pos, last, finding) != Verdict::ok) {
    if (pos.dir >= 0) close(pos.dir);
    return -1;
  }
  int fd = open_regular_file(pos.dir, last, true, other_owner, st, finding);
  close(pos.dir);
  return fd;
}

}  // namespace

int open_trusted_file(const char* path, uid_t other_owner, struct stat* st, Finding* finding) {
  return open_checked(path, Last::name, other_owner, st, finding);
}

Verdict check_file_path(const char* path, uid_t other_owner, Finding* finding) {
  struct stat st;
  int fd = open_checked(path, Last::followed, other_owner, &st, finding);
  if (fd >= 0) close(fd);
  return finding->verdict;
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
