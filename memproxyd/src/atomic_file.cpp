#include "atomic_file.hpp"

#include <unistd.h>

#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <cerrno>
#include <cstring>

namespace memproxy::daemon {
namespace {

namespace bip = boost::interprocess;

// The staging file was created exclusively by this process, in a directory
// only its owner can write: mapping it by name maps that same file.
std::string write_mapped(const std::string& staging, const void* data, std::size_t size) {
  try {
    bip::file_mapping file(staging.c_str(), bip::read_write);
    bip::mapped_region region(file, bip::read_write, 0, size);
    std::memcpy(region.get_address(), data, size);
    if (!region.flush(0, size, false)) return "cannot flush the mapping of " + staging;
  } catch (const bip::interprocess_exception& e) {
    return "cannot map " + staging + ": " + e.what();
  }
  return {};
}

}  // namespace

std::string replace_file(const std::string& target, const void* data, std::size_t size, unsigned mode) {
  atomic::StagedFile staged(target, static_cast<mode_t>(mode));
  if (!staged.ok()) return staged.error();
  if (::ftruncate(staged.fd(), static_cast<off_t>(size)) != 0) {
    return "cannot size " + staged.path() + ": " + std::strerror(errno);
  }
  if (size > 0) {
    std::string error = write_mapped(staged.path(), data, size);
    if (!error.empty()) return error;
  }
  staged.commit();
  return staged.error();
}

}  // namespace memproxy::daemon
