#include "publisher.hpp"

#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>
#include <chrono>

#include "atomic_file.hpp"
#include "memproxy/table_reader.hpp"
#include "runtime_dir.hpp"
#include "memproxy/clock.hpp"

namespace memproxy::daemon {
namespace {

namespace bip = boost::interprocess;

using memproxy::unix_now_ns;

}  // namespace

uint64_t live_generation(const std::string& path) {
  try {
    bip::file_mapping file(path.c_str(), bip::read_only);
    bip::mapped_region region(file, bip::read_only);
    table::View view;
    if (table::open(region.get_address(), region.get_size(), &view) != table::Status::ok) return 0;
    if (table::verify_all(view) != table::Status::ok) return 0;
    return view.header->generation;
  } catch (const bip::interprocess_exception&) {
    return 0;
  }
}

Publisher::Publisher(std::string table_path, table::Settings settings)
    : table_path_(std::move(table_path)), settings_(std::move(settings)), generation_(live_generation(table_path_)) {}

PublishOutcome Publisher::publish(const std::vector<table::BuildEntry>& entries) {
  PublishOutcome outcome;
  const auto start = std::chrono::steady_clock::now();
  outcome.error = check_runtime_dir(parent_dir(table_path_));
  if (!outcome.error.empty()) return outcome;

  const uint64_t generation = generation_ + 1;
  outcome.published_unix_ns = unix_now_ns();
  std::vector<unsigned char> image;
  try {
    image = table::build(entries, settings_, generation, static_cast<uint64_t>(outcome.published_unix_ns));
  } catch (const table::BuildError& e) {
    outcome.error = std::string("cannot build the table: ") + e.what();
    return outcome;
  }
  // The builder's output is checked like any reader would before it goes live:
  // a builder bug must cost a publish, not every new process's routing.
  table::View view;
  table::Status status = table::open(image.data(), image.size(), &view);
  if (status == table::Status::ok) status = table::verify_all(view);
  if (status != table::Status::ok) {
    outcome.error = std::string("the built table does not validate: ") + table::status_message(status);
    return outcome;
  }
  outcome.error = replace_file(table_path_, image.data(), image.size(), 0644);
  if (!outcome.error.empty()) return outcome;

  generation_ = generation;
  outcome.generation = generation;
  outcome.entry_count = view.header->entry_count;
  outcome.table_bytes = image.size();
  outcome.duration_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return outcome;
}

}  // namespace memproxy::daemon
