#include "debug_packages.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <sstream>
#include <string_view>

#include "run_program.hpp"
#include "terminal_text.hpp"

namespace memproxyctl {

namespace hq = memproxy::heap_query;

namespace {

// A path dpkg-query takes literally: it treats *, ?, [ and \ as a glob.
bool plain_path(const std::string& path) {
  if (path.empty() || path[0] != '/') return false;
  for (unsigned char c : path) {
    if (c < 0x20 || c == 0x7f || c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') return false;
  }
  return true;
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

}  // namespace

std::vector<std::string> objects_without_debug_info(const hq::SitesAnswer& answer, size_t limit) {
  std::vector<std::string> order;
  std::set<std::string> with_file;
  for (const hq::SiteView& site : answer.sites) {
    for (const hq::FrameView& f : site.frames) {
      if (f.object.empty()) continue;
      if (!f.file.empty()) with_file.insert(f.object);
      if (std::find(order.begin(), order.end(), f.object) == order.end()) order.push_back(f.object);
    }
  }
  std::vector<std::string> out;
  for (const std::string& object : order) {
    if (out.size() == limit) break;
    if (with_file.count(object) == 0 && plain_path(object)) out.push_back(object);
  }
  return out;
}

std::string merged_usr_alias(const std::string& object) {
  for (std::string_view top : {"/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/libx32/"}) {
    if (starts_with(object, top)) return "/usr" + object;
    if (starts_with(object, "/usr" + std::string(top))) return object.substr(4);
  }
  return "";
}

std::map<std::string, std::string> owning_packages(const std::vector<std::string>& objects,
                                                   const std::string& dpkg_query) {
  std::map<std::string, std::string> owners;
  if (objects.empty() || ::access(dpkg_query.c_str(), X_OK) != 0) return owners;
  std::map<std::string, std::string> asked;  // path asked -> object
  std::vector<std::string> argv = {dpkg_query, "-S", "--"};
  for (const std::string& object : objects) {
    for (const std::string& path : {object, merged_usr_alias(object)}) {
      if (path.empty() || asked.count(path) != 0) continue;
      asked[path] = object;
      argv.push_back(path);
    }
  }
  RunLimits limits;
  limits.timeout = std::chrono::seconds(10);
  // Exit status 1 says only that some path is in no package.
  const ProgramResult result = run_program(argv, {}, limits);
  if (!result.started || result.timed_out) return owners;
  // "PACKAGE[:ARCH][, PACKAGE...]: PATH"; diversions are lines of their own.
  std::istringstream lines(result.out);
  for (std::string line; std::getline(lines, line);) {
    if (starts_with(line, "diversion by ")) continue;
    const size_t separator = line.find(": /");
    if (separator == std::string::npos) continue;
    const auto object = asked.find(line.substr(separator + 2));
    if (object == asked.end()) continue;
    std::string package = line.substr(0, std::min(line.find(", "), separator));
    package = package.substr(0, package.find(':'));
    if (!package.empty()) owners.emplace(object->second, package);
  }
  return owners;
}

std::vector<std::string> debug_package_hints(const hq::SitesAnswer& answer, const std::string& dpkg_query) {
  std::vector<std::string> out;
  // Without an answer from the symbolizer no frame has a file, whatever the
  // objects hold: that is said by the "no symbols:" line instead.
  if (!answer.symbols_error.empty()) return out;
  const std::vector<std::string> objects = objects_without_debug_info(answer);
  const std::map<std::string, std::string> owners = owning_packages(objects, dpkg_query);
  for (const std::string& object : objects) {
    const auto owner = owners.find(object);
    if (owner == owners.end()) continue;
    const std::string package = terminal_safe(owner->second);
    out.push_back("no debug info for " + terminal_safe(object) + " (package " + package + "): apt-get install " +
                  package + "-dbgsym (Debian's debug archive) or " + package + "-dbg");
  }
  return out;
}

}  // namespace memproxyctl
