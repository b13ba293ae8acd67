#include "heapwatch/analysis/trend_statistics.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace memproxy::heapwatch {

namespace {

void set_z(MannKendall& mk) {
  mk.z = 0;
  if (mk.variance > 0 && mk.s != 0) {
    double corrected = static_cast<double>(mk.s > 0 ? mk.s - 1 : mk.s + 1);
    mk.z = corrected / std::sqrt(mk.variance);
  }
  mk.p_value = std::erfc(std::fabs(mk.z) / std::sqrt(2.0));
}

// Ranks 1..n, ties given their mean rank.
std::vector<double> ranks_of(const std::vector<double>& values) {
  std::vector<std::size_t> order(values.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j < order.size() && values[order[j]] == values[order[i]]) ++j;
    double mean_rank = (static_cast<double>(i + j) + 1) / 2;
    for (std::size_t k = i; k < j; ++k) ranks[order[k]] = mean_rank;
    i = j;
  }
  return ranks;
}

}  // namespace

double MannKendall::p_upward() const {
  return 0.5 * std::erfc(z / std::sqrt(2.0));
}

MannKendall mann_kendall(std::span<const double> values) {
  MannKendall mk;
  const std::size_t n = values.size();
  mk.n = n;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      mk.s += (values[j] > values[i]) - (values[j] < values[i]);
    }
  }
  // Var(S) = [n(n-1)(2n+5) - sum over groups of tied values t(t-1)(2t+5)] / 18.
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  double ties = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && sorted[j] == sorted[i]) ++j;
    double t = static_cast<double>(j - i);
    ties += t * (t - 1) * (2 * t + 5);
    i = j;
  }
  double dn = static_cast<double>(n);
  mk.variance = (dn * (dn - 1) * (2 * dn + 5) - ties) / 18.0;
  set_z(mk);
  return mk;
}

MannKendall mann_kendall_autocorrelated(std::span<const TimedValue> points, double slope) {
  std::vector<double> values;
  values.reserve(points.size());
  for (const TimedValue& p : points) values.push_back(p.value);
  MannKendall mk = mann_kendall(values);
  const std::size_t n = points.size();
  if (n < 4) return mk;

  std::vector<double> detrended;
  detrended.reserve(n);
  for (const TimedValue& p : points) detrended.push_back(p.value - slope * p.time);
  std::vector<double> ranks = ranks_of(detrended);
  double mean = (static_cast<double>(n) + 1) / 2;
  double denominator = 0;
  for (double r : ranks) denominator += (r - mean) * (r - mean);
  if (denominator <= 0) return mk;

  const double dn = static_cast<double>(n);
  const double significant = 1.96 / std::sqrt(dn);
  double sum = 0;
  for (std::size_t k = 1; k + 2 < n; ++k) {
    double numerator = 0;
    for (std::size_t i = 0; i + k < n; ++i) numerator += (ranks[i] - mean) * (ranks[i + k] - mean);
    double rho = numerator / denominator;
    if (std::fabs(rho) <= significant) continue;
    double m = static_cast<double>(n - k);
    sum += m * (m - 1) * (m - 2) * rho;
  }
  double inflation = 1 + 2 * sum / (dn * (dn - 1) * (dn - 2));
  if (inflation > 1) {
    mk.variance_inflation = inflation;
    mk.variance *= inflation;
    set_z(mk);
  }
  return mk;
}

int part_of(int64_t t, int64_t from, int64_t until, int parts) {
  __int128 index = static_cast<__int128>(t - from) * parts / (until - from);
  return static_cast<int>(std::clamp<__int128>(index, 0, parts - 1));
}

std::vector<TimedValue> part_medians(std::vector<std::vector<double>>& parts, double part_length) {
  std::vector<TimedValue> out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::vector<double>& v = parts[i];
    if (v.empty()) continue;
    auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
    std::nth_element(v.begin(), mid, v.end());
    out.push_back({(static_cast<double>(i) + 0.5) * part_length, *mid});
  }
  return out;
}

double theil_sen_slope(std::span<const TimedValue> points) {
  std::vector<double> slopes;
  slopes.reserve(points.size() * (points.size() - (points.empty() ? 0 : 1)) / 2);
  for (std::size_t i = 0; i < points.size(); ++i) {
    for (std::size_t j = i + 1; j < points.size(); ++j) {
      double dt = points[j].time - points[i].time;
      if (dt > 0) slopes.push_back((points[j].value - points[i].value) / dt);
    }
  }
  if (slopes.empty()) return 0;
  std::size_t mid = slopes.size() / 2;
  std::nth_element(slopes.begin(), slopes.begin() + static_cast<std::ptrdiff_t>(mid), slopes.end());
  double upper = slopes[mid];
  if (slopes.size() % 2 == 1) return upper;
  double lower = *std::max_element(slopes.begin(), slopes.begin() + static_cast<std::ptrdiff_t>(mid));
  return (lower + upper) / 2;
}

}  // namespace memproxy::heapwatch
