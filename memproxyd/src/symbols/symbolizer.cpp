#include "symbols/symbolizer.hpp"

#include <map>

#include "symbols/object_files.hpp"

namespace memproxy::symbols {

Symbolizer::Symbolizer(SymbolizerOptions options)
    : objects_(options.max_objects, std::move(options.debuginfo_path)), addresses_(options.max_addresses) {}

std::vector<Location> Symbolizer::symbolize_return_addresses(const std::vector<Mapping>& mappings,
                                                             std::span<const uint64_t> return_addresses,
                                                             const ObjectOpener& open) {
  struct Opened {
    CachedObject cached;
    std::string why;
  };
  std::map<const Mapping*, Opened> opened;
  std::vector<Location> out;
  out.reserve(return_addresses.size());

  for (uint64_t address : return_addresses) {
    Location& location = out.emplace_back();
    location.address = address;
    const Mapping* mapping = find_call_mapping(mappings, address);
    if (mapping == nullptr) {
      location.note = "not in an executable file mapping";
      continue;
    }
    location.mapped = true;
    location.object = mapping->path;
    location.deleted = mapping->deleted;
    location.offset = address - mapping->start + mapping->offset;

    auto [it, first] = opened.try_emplace(mapping);
    if (first) {
      UniqueFd fd = open(*mapping, &it->second.why);
      if (fd) it->second.cached = objects_.get(std::move(fd), mapping->path, &it->second.why);
    }
    const Opened& object = it->second;
    if (object.cached.object == nullptr) {
      location.note = object.why;
      continue;
    }
    location.build_id = object.cached.object->build_id();

    const uint64_t call_offset = location.offset - 1;
    std::optional<uint64_t> call = object.cached.object->address_of_offset(call_offset);
    if (!call) {
      location.note = "offset outside the object's loadable segments";
      continue;
    }
    const AddressKey key{object.cached.serial, *call};
    if (const std::vector<Frame>* frames = addresses_.find(key)) {
      ++address_hits_;
      location.frames = *frames;
    } else {
      location.frames = object.cached.object->frames_at(*call);
      addresses_.put(key, location.frames);
    }
    if (location.frames.empty()) location.note = "no symbol covers this address";
  }
  return out;
}

std::optional<std::vector<Location>> Symbolizer::symbolize_process(pid_t pid,
                                                                   std::span<const uint64_t> return_addresses,
                                                                   std::string* why) {
  std::optional<std::vector<Mapping>> mappings = read_maps(pid, why);
  if (!mappings) return std::nullopt;
  return symbolize_return_addresses(*mappings, return_addresses, [pid](const Mapping& mapping, std::string* reason) {
    return open_mapped_object(pid, mapping, reason);
  });
}

SymbolizerStats Symbolizer::stats() const {
  SymbolizerStats stats;
  stats.objects = objects_.size();
  stats.addresses = addresses_.size();
  stats.object_loads = objects_.loads();
  stats.object_evictions = objects_.evictions();
  stats.address_hits = address_hits_;
  stats.address_evictions = addresses_.evictions();
  return stats;
}

}  // namespace memproxy::symbols
