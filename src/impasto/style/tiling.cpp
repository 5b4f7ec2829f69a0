#include "impasto/style/tiling.h"

#include <torch/torch.h>

#include <cmath>

#include "impasto/core/error.h"

namespace impasto {

std::vector<int64_t> tile_starts(int64_t length, int64_t tile, int64_t overlap, int64_t align) {
  if (length <= tile) return {0};
  align = std::max<int64_t>(align, 1);
  // The last tile starts at the last multiple of `align` that leaves it at least `tile` pixels; the
  // largest step between starts that keeps `overlap` shared pixels, in whole multiples of `align`;
  // then n tiles evenly spread (each start rounded down to a multiple of `align`, so no step exceeds
  // the largest one).
  const int64_t last = (length - tile) / align * align;
  const int64_t max_step = std::max(align, (tile - overlap) / align * align);
  const int64_t n = 1 + (last + max_step - 1) / max_step;
  std::vector<int64_t> starts;
  for (int64_t i = 0; i < n; ++i) starts.push_back(n == 1 ? 0 : i * last / (n - 1) / align * align);
  return starts;
}

namespace {

// Tiles along one axis: start, size and core [core_begin, core_end).
struct AxisTile {
  int64_t start, size, core_begin, core_end;
};

std::vector<AxisTile> axis_tiles(int64_t length, const TileOptions& o) {
  const auto starts = tile_starts(length, o.tile, o.overlap, o.align);
  const int64_t align = std::max<int64_t>(o.align, 1);
  std::vector<AxisTile> tiles;
  for (size_t i = 0; i < starts.size(); ++i) {
    const bool last = i + 1 == starts.size();
    tiles.push_back({starts[i], last ? length - starts[i] : std::min(o.tile, length - starts[i]), 0, length});
  }
  for (size_t i = 0; i + 1 < tiles.size(); ++i) {
    // The middle of the overlap with the next tile, rounded down to `align` (never before its start).
    const int64_t middle = (tiles[i + 1].start + tiles[i].start + tiles[i].size) / 2;
    const int64_t boundary = std::max(tiles[i + 1].start, middle / align * align);
    tiles[i].core_end = boundary;
    tiles[i + 1].core_begin = boundary;
  }
  return tiles;
}

// Blend weights along one axis of a tile at [start, start + size) in an image of `length`: 1 inside,
// a linear ramp over `overlap` pixels on each side that has a neighbour (none at the image border).
at::Tensor axis_weights(int64_t start, int64_t size, int64_t length, int64_t overlap) {
  at::Tensor w = torch::ones({size});
  const int64_t ramp = std::min(overlap, size / 2);
  if (ramp == 0) return w;
  const at::Tensor up = (torch::arange(ramp, torch::kFloat32) + 0.5) / ramp;  // (k + 1/2) / ramp
  using torch::indexing::Slice;
  if (start > 0) w.index_put_({Slice(0, ramp)}, up);
  if (start + size < length) w.index_put_({Slice(size - ramp, size)}, up.flip(0));
  return w;
}

at::Tensor run_padded(const at::Tensor& tile, const ImageFunction& net, int64_t multiple) {
  const int64_t h = tile.size(2), w = tile.size(3);
  const int64_t ph = (multiple - h % multiple) % multiple, pw = (multiple - w % multiple) % multiple;
  if (ph == 0 && pw == 0) return net(tile);
  // Reflection needs the pad to be smaller than the side; replicate covers tiny tiles.
  namespace F = torch::nn::functional;
  at::Tensor padded = ph < h && pw < w ? F::pad(tile, F::PadFuncOptions({0, pw, 0, ph}).mode(torch::kReflect))
                                       : F::pad(tile, F::PadFuncOptions({0, pw, 0, ph}).mode(torch::kReplicate));
  using torch::indexing::Slice;
  return net(padded).index({Slice(), Slice(), Slice(0, h), Slice(0, w)});
}

}  // namespace

std::vector<TilePlacement> plan_tiles(int64_t height, int64_t width, const TileOptions& o) {
  std::vector<TilePlacement> plan;
  const auto rows = axis_tiles(height, o), columns = axis_tiles(width, o);
  for (const AxisTile& r : rows)
    for (const AxisTile& c : columns)
      plan.push_back({r.start, c.start, r.size, c.size, r.core_begin, r.core_end, c.core_begin, c.core_end});
  return plan;
}

namespace {

void check_options(const at::Tensor& image, const TileOptions& o) {
  if (o.overlap < 0) throw OptionError("overlap", "must be >= 0");
  if (o.tile <= 2 * o.overlap) throw OptionError("tile", "must be more than twice the overlap (" + std::to_string(o.overlap) + ")");
  if (o.multiple < 1) throw OptionError("multiple", "must be >= 1");
  if (o.align < 1) throw OptionError("align", "must be >= 1");
  if (image.dim() != 4 || image.size(0) != 1) throw OptionError("image", "apply_tiled takes one image [1,C,H,W]");
}

int64_t padded(int64_t side, int64_t multiple) { return (side + multiple - 1) / multiple * multiple; }

}  // namespace

void for_each_tile(const at::Tensor& image, const TileVisitor& fn, const TileOptions& o,
                   const std::function<void(int64_t, int64_t)>& on_tile) {
  check_options(image, o);
  torch::NoGradGuard no_grad;
  const int64_t H = image.size(2), W = image.size(3);
  const auto plan = plan_tiles(H, W, o);
  const int64_t total = static_cast<int64_t>(plan.size());
  int64_t done = 0;
  using torch::indexing::Slice;
  for (const TilePlacement& t : plan) {
    const int64_t ph = padded(t.height, o.multiple), pw = padded(t.width, o.multiple);
    // The core in the padded tile; the padding at the image's far edges counts with the last tiles.
    NormRegion core;
    core.top = static_cast<double>(t.core_top - t.y) / ph;
    core.bottom = t.core_bottom == H ? 1.0 : static_cast<double>(t.core_bottom - t.y) / ph;
    core.left = static_cast<double>(t.core_left - t.x) / pw;
    core.right = t.core_right == W ? 1.0 : static_cast<double>(t.core_right - t.x) / pw;
    const at::Tensor tile = image.index({Slice(), Slice(), Slice(t.y, t.y + t.height), Slice(t.x, t.x + t.width)});
    run_padded(tile, [&](const at::Tensor& x) {
      fn(x, core);
      return x;
    }, o.multiple);
    if (on_tile) on_tile(++done, total);
  }
}

at::Tensor apply_tiled(const at::Tensor& image, const ImageFunction& net, const TileOptions& o,
                       const std::function<void(int64_t, int64_t)>& on_tile) {
  check_options(image, o);
  torch::NoGradGuard no_grad;
  const int64_t H = image.size(2), W = image.size(3);
  const auto plan = plan_tiles(H, W, o);
  const int64_t total = static_cast<int64_t>(plan.size());
  if (total == 1) {
    at::Tensor out = run_padded(image, net, o.multiple);
    if (on_tile) on_tile(1, 1);
    return out;
  }
  using torch::indexing::Slice;
  at::Tensor out, weight_sum = torch::zeros({1, 1, H, W}, image.options().dtype(torch::kFloat32));
  int64_t done = 0;
  for (const TilePlacement& t : plan) {
    const at::Tensor wy = axis_weights(t.y, t.height, H, o.overlap).to(image.device());
    const at::Tensor wx = axis_weights(t.x, t.width, W, o.overlap).to(image.device());
    const auto rows = Slice(t.y, t.y + t.height), columns = Slice(t.x, t.x + t.width);
    at::Tensor tile_out = run_padded(image.index({Slice(), Slice(), rows, columns}), net, o.multiple);
    if (!out.defined()) out = torch::zeros({1, tile_out.size(1), H, W}, tile_out.options().dtype(torch::kFloat32));
    const at::Tensor w = wy.view({1, 1, t.height, 1}) * wx.view({1, 1, 1, t.width});
    out.index({Slice(), Slice(), rows, columns}).add_(tile_out.to(torch::kFloat32) * w);
    weight_sum.index({Slice(), Slice(), rows, columns}).add_(w);
    if (on_tile) on_tile(++done, total);
  }
  return out.div_(weight_sum);
}

}  // namespace impasto
