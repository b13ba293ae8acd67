// A fixed-size, allocation-free string builder for the debug line and the
// backend name. Appends truncate silently; the result is always NUL-terminated.
#ifndef MEMPROXY_TEXT_BUFFER_HPP
#define MEMPROXY_TEXT_BUFFER_HPP

#include <stddef.h>
#include <stdint.h>

namespace memproxy {

class TextBuffer {
 public:
  TextBuffer(char* storage, size_t capacity) : data_(storage), capacity_(capacity) { data_[0] = '\0'; }
  TextBuffer& add(const char* text);
  TextBuffer& add(const char* text, size_t length);
  TextBuffer& add_uint(uint64_t value);
  const char* c_str() const { return data_; }
  size_t size() const { return size_; }

 private:
  char* data_;
  size_t capacity_;
  size_t size_ = 0;
};

}  // namespace memproxy

#endif
