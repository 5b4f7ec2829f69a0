#include "impasto/metrics/ssim.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "impasto/core/error.h"

namespace impasto {
namespace {

constexpr double kSigma = 1.5;
constexpr int64_t kRadius = 5;  // scipy.ndimage's int(truncate * sigma + 0.5) with truncate 3.5
constexpr int64_t kWindow = 2 * kRadius + 1;
constexpr double kK1 = 0.01, kK2 = 0.03;

at::Tensor gaussian_taps() {
  auto t = torch::arange(-kRadius, kRadius + 1, torch::kFloat64);
  auto w = torch::exp(-0.5 * t * t / (kSigma * kSigma));
  return w / w.sum();
}

// Separable Gaussian filter over each channel, without padding ('valid').
at::Tensor filter_valid(const at::Tensor& x) {
  const int64_t c = x.size(1);
  const auto taps = gaussian_taps();
  namespace F = torch::nn::functional;
  auto vertical = taps.view({1, 1, kWindow, 1}).expand({c, 1, kWindow, 1}).contiguous();
  auto horizontal = taps.view({1, 1, 1, kWindow}).expand({c, 1, 1, kWindow}).contiguous();
  auto h = F::conv2d(x, vertical, F::Conv2dFuncOptions().groups(c));
  return F::conv2d(h, horizontal, F::Conv2dFuncOptions().groups(c));
}

// Symmetric (half-sample) extension by p pixels on every side: d c b a | a b c d | d c b a.
at::Tensor pad_symmetric(const at::Tensor& x, int64_t p) {
  const int64_t h = x.size(2), w = x.size(3);
  auto t = torch::cat({x.slice(3, 0, p).flip({3}), x, x.slice(3, w - p, w).flip({3})}, 3);
  return torch::cat({t.slice(2, 0, p).flip({2}), t, t.slice(2, h - p, h).flip({2})}, 2);
}

at::Tensor prepared(const at::Tensor& image, const SsimOptions& o) {
  auto x = image.detach().to(torch::kFloat64);
  if (o.channels == "luminance" && x.size(1) == 3) {
    auto weights = torch::tensor({0.299, 0.587, 0.114}, x.options()).view({1, 3, 1, 1});
    x = (x * weights).sum(1, /*keepdim=*/true);  // BT.601 luma
  }
  return o.region == "same" ? pad_symmetric(x, kRadius) : x;
}

}  // namespace

at::Tensor ssim_map(const at::Tensor& x_in, const at::Tensor& y_in, const SsimOptions& o) {
  if (o.channels != "luminance" && o.channels != "rgb")
    throw OptionError("channels", "unknown SSIM channels '" + o.channels + "'; valid: luminance, rgb");
  if (o.region != "valid" && o.region != "same")
    throw OptionError("region", "unknown SSIM region '" + o.region + "'; valid: same, valid");
  if (!(o.data_range > 0)) throw OptionError("data_range", "must be positive (1 for canonical [0,1] images)");
  if (x_in.dim() != 4 || x_in.sizes() != y_in.sizes())
    throw OptionError("images", "SSIM compares two image batches [N,C,H,W] of the same shape");
  if (x_in.size(1) != 1 && x_in.size(1) != 3)
    throw OptionError("images", "SSIM expects 1 or 3 channels, got " + std::to_string(x_in.size(1)));
  if (x_in.size(2) < kWindow || x_in.size(3) < kWindow)
    throw OptionError("images", "SSIM needs images of at least 11x11 pixels (its window), got " +
                                    std::to_string(x_in.size(2)) + "x" + std::to_string(x_in.size(3)));
  torch::NoGradGuard no_grad;
  const auto x = prepared(x_in, o), y = prepared(y_in, o);
  const auto mx = filter_valid(x), my = filter_valid(y);
  // Population (co)variances under the window: E[xy] - E[x]E[y] (the weights sum to 1).
  const auto vx = filter_valid(x * x) - mx * mx;
  const auto vy = filter_valid(y * y) - my * my;
  const auto cxy = filter_valid(x * y) - mx * my;
  const double c1 = (kK1 * o.data_range) * (kK1 * o.data_range);
  const double c2 = (kK2 * o.data_range) * (kK2 * o.data_range);
  return ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
}

at::Tensor ssim(const at::Tensor& x, const at::Tensor& y, const SsimOptions& options) {
  // Every channel's map has the same size, so the mean over (C, H, W) is the mean of the
  // per-channel means (scikit-image's channel average).
  return ssim_map(x, y, options).flatten(1).mean(1);
}

double psnr(const at::Tensor& x, const at::Tensor& y, double data_range) {
  if (!x.defined() || !y.defined() || x.sizes() != y.sizes())
    throw OptionError("images", "PSNR needs two tensors of one shape");
  const double mse = (x.to(torch::kFloat64) - y.to(torch::kFloat64)).square().mean().item<double>();
  if (mse == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(data_range * data_range / mse);
}

}  // namespace impasto
