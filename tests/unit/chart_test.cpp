// Line charts: the requested size, each series drawn in its own colour, bad input refused.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "impasto/core/error.h"
#include "impasto/io/chart.h"

using namespace impasto;

namespace {

// Pixels whose colour is within 30/255 of `rgb` (0..255).
int64_t pixels_of_colour(const at::Tensor& image, double r, double g, double b) {
  auto target = torch::tensor({r, g, b}, torch::kFloat32).view({1, 3, 1, 1}) / 255.0;
  return ((image - target).abs().amax(1) < 30.0 / 255).sum().item<int64_t>();
}

}  // namespace

TEST(Chart, DrawsEverySeriesAtTheRequestedSize) {
  ChartSeries falling{"falling", {1, 2, 3, 4, 5}, {1.0, 0.1, 0.01, 0.001, 1e-4}};
  ChartSeries flat{"flat", {1, 2, 3, 4, 5}, {0.05, 0.05, 0.05, 0.05, 0.05}};
  ChartOptions o;
  o.title = "losses";
  auto image = line_chart({falling}, o);
  EXPECT_EQ(image.sizes(), (std::vector<int64_t>{1, 3, 400, 640}));
  const int64_t blue_one = pixels_of_colour(image, 31, 119, 180), orange_one = pixels_of_colour(image, 255, 127, 14);
  EXPECT_GT(blue_one, 300);  // the first series' curve (tab:blue)
  EXPECT_EQ(orange_one, 0);
  auto both = line_chart({falling, flat}, o);
  EXPECT_GT(pixels_of_colour(both, 255, 127, 14), 300);  // the second series (tab:orange)
}

TEST(Chart, LogAxisSkipsNonPositiveValuesAndEmptyChartsWork) {
  ChartOptions o;
  o.width = 200;
  o.height = 150;
  auto image = line_chart({ChartSeries{"zeros", {1, 2, 3}, {0.0, -1.0, 0.5}}}, o);
  EXPECT_EQ(image.size(3), 200);
  EXPECT_EQ(line_chart({}, o).size(2), 150);
  EXPECT_THROW(line_chart({ChartSeries{"bad", {1, 2}, {1.0}}}, o), OptionError);
  o.width = 10;
  EXPECT_THROW(line_chart({}, o), OptionError);
}
