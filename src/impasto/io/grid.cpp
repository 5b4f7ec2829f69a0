#include "impasto/io/grid.h"

#include <torch/torch.h>

#include <cmath>

#include "impasto/core/error.h"
#include "impasto/io/image_ops.h"

namespace impasto {

at::Tensor make_grid(const std::vector<at::Tensor>& images, int64_t columns, int64_t cell_height, int64_t padding,
                     double background) {
  if (images.empty()) throw OptionError("images", "make_grid needs at least one image");
  if (columns < 0 || cell_height < 1 || padding < 0)
    throw OptionError("columns", "make_grid: columns must be >= 0 (0 = square) and the cell height >= 1");
  const int64_t n = static_cast<int64_t>(images.size());
  if (columns == 0) columns = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(n))));
  double widest = 0;
  for (const auto& im : images) widest = std::max(widest, static_cast<double>(im.size(3)) / im.size(2));
  const int64_t cell_w = std::max<int64_t>(1, std::llround(widest * cell_height));
  const int64_t cols = std::min(columns, n), rows = (n + columns - 1) / columns;
  auto canvas = torch::full({1, 3, rows * cell_height + (rows + 1) * padding, cols * cell_w + (cols + 1) * padding}, background);
  using torch::indexing::Slice;
  for (int64_t i = 0; i < n; ++i) {
    at::Tensor im = images[i].detach().to(torch::kCPU, torch::kFloat32);
    if (im.size(1) == 1) im = im.expand({-1, 3, -1, -1});
    const double scale = std::min(static_cast<double>(cell_height) / im.size(2), static_cast<double>(cell_w) / im.size(3));
    const int64_t h = std::clamp<int64_t>(std::llround(im.size(2) * scale), 1, cell_height);
    const int64_t w = std::clamp<int64_t>(std::llround(im.size(3) * scale), 1, cell_w);
    im = resize_image(im, h, w);
    const int64_t r = i / cols, c = i % cols;
    const int64_t y0 = padding + r * (cell_height + padding) + (cell_height - im.size(2)) / 2;
    const int64_t x0 = padding + c * (cell_w + padding) + (cell_w - im.size(3)) / 2;
    canvas.index_put_({Slice(), Slice(), Slice(y0, y0 + im.size(2)), Slice(x0, x0 + im.size(3))}, im);
  }
  return canvas;
}

}  // namespace impasto
