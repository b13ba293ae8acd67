#include "symbols/demangle.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

namespace memproxy::symbols {

std::string demangle(std::string_view name) {
  if (name.size() < 2 || name.substr(0, 2) != "_Z" || name.size() > kMaxDemangledInput) return std::string(name);
  const std::string mangled(name);
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> readable(abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status),
                                                      &std::free);
  if (status != 0 || readable == nullptr) return mangled;
  return readable.get();
}

}  // namespace memproxy::symbols
