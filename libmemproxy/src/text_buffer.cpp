#include "text_buffer.hpp"

#include <string.h>

namespace memproxy {

TextBuffer& TextBuffer::add(const char* text, size_t length) {
  size_t room = capacity_ - 1 - size_;
  if (length > room) length = room;
  memcpy(data_ + size_, text, length);
  size_ += length;
  data_[size_] = '\0';
  return *this;
}

TextBuffer& TextBuffer::add(const char* text) { return add(text != nullptr ? text : "(null)", strlen(text != nullptr ? text : "(null)")); }

TextBuffer& TextBuffer::add_uint(uint64_t value) {
  char digits[24];
  size_t n = 0;
  do {
    digits[sizeof digits - 1 - n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  return add(digits + sizeof digits - n, n);
}

}  // namespace memproxy
