#include "impasto/io/chart.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <opencv2/imgproc.hpp>

#include "impasto/core/error.h"

namespace impasto {
namespace {

// Tableau-10 colours (BGR), distinct for up to ten series.
const cv::Scalar kColours[] = {{180, 119, 31}, {14, 127, 255}, {44, 160, 44}, {40, 39, 214}, {189, 103, 148},
                               {75, 86, 140},  {194, 119, 227}, {127, 127, 127}, {34, 189, 188}, {207, 190, 23}};

std::string tick_label(double v, bool log_y) {
  char buf[32];
  if (log_y)
    std::snprintf(buf, sizeof buf, "1e%d", static_cast<int>(std::lround(v)));
  else
    std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

// About `count` round tick positions covering [lo, hi].
std::vector<double> ticks(double lo, double hi, int count) {
  const double span = hi - lo;
  if (!(span > 0)) return {lo};
  const double raw = span / count;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  std::vector<double> out;
  for (double t = std::ceil(lo / step) * step; t <= hi + 1e-9 * span; t += step) out.push_back(t);
  return out;
}

}  // namespace

at::Tensor line_chart(const std::vector<ChartSeries>& series, const ChartOptions& options) {
  if (options.width < 160 || options.height < 120) throw OptionError("chart", "charts need at least 160x120 pixels");
  const int w = static_cast<int>(options.width), h = static_cast<int>(options.height);
  cv::Mat img(h, w, CV_8UC3, cv::Scalar(255, 255, 255));
  const int left = 64, right = 16, top = options.title.empty() ? 16 : 34, bottom = 44;
  const cv::Rect plot(left, top, w - left - right, h - top - bottom);
  const auto font = cv::FONT_HERSHEY_SIMPLEX;

  // Data range (y in log10 units on a log axis).
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  auto y_of = [&](double y) { return options.log_y ? std::log10(y) : y; };
  auto usable = [&](double y) { return std::isfinite(y) && (!options.log_y || y > 0); };
  for (const auto& s : series) {
    if (s.x.size() != s.y.size()) throw OptionError("chart", "series '" + s.name + "' has different x and y lengths");
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!usable(s.y[i]) || !std::isfinite(s.x[i])) continue;
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
      y_lo = std::min(y_lo, y_of(s.y[i]));
      y_hi = std::max(y_hi, y_of(s.y[i]));
    }
  }
  const bool empty = !(x_hi >= x_lo);
  if (empty) x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;
  if (x_hi == x_lo) x_hi = x_lo + 1;
  if (options.log_y) {
    y_lo = std::floor(y_lo), y_hi = std::ceil(y_hi);
  } else {
    const double pad = 0.05 * (y_hi - y_lo);
    y_lo -= pad, y_hi += pad;
  }
  if (y_hi == y_lo) y_hi = y_lo + 1;
  auto px = [&](double x) { return plot.x + static_cast<int>(std::lround((x - x_lo) / (x_hi - x_lo) * plot.width)); };
  auto py = [&](double y) { return plot.y + plot.height - static_cast<int>(std::lround((y - y_lo) / (y_hi - y_lo) * plot.height)); };

  // Grid, ticks and labels.
  const cv::Scalar grid(225, 225, 225), ink(60, 60, 60);
  for (double t : ticks(x_lo, x_hi, 6)) {
    cv::line(img, {px(t), plot.y}, {px(t), plot.y + plot.height}, grid, 1);
    cv::putText(img, tick_label(t, false), {px(t) - 12, plot.y + plot.height + 16}, font, 0.4, ink, 1, cv::LINE_AA);
  }
  const std::vector<double> y_ticks = options.log_y ? ticks(y_lo, y_hi, std::max(1, static_cast<int>(y_hi - y_lo)))
                                                    : ticks(y_lo, y_hi, 5);
  for (double t : y_ticks) {
    if (options.log_y && std::fabs(t - std::round(t)) > 1e-9) continue;
    cv::line(img, {plot.x, py(t)}, {plot.x + plot.width, py(t)}, grid, 1);
    cv::putText(img, tick_label(t, options.log_y), {4, py(t) + 4}, font, 0.4, ink, 1, cv::LINE_AA);
  }
  cv::rectangle(img, plot, ink, 1);
  cv::putText(img, options.x_label, {plot.x + plot.width / 2 - 12, h - 8}, font, 0.45, ink, 1, cv::LINE_AA);
  if (!options.title.empty()) cv::putText(img, options.title, {left, 22}, font, 0.55, ink, 1, cv::LINE_AA);
  if (empty) cv::putText(img, "no data", {plot.x + plot.width / 2 - 28, plot.y + plot.height / 2}, font, 0.5, ink, 1, cv::LINE_AA);

  // Curves, then the legend over them.
  for (size_t k = 0; k < series.size(); ++k) {
    const cv::Scalar colour = kColours[k % 10];
    std::vector<cv::Point> points;
    const auto& s = series[k];
    for (size_t i = 0; i < s.x.size(); ++i)
      if (usable(s.y[i]) && std::isfinite(s.x[i])) points.emplace_back(px(s.x[i]), py(y_of(s.y[i])));
    if (points.size() == 1) cv::circle(img, points[0], 2, colour, cv::FILLED, cv::LINE_AA);
    if (points.size() > 1) cv::polylines(img, points, false, colour, 2, cv::LINE_AA);
  }
  int legend_y = plot.y + 14;
  for (size_t k = 0; k < series.size(); ++k) {
    const int lx = plot.x + plot.width - 150;
    cv::line(img, {lx, legend_y - 4}, {lx + 18, legend_y - 4}, kColours[k % 10], 2, cv::LINE_AA);
    cv::putText(img, series[k].name, {lx + 24, legend_y}, font, 0.4, ink, 1, cv::LINE_AA);
    legend_y += 15;
  }

  cv::Mat rgb;
  cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB);
  return torch::from_blob(rgb.data, {h, w, 3}, torch::kUInt8).permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32).div(255.0).contiguous();
}

at::Tensor bar_chart(const std::vector<Bar>& bars, const BarChartOptions& options) {
  if (options.width < 240) throw OptionError("chart", "bar charts need at least 240 pixels of width");
  if (bars.empty()) throw OptionError("chart", "a bar chart needs at least one bar");
  const auto font = cv::FONT_HERSHEY_SIMPLEX;
  const cv::Scalar ink(60, 60, 60), grid(225, 225, 225);
  int label_w = 0;
  for (const auto& b : bars) {
    int base = 0;
    label_w = std::max(label_w, cv::getTextSize(b.label, font, 0.42, 1, &base).width);
  }
  const int w = static_cast<int>(options.width), bh = static_cast<int>(std::max<int64_t>(12, options.bar_height));
  const int top = (options.title.empty() ? 10 : 32) + (options.group_names.empty() ? 0 : 18);
  const int left = std::min(label_w + 14, w / 2), right = 70, bottom = 40;
  const int h = top + bh * static_cast<int>(bars.size()) + bottom;
  cv::Mat img(h, w, CV_8UC3, cv::Scalar(255, 255, 255));
  double lo = 0, hi = 0;
  for (const auto& b : bars)
    if (std::isfinite(b.value)) lo = std::min(lo, b.value), hi = std::max(hi, b.value);
  if (hi == lo) hi = lo + 1;
  const cv::Rect plot(left, top, w - left - right, bh * static_cast<int>(bars.size()));
  auto px = [&](double v) { return plot.x + static_cast<int>(std::lround((v - lo) / (hi - lo) * plot.width)); };
  for (double t : ticks(lo, hi, 5)) {
    cv::line(img, {px(t), plot.y}, {px(t), plot.y + plot.height}, grid, 1);
    cv::putText(img, tick_label(t, false), {px(t) - 12, plot.y + plot.height + 16}, font, 0.4, ink, 1, cv::LINE_AA);
  }
  for (size_t i = 0; i < bars.size(); ++i) {
    const auto& b = bars[i];
    const int y = plot.y + static_cast<int>(i) * bh;
    int base = 0;
    const auto size = cv::getTextSize(b.label, font, 0.42, 1, &base);
    cv::putText(img, b.label, {left - 8 - size.width, y + bh / 2 + size.height / 2}, font, 0.42, ink, 1, cv::LINE_AA);
    if (!std::isfinite(b.value)) continue;
    const int x0 = px(0), x1 = px(b.value);
    cv::rectangle(img, cv::Point(std::min(x0, x1), y + 3), cv::Point(std::max(x0, x1), y + bh - 3),
                  kColours[static_cast<size_t>(std::max(0, b.group)) % 10], cv::FILLED);
    char value[32];
    std::snprintf(value, sizeof value, "%.3g", b.value);
    cv::putText(img, value, {std::max(x0, x1) + 4, y + bh / 2 + 4}, font, 0.38, ink, 1, cv::LINE_AA);
  }
  cv::line(img, {px(0), plot.y}, {px(0), plot.y + plot.height}, ink, 1);
  if (!options.value_label.empty())
    cv::putText(img, options.value_label, {plot.x + plot.width / 2 - 40, h - 8}, font, 0.45, ink, 1, cv::LINE_AA);
  if (!options.title.empty()) cv::putText(img, options.title, {8, 22}, font, 0.55, ink, 1, cv::LINE_AA);
  int lx = left;
  for (size_t g = 0; g < options.group_names.size(); ++g) {
    const int ly = top - 10;
    cv::rectangle(img, cv::Point(lx, ly - 9), cv::Point(lx + 14, ly + 1), kColours[g % 10], cv::FILLED);
    cv::putText(img, options.group_names[g], {lx + 18, ly}, font, 0.42, ink, 1, cv::LINE_AA);
    int base = 0;
    lx += 30 + cv::getTextSize(options.group_names[g], font, 0.42, 1, &base).width;
  }
  cv::Mat rgb;
  cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB);
  return torch::from_blob(rgb.data, {h, w, 3}, torch::kUInt8).permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32).div(255.0).contiguous();
}

at::Tensor scatter_plot(const at::Tensor& points, const at::Tensor& marks, double extent, int64_t side) {
  if (points.dim() != 2 || points.size(1) != 2) throw OptionError("points", "expected [N,2] points");
  if (side < 64) throw OptionError("side", "must be at least 64");
  const int s = static_cast<int>(side);
  cv::Mat canvas(s, s, CV_8UC3, cv::Scalar(255, 255, 255));
  auto pixel = [&](double x, double y) {
    return cv::Point(static_cast<int>(std::lround((x + extent) / (2 * extent) * s)),
                     static_cast<int>(std::lround((extent - y) / (2 * extent) * s)));
  };
  cv::line(canvas, pixel(-extent, 0), pixel(extent, 0), cv::Scalar(225, 225, 225));
  cv::line(canvas, pixel(0, -extent), pixel(0, extent), cv::Scalar(225, 225, 225));
  const auto p = points.detach().to(at::kDouble).contiguous().cpu();
  const double* xy = p.data_ptr<double>();
  for (int64_t i = 0; i < p.size(0); ++i) cv::circle(canvas, pixel(xy[2 * i], xy[2 * i + 1]), 2, kColours[0], cv::FILLED);
  if (marks.defined()) {
    const auto m = marks.detach().to(at::kDouble).contiguous().cpu();
    const double* mxy = m.data_ptr<double>();
    for (int64_t i = 0; i < m.size(0); ++i) cv::circle(canvas, pixel(mxy[2 * i], mxy[2 * i + 1]), 7, kColours[3], 2);
  }
  at::Tensor t = at::from_blob(canvas.data, {s, s, 3}, at::kByte).clone();
  return t.permute({2, 0, 1}).flip(0).unsqueeze(0).to(at::kFloat).div(255.0);  // BGR -> RGB
}

}  // namespace impasto
