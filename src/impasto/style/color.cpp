#include "impasto/style/color.h"

#include <torch/torch.h>

namespace impasto {
namespace {

at::Tensor yiq_matrix(const at::TensorOptions& opts) {
  return torch::tensor({0.299, 0.587, 0.114,  //
                        0.596, -0.274, -0.322,  //
                        0.211, -0.523, 0.312},
                       opts.dtype(torch::kFloat64))
      .view({3, 3});
}

// Applies a 3x3 colour matrix to [N,3,H,W].
at::Tensor apply_matrix(const at::Tensor& image, const at::Tensor& m) {
  return torch::einsum("ij,njhw->nihw", {m.to(image.dtype()), image});
}

// Pixels as rows: [N,3,H,W] -> [N*H*W, 3] in float64.
at::Tensor pixels(const at::Tensor& image) { return image.permute({0, 2, 3, 1}).reshape({-1, 3}).to(torch::kFloat64); }

// Symmetric square root (power +1/2 or -1/2) of a covariance matrix.
at::Tensor sym_power(const at::Tensor& cov, double power) {
  auto [evals, evecs] = torch::linalg::eigh(cov, "L");
  auto scaled = evals.clamp_min(1e-8).pow(power);
  return evecs.matmul(torch::diag(scaled)).matmul(evecs.transpose(0, 1));
}

}  // namespace

at::Tensor rgb_to_yiq(const at::Tensor& rgb) { return apply_matrix(rgb, yiq_matrix(rgb.options())); }

at::Tensor yiq_to_rgb(const at::Tensor& yiq) {
  return apply_matrix(yiq, torch::linalg::inv(yiq_matrix(yiq.options())));
}

at::Tensor grey_luminance(const at::Tensor& rgb) {
  return rgb_to_yiq(rgb).narrow(1, 0, 1).expand({-1, 3, -1, -1}).contiguous();
}

at::Tensor matched_luminance(const at::Tensor& style_rgb, const at::Tensor& content_rgb) {
  auto ys = rgb_to_yiq(style_rgb).narrow(1, 0, 1);
  auto yc = rgb_to_yiq(content_rgb).narrow(1, 0, 1);
  auto matched = (ys - ys.mean()) / ys.std().clamp_min(1e-6) * yc.std() + yc.mean();
  return matched.clamp(0.0, 1.0).expand({-1, 3, -1, -1}).contiguous();
}

at::Tensor combine_luminance(const at::Tensor& stylized, const at::Tensor& content) {
  auto y = rgb_to_yiq(stylized).narrow(1, 0, 1);
  auto iq = rgb_to_yiq(content).narrow(1, 1, 2);
  return yiq_to_rgb(torch::cat({y, iq}, 1));
}

at::Tensor match_color_statistics(const at::Tensor& style_rgb, const at::Tensor& content_rgb) {
  auto ps = pixels(style_rgb), pc = pixels(content_rgb);
  auto mu_s = ps.mean(0), mu_c = pc.mean(0);
  auto eye = torch::eye(3, ps.options()) * 1e-5;
  auto cov_s = (ps - mu_s).t().matmul(ps - mu_s) / static_cast<double>(ps.size(0)) + eye;
  auto cov_c = (pc - mu_c).t().matmul(pc - mu_c) / static_cast<double>(pc.size(0)) + eye;
  auto a = sym_power(cov_c, 0.5).matmul(sym_power(cov_s, -0.5));
  auto mapped = (ps - mu_s).matmul(a.t()) + mu_c;
  const auto n = style_rgb.size(0), h = style_rgb.size(2), w = style_rgb.size(3);
  return mapped.view({n, h, w, 3}).permute({0, 3, 1, 2}).to(style_rgb.dtype()).clamp(0.0, 1.0).contiguous();
}

}  // namespace impasto
