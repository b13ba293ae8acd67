// Options shared by every subcommand (given before or after the subcommand name).
#ifndef MEMPROXYCTL_OPTIONS_HPP
#define MEMPROXYCTL_OPTIONS_HPP

#include <string>

namespace memproxyctl {

struct GlobalOptions {
  std::string table_path;   // -t/--table; the platform default when not given
  std::string config_path;  // -c/--config; the platform default when not given
  bool json = false;        // --json: one JSON document on stdout instead of text
  std::string query_socket; // --query-socket; "" = query.sock beside the table
};

}  // namespace memproxyctl

#endif
