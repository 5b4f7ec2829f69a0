#include "impasto/style/tiling.h"

#include <torch/torch.h>

#include <cmath>

#include "impasto/core/error.h"

namespace impasto {

std::vector<int64_t> tile_starts(int64_t length, int64_t tile, int64_t overlap) {
  if (length <= tile) return {0};
  // n tiles with n * tile - (n - 1) * overlap >= length.
  const int64_t n = static_cast<int64_t>(std::ceil(static_cast<double>(length - overlap) / (tile - overlap)));
  std::vector<int64_t> starts;
  for (int64_t i = 0; i < n; ++i) starts.push_back(static_cast<int64_t>(std::llround(static_cast<double>(i) * (length - tile) / (n - 1))));
  return starts;
}

namespace {

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

at::Tensor apply_tiled(const at::Tensor& image, const ImageFunction& net, const TileOptions& o,
                       const std::function<void(int64_t, int64_t)>& on_tile) {
  if (o.overlap < 0) throw OptionError("overlap", "must be >= 0");
  if (o.tile <= 2 * o.overlap) throw OptionError("tile", "must be more than twice the overlap (" + std::to_string(o.overlap) + ")");
  if (o.multiple < 1) throw OptionError("multiple", "must be >= 1");
  if (image.dim() != 4 || image.size(0) != 1) throw OptionError("image", "apply_tiled takes one image [1,C,H,W]");
  torch::NoGradGuard no_grad;
  const int64_t H = image.size(2), W = image.size(3);
  const auto ys = tile_starts(H, o.tile, o.overlap), xs = tile_starts(W, o.tile, o.overlap);
  const int64_t total = static_cast<int64_t>(ys.size() * xs.size());
  if (total == 1) {
    at::Tensor out = run_padded(image, net, o.multiple);
    if (on_tile) on_tile(1, 1);
    return out;
  }
  using torch::indexing::Slice;
  at::Tensor out, weight_sum = torch::zeros({1, 1, H, W}, image.options().dtype(torch::kFloat32));
  int64_t done = 0;
  for (int64_t y : ys) {
    const int64_t th = std::min(o.tile, H - y);
    const at::Tensor wy = axis_weights(y, th, H, o.overlap).to(image.device());
    for (int64_t x : xs) {
      const int64_t tw = std::min(o.tile, W - x);
      const at::Tensor wx = axis_weights(x, tw, W, o.overlap).to(image.device());
      at::Tensor tile_out = run_padded(image.index({Slice(), Slice(), Slice(y, y + th), Slice(x, x + tw)}), net, o.multiple);
      if (!out.defined()) out = torch::zeros({1, tile_out.size(1), H, W}, tile_out.options().dtype(torch::kFloat32));
      const at::Tensor w = wy.view({1, 1, th, 1}) * wx.view({1, 1, 1, tw});
      out.index({Slice(), Slice(), Slice(y, y + th), Slice(x, x + tw)}).add_(tile_out.to(torch::kFloat32) * w);
      weight_sum.index({Slice(), Slice(), Slice(y, y + th), Slice(x, x + tw)}).add_(w);
      if (on_tile) on_tile(++done, total);
    }
  }
  return out.div_(weight_sum);
}

}  // namespace impasto
