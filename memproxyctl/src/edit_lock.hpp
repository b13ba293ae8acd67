// One memproxyctl edit of a file at a time: FILE.memproxyctl-lock, flock()ed
// for the whole edit (read, verify, write) so that two concurrent runs cannot
// both start from the same content and one silently undo the other.
//
// The holder removes the lock file when it is done, while still holding the
// lock; a run that locked a file already removed (it opened it just before)
// sees that the name no longer refers to it and tries again. The file is
// created 0600 and never followed through a link.
#ifndef MEMPROXYCTL_EDIT_LOCK_HPP
#define MEMPROXYCTL_EDIT_LOCK_HPP

#include <string>

namespace memproxyctl {

std::string edit_lock_path_for(const std::string& file);

class EditLock {
 public:
  EditLock() = default;
  EditLock(const EditLock&) = delete;
  EditLock& operator=(const EditLock&) = delete;
  ~EditLock();

  // Takes the lock for editing `file`, or returns why not. Never waits: an
  // edit under way elsewhere is a reason to stop and look, not to queue.
  std::string acquire(const std::string& file);

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace memproxyctl

#endif
