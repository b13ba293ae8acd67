#include "symbols/object_cache.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace memproxy::symbols {

ObjectCache::ObjectCache(size_t capacity, std::string debuginfo_path)
    : capacity_(capacity == 0 ? 1 : capacity), debuginfo_path_(std::move(debuginfo_path)) {}

CachedObject ObjectCache::use(Iterator entry, const Identity& identity) {
  entries_.splice(entries_.begin(), entries_, entry);
  auto& identities = entry->identities;
  if (std::find(identities.begin(), identities.end(), identity) == identities.end()) {
    if (identities.size() >= kMaxIdentities) {
      by_identity_.erase(identities.front());
      identities.erase(identities.begin());
    }
    identities.push_back(identity);
    by_identity_[identity] = entry;
  }
  return entry->cached;
}

void ObjectCache::evict_one() {
  Entry& victim = entries_.back();
  for (const Identity& identity : victim.identities) by_identity_.erase(identity);
  if (!victim.build.empty()) by_build_.erase(victim.build);
  entries_.pop_back();
  ++evictions_;
}

CachedObject ObjectCache::get(UniqueFd fd, const std::string& name, std::string* why) {
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    *why = std::strerror(errno);
    return {};
  }
  const Identity identity{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                          static_cast<uint64_t>(st.st_size),
                          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  if (auto it = by_identity_.find(identity); it != by_identity_.end()) return use(it->second, identity);

  const std::string build_id = read_build_id(fd.get());
  std::string build = build_id.empty() ? "" : build_id + "/" + std::to_string(identity.size);
  if (!build.empty()) {
    if (auto it = by_build_.find(build); it != by_build_.end()) return use(it->second, identity);
  }

  std::shared_ptr<ElfObject> object = ElfObject::load(std::move(fd), name, debuginfo_path_, why);
  if (object == nullptr) return {};
  ++loads_;
  while (entries_.size() >= capacity_) evict_one();
  // Keyed by the build-id libdwfl read, the one the result reports.
  if (object->build_id() != build_id) build.clear();
  entries_.push_front(Entry{CachedObject{std::move(object), next_serial_++}, build, {}});
  if (!build.empty()) by_build_[build] = entries_.begin();
  return use(entries_.begin(), identity);
}

}  // namespace memproxy::symbols
