#include "impasto/io/image_ops.h"

#include <torch/torch.h>

#include <cmath>

namespace impasto {

at::Tensor resize_image(const at::Tensor& image, int64_t height, int64_t width) {
  if (image.size(2) == height && image.size(3) == width) return image;
  namespace F = torch::nn::functional;
  const bool shrinking = height <= image.size(2) && width <= image.size(3);
  auto opts = F::InterpolateFuncOptions().size(std::vector<int64_t>{height, width}).align_corners(false);
  if (shrinking) return F::interpolate(image, opts.mode(torch::kBilinear).antialias(true));
  return F::interpolate(image, opts.mode(torch::kBicubic)).clamp(0.0, 1.0);
}

std::pair<int64_t, int64_t> fit_longest_side(int64_t height, int64_t width, int64_t longest) {
  const double scale = static_cast<double>(longest) / static_cast<double>(std::max(height, width));
  auto side = [scale](int64_t s) { return std::max<int64_t>(1, static_cast<int64_t>(std::llround(s * scale))); };
  return {side(height), side(width)};
}

at::Tensor to_single_channel(const at::Tensor& image) { return image.mean(1, /*keepdim=*/true); }

}  // namespace impasto
