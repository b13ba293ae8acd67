// A real browser's picture of a page: headless Chromium takes a screenshot
// of a local file, and the PNG is decoded so a test can look for the
// colours that only a drawn chart line has, and where.
#ifndef MEMPROXY_TESTS_BROWSER_HPP
#define MEMPROXY_TESTS_BROWSER_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace memproxy::testing {

inline constexpr const char* kChromium = "/usr/bin/chromium";

// "" when Chromium is installed, else the reason to skip.
std::string missing_browser();

struct Rgb {
  int r = 0, g = 0, b = 0;
};
// "#rrggbb".
Rgb rgb(const std::string& css);

struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;  // RGB, row by row
  Rgb at(int x, int y) const;
};

// A rectangle of pixels: left <= x < right, top <= y < bottom.
struct Box {
  int left = 0, top = 0, right = 0, bottom = 0;
};

// The PNG at `path`, or why it cannot be read.
std::variant<Image, std::string> read_png(const std::string& path);

// Chromium's screenshot of the file `html` (an absolute path) in a window of
// width x height CSS pixels at one device pixel each, taken with HOME and
// the profile in `scratch_dir` and killed after a minute; the image, or why
// there is none (with Chromium's output).
std::variant<Image, std::string> screenshot(const std::string& html, int width, int height,
                                            const std::string& scratch_dir);

// Whether `c` is within `tolerance` of `want` in every channel.
bool near(Rgb c, Rgb want, int tolerance);

// The areas painted `colour`: runs of rows holding such pixels, runs closer
// than `gap` rows merged (a line drawn across an area splits its rows),
// each as the box of those pixels. Top to bottom.
std::vector<Box> regions(const Image& image, Rgb colour, int tolerance = 2, int gap = 6);

// The pixels of `colour` in `box`.
std::vector<std::pair<int, int>> pixels_of(const Image& image, const Box& box, Rgb colour, int tolerance = 12);

}  // namespace memproxy::testing

#endif
