// Counts the distinct pages of a mapping that code actually reads, without
// help from the code under test: the mapping starts PROT_NONE, and a SIGSEGV
// handler records each faulting page and makes it readable. Page-cache state
// and kernel fault-around cannot inflate the count, unlike RSS or mincore().
//
// One counter may be active at a time (the handler state is process-global).
#ifndef MEMPROXY_TESTS_PAGE_TOUCH_COUNTER_HPP
#define MEMPROXY_TESTS_PAGE_TOUCH_COUNTER_HPP

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace memproxy::testing {

class PageTouchCounter {
 public:
  // Maps `path` read-only and PROT_NONE; throws std::runtime_error on I/O errors.
  explicit PageTouchCounter(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("cannot open " + path);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      throw std::runtime_error("cannot stat " + path);
    }
    size_ = static_cast<std::size_t>(st.st_size);
    void* map = ::mmap(nullptr, size_, PROT_NONE, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (map == MAP_FAILED) throw std::runtime_error("cannot map " + path);
    state().base = static_cast<unsigned char*>(map);
    state().size = size_;
    state().page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    state().touched = 0;
    struct sigaction action {};
    action.sa_sigaction = &on_fault;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGSEGV, &action, &previous_);
  }
  ~PageTouchCounter() {
    ::sigaction(SIGSEGV, &previous_, nullptr);
    ::munmap(state().base, size_);
    state().base = nullptr;
  }
  PageTouchCounter(const PageTouchCounter&) = delete;
  PageTouchCounter& operator=(const PageTouchCounter&) = delete;

  const void* data() const { return state().base; }
  std::size_t size() const { return size_; }
  std::size_t pages_touched() const { return state().touched; }

 private:
  struct State {
    unsigned char* base = nullptr;
    std::size_t size = 0;
    std::size_t page = 4096;
    volatile std::size_t touched = 0;
  };
  static State& state() {
    static State s;
    return s;
  }
  static void on_fault(int, siginfo_t* info, void*) {
    State& s = state();
    auto* address = static_cast<unsigned char*>(info->si_addr);
    if (s.base == nullptr || address < s.base || address >= s.base + s.size) {
      ::signal(SIGSEGV, SIG_DFL);  // a real crash: let it happen
      return;
    }
    auto offset = static_cast<std::size_t>(address - s.base) / s.page * s.page;
    ::mprotect(s.base + offset, s.page, PROT_READ);
    s.touched = s.touched + 1;
  }

  std::size_t size_ = 0;
  struct sigaction previous_ {};
};

}  // namespace memproxy::testing

#endif
