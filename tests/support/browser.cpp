#include "browser.hpp"

#include <png.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "capability.hpp"
#include "process.hpp"

namespace memproxy::testing {

std::string missing_browser() { return missing_program(kChromium, "chromium"); }

Rgb rgb(const std::string& css) {
  const unsigned long v = std::strtoul(css.c_str() + 1, nullptr, 16);
  return {static_cast<int>(v >> 16 & 0xff), static_cast<int>(v >> 8 & 0xff), static_cast<int>(v & 0xff)};
}

Rgb Image::at(int x, int y) const {
  const size_t i = (static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x)) * 3;
  return {pixels[i], pixels[i + 1], pixels[i + 2]};
}

std::variant<Image, std::string> read_png(const std::string& path) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&png, path.c_str())) return "cannot read " + path + ": " + png.message;
  png.format = PNG_FORMAT_RGB;
  Image image;
  image.width = static_cast<int>(png.width);
  image.height = static_cast<int>(png.height);
  image.pixels.resize(PNG_IMAGE_SIZE(png));
  if (!png_image_finish_read(&png, nullptr, image.pixels.data(), 0, nullptr)) {
    std::string why = "cannot decode " + path + ": " + png.message;
    png_image_free(&png);
    return why;
  }
  return image;
}

std::variant<Image, std::string> screenshot(const std::string& html, int width, int height,
                                            const std::string& scratch_dir) {
  const std::string shot = scratch_dir + "/screenshot.png";
  std::filesystem::remove(shot);
  Options options;
  options.timeout = std::chrono::seconds(60);
  Outcome o = run({kChromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--force-color-profile=srgb", "--force-device-scale-factor=1", "--hide-scrollbars",
                   "--user-data-dir=" + scratch_dir + "/profile", "--screenshot=" + shot,
                   "--window-size=" + std::to_string(width) + "," + std::to_string(height), "file://" + html},
                  {"HOME=" + scratch_dir, "PATH=/usr/bin:/bin"}, options);
  if (!o.ok() || !std::filesystem::exists(shot)) return "chromium took no screenshot: " + o.describe();
  return read_png(shot);
}

bool near(Rgb c, Rgb want, int tolerance) {
  return std::abs(c.r - want.r) <= tolerance && std::abs(c.g - want.g) <= tolerance &&
         std::abs(c.b - want.b) <= tolerance;
}

std::vector<Box> regions(const Image& image, Rgb colour, int tolerance, int gap) {
  std::vector<Box> out;
  int last_row = -1;
  for (int y = 0; y < image.height; ++y) {
    int left = image.width, right = -1;
    for (int x = 0; x < image.width; ++x) {
      if (!near(image.at(x, y), colour, tolerance)) continue;
      left = std::min(left, x);
      right = std::max(right, x);
    }
    if (right < 0) continue;
    if (out.empty() || y - last_row > gap) out.push_back({left, y, right + 1, y + 1});
    Box& box = out.back();
    box.left = std::min(box.left, left);
    box.right = std::max(box.right, right + 1);
    box.bottom = y + 1;
    last_row = y;
  }
  return out;
}

std::vector<std::pair<int, int>> pixels_of(const Image& image, const Box& box, Rgb colour, int tolerance) {
  std::vector<std::pair<int, int>> out;
  for (int y = std::max(0, box.top); y < std::min(image.height, box.bottom); ++y) {
    for (int x = std::max(0, box.left); x < std::min(image.width, box.right); ++x) {
      if (near(image.at(x, y), colour, tolerance)) out.emplace_back(x, y);
    }
  }
  return out;
}

}  // namespace memproxy::testing
