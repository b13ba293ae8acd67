// Reading back what report_svg drew: the points of every polyline and
// circle of one class, in document order.
#ifndef MEMPROXY_TESTS_MEMPROXYCTL_SVG_PARSE_HPP
#define MEMPROXY_TESTS_MEMPROXYCTL_SVG_PARSE_HPP

#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace svg_parse {

using Points = std::vector<std::pair<double, double>>;

// One entry per polyline or circle of class `css_class`.
inline std::vector<Points> shapes(const std::string& svg, const std::string& css_class) {
  std::vector<Points> out;
  const std::regex shape("<(polyline|circle) class=\"" + css_class + "\"([^>]*)/>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), shape); it != std::sregex_iterator(); ++it) {
    const std::string attributes = (*it)[2];
    Points points;
    std::smatch m;
    if ((*it)[1] == "circle") {
      std::regex_search(attributes, m, std::regex(R"re( cx="([-0-9.]+)" cy="([-0-9.]+)")re"));
      points.emplace_back(std::stod(m[1]), std::stod(m[2]));
    } else {
      std::regex_search(attributes, m, std::regex(R"re( points="([^"]*)")re"));
      std::istringstream list(m[1]);
      std::string pair;
      while (list >> pair) {
        const auto comma = pair.find(',');
        points.emplace_back(std::stod(pair.substr(0, comma)), std::stod(pair.substr(comma + 1)));
      }
    }
    out.push_back(points);
  }
  return out;
}

inline size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

}  // namespace svg_parse

#endif
