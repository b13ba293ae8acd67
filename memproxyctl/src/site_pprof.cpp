#include "site_pprof.hpp"

#include <zlib.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

#include "site_name.hpp"

namespace memproxyctl {

namespace hq = memproxy::heap_query;
namespace pp = perftools::profiles;

namespace {

// Indices into the profile's string table, "" first as the format requires.
class Strings {
 public:
  explicit Strings(pp::Profile& p) : profile_(p) { index(""); }
  int64_t index(const std::string& s) {
    auto [it, added] = indices_.try_emplace(s, static_cast<int64_t>(indices_.size()));
    if (added) profile_.add_string_table(s);
    return it->second;
  }

 private:
  pp::Profile& profile_;
  std::unordered_map<std::string, int64_t> indices_;
};

void value_type(pp::ValueType* v, Strings& strings, const char* type, const char* unit) {
  v->set_type(strings.index(type));
  v->set_unit(strings.index(unit));
}

int64_t clamped(uint64_t v) { return static_cast<int64_t>(std::min<uint64_t>(v, INT64_MAX)); }

}  // namespace

pp::Profile pprof_profile(const hq::SitesAnswer& answer) {
  pp::Profile p;
  Strings strings(p);
  value_type(p.add_sample_type(), strings, "inuse_space", "bytes");
  value_type(p.add_sample_type(), strings, "inuse_objects", "count");
  p.set_default_sample_type(strings.index("inuse_space"));
  value_type(p.mutable_period_type(), strings, "space", "bytes");
  p.set_period(clamped(answer.sample_mean_bytes));
  p.set_time_nanos(answer.unix_ns);

  std::map<std::pair<std::string, std::string>, pp::Mapping*> mappings;  // object, build-id
  std::map<std::pair<std::string, std::string>, uint64_t> functions;     // name, file
  // (address, lines) -> id: a run of inlined frames cut by the allocator's
  // leaf is a location of its own, apart from the whole run at its address.
  std::map<std::pair<uint64_t, size_t>, uint64_t> locations;

  auto mapping_of = [&](const hq::FrameView& f) -> uint64_t {
    if (f.object.empty()) return 0;
    pp::Mapping*& m = mappings[{f.object, f.build_id}];
    const uint64_t start = f.address >= f.object_offset ? f.address - f.object_offset : 0;
    if (m == nullptr) {
      m = p.add_mapping();
      m->set_id(static_cast<uint64_t>(p.mapping_size()));
      m->set_filename(strings.index(f.object));
      m->set_build_id(strings.index(f.build_id));
      m->set_memory_start(start);
      m->set_memory_limit(f.address + 1);
    }
    m->set_memory_start(std::min(m->memory_start(), start));
    m->set_memory_limit(std::max(m->memory_limit(), f.address + 1));
    if (!f.function.empty()) m->set_has_functions(true);
    if (!f.file.empty()) m->set_has_filenames(true);
    if (f.line != 0) m->set_has_line_numbers(true);
    if (f.inlined) m->set_has_inline_frames(true);
    return m->id();
  };
  // A frame without a function is named as every output names it
  // (site_name.hpp): by its object and offset.
  auto function_of = [&](const hq::FrameView& f) -> uint64_t {
    const std::string name = frame_label(f);
    auto [it, added] = functions.try_emplace({name, f.file}, 0);
    if (added) {
      pp::Function* fn = p.add_function();
      it->second = static_cast<uint64_t>(p.function_size());
      fn->set_id(it->second);
      fn->set_name(strings.index(name));
      fn->set_system_name(strings.index(name));
      fn->set_filename(strings.index(f.file));
    }
    return it->second;
  };

  for (const hq::SiteView& site : answer.sites) {
    pp::Sample* s = p.add_sample();
    s->add_value(clamped(site.estimated_bytes));
    s->add_value(clamped(site.estimated_blocks));
    // A site's frames come in runs of one address each: the inlined ones,
    // then the function they are in; a run is one location.
    for (size_t i = first_outside_allocator(site); i < site.frames.size();) {
      size_t end = i + 1;
      while (end < site.frames.size() && site.frames[end].address == site.frames[i].address &&
             site.frames[end - 1].inlined) {
        ++end;
      }
      const uint64_t address = site.frames[i].address;
      auto [it, added] = locations.try_emplace({address, end - i}, 0);
      if (added) {
        pp::Location* l = p.add_location();
        it->second = static_cast<uint64_t>(p.location_size());
        l->set_id(it->second);
        l->set_address(address);
        l->set_mapping_id(mapping_of(site.frames[i]));
        for (size_t k = i; k < end; ++k) {
          const hq::FrameView& f = site.frames[k];
          if (f.function.empty() && f.file.empty() && f.object.empty()) continue;
          pp::Line* line = l->add_line();
          line->set_function_id(function_of(f));
          line->set_line(f.line);
        }
      }
      s->add_location_id(it->second);
      i = end;
    }
  }
  return p;
}

std::string gzip(const std::string& data) {
  z_stream z{};
  // 15 window bits, +16: a gzip header and trailer rather than zlib's.
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("zlib: cannot start compressing");
  }
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (result != Z_STREAM_END) throw std::runtime_error("zlib: compressing failed");
  return out;
}

std::string pprof_file(const hq::SitesAnswer& answer) { return gzip(pprof_profile(answer).SerializeAsString()); }

}  // namespace memproxyctl
