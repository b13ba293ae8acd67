// The trust rule: which files and directories memproxy may believe, defined
// once for the library, the daemon and the CLI (doctor describes exactly
// these checks).
//
// A path is trusted when every directory from "/" down to it, and the file
// itself, is owned by root (or by the one other owner the caller names) and
// is not writable by group or others. A directory writable by others is
// accepted only with the sticky bit (as /tmp), which stops others from
// renaming or removing what they do not own. Symbolic links are followed
// (at most kMaxSymlinks) only inside trusted directories: replacing a link
// needs write access to its directory, so a link there is as trustworthy as
// the directory.
//
// Freestanding by contract, like the table reader: no heap, no exceptions,
// no libstdc++; only libc's system call wrappers. Every check works on
// descriptors (openat with O_NOFOLLOW, fstat), so what was checked is what
// is opened.
#ifndef MEMPROXY_TRUST_HPP
#define MEMPROXY_TRUST_HPP

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

namespace memproxy::trust {

inline constexpr int kMaxSymlinks = 40;
// "No second trusted owner": only root.
inline constexpr uid_t kRootOnly = 0;

enum class Verdict : uint8_t {
  ok,
  missing,             // a component does not exist
  not_absolute,        // the path does not start with '/'
  too_long,            // over PATH_MAX, or a link expansion is
  too_many_links,      // more than kMaxSymlinks symbolic links
  not_a_directory,     // a component before the last is not a directory
  not_regular,         // the file is a FIFO, socket, device, directory or link
  bad_owner,           // owned by someone other than root (or the named owner)
  writable_by_others,  // writable by group or others (a directory without the sticky bit)
  io_error,            // open or fstat failed otherwise
};

// A short, stable explanation ("not owned by root", ...).
const char* describe(Verdict verdict);

// What a check found. On failure, `where` (caller's storage, may be null)
// receives the offending component as resolved, links expanded.
struct Finding {
  Verdict verdict = Verdict::ok;
  int error = 0;  // errno of a failed system call, 0 otherwise
  char* where = nullptr;
  size_t where_size = 0;
};

// The owner/mode rule on one fstat result. `directory`: others may write a
// sticky directory.
Verdict judge(const struct stat& st, uid_t other_owner, bool directory);

// Opens the directory `dir_path` (absolute) after checking every component,
// itself included; returns a descriptor (O_PATH|O_DIRECTORY|O_CLOEXEC) or -1
// with `finding` set.
int open_trusted_directory(const char* dir_path, uid_t other_owner, Finding* finding);

// Opens `name` (one component, no '/') in `dir_fd` for reading without
// blocking or following a link (O_RDONLY|O_NONBLOCK|O_NOFOLLOW|O_CLOEXEC|
// O_NOCTTY), and requires a regular file; with `check_owner` also the
// owner/mode rule. Fills `st`; returns the descriptor or -1 with `finding`
// set. A FIFO, socket or device in the file's place never blocks this call.
int open_regular_file(int dir_fd, const char* name, bool check_owner, uid_t other_owner, struct stat* st,
                      Finding* finding);

// Opens an absolute `path` the way libmemproxy opens the table: its
// directory chain trusted (open_trusted_directory), the file itself regular,
// owned by root (or `other_owner`), not writable by group or others, and not
// a link (open_regular_file). The descriptor, or -1 with `finding` set.
int open_trusted_file(const char* path, uid_t other_owner, struct stat* st, Finding* finding);

// The whole chain of `path` (absolute), links followed, the last component
// a regular file: what must hold before a library at `path` may be loaded.
Verdict check_file_path(const char* path, uid_t other_owner, Finding* finding);

// Splits an absolute file path at its last '/': the directory (written into
// `dir`, "/" for a file at the root) and a pointer to the name inside `path`.
// nullptr when `path` is not absolute, ends in '/', or the directory does
// not fit `dir_size`.
const char* split_directory(const char* path, char* dir, size_t dir_size);

}  // namespace memproxy::trust

#endif
