#pragma once
// Line charts as images (loss curves of stylizations and training runs), drawn with OpenCV so that
// they need nothing but the library: axes with ticks, optional log-scale y, a legend.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace impasto {

struct ChartSeries {
  std::string name;
  std::vector<double> x, y;  // same length; on a log axis points with y <= 0 are left out
};

struct ChartOptions {
  std::string title;
  std::string x_label = "step";
  bool log_y = true;
  int64_t width = 640, height = 400;
};

// Returns a canonical image [1,3,height,width]. Throws OptionError for a size under 160x120 or
// series whose x and y lengths differ.
at::Tensor line_chart(const std::vector<ChartSeries>& series, const ChartOptions& options);

// A horizontal bar chart: one labelled bar per entry, its value written at its end. `group`
// picks the colour (e.g. content / style / tv) and `group_names` label the colours in a legend.
// Values are drawn on a linear axis from 0 (negative values as bars to the left of 0).
struct Bar {
  std::string label;
  double value = 0;
  int group = 0;
};
struct BarChartOptions {
  std::string title;
  std::string value_label;                // the axis label
  std::vector<std::string> group_names;   // legend; empty = none
  int64_t width = 640;
  int64_t bar_height = 20;                // the height is derived from the number of bars
};
// Returns [1,3,H,W]. OptionError for a width under 240 or no bars.
at::Tensor bar_chart(const std::vector<Bar>& bars, const BarChartOptions& options);

// A square scatter plot of 2-D points [N,2] over [-extent, extent]^2 (e.g. GAN samples of a point
// dataset), with optional `marks` [M,2] drawn as rings (e.g. the data's modes). Returns [1,3,side,side].
at::Tensor scatter_plot(const at::Tensor& points, const at::Tensor& marks = {}, double extent = 3.0, int64_t side = 400);

}  // namespace impasto
