#include "impasto/losses/temporal.h"

#include <torch/torch.h>

#include <opencv2/video/tracking.hpp>

#include <cstring>

#include "impasto/core/error.h"

namespace impasto {

namespace {

namespace F = torch::nn::functional;

// Rec. 601 luminance as an 8-bit single-channel picture (what DIS works on).
cv::Mat grey_u8(const at::Tensor& rgb) {
  const at::Tensor x = rgb.detach().to(torch::kCPU, torch::kFloat32);
  const at::Tensor y = (x[0][0] * 0.299 + x[0][1] * 0.587 + x[0][2] * 0.114).clamp(0, 1).mul(255).round().to(torch::kUInt8).contiguous();
  cv::Mat m(static_cast<int>(y.size(0)), static_cast<int>(y.size(1)), CV_8UC1);
  std::memcpy(m.data, y.data_ptr<uint8_t>(), static_cast<size_t>(y.numel()));
  return m;
}

void check_frame(const at::Tensor& t, const char* what) {
  if (!t.defined() || t.dim() != 4 || t.size(0) != 1 || t.size(1) != 3)
    throw std::invalid_argument(std::string(what) + " must be a [1,3,H,W] frame");
}

}  // namespace

at::Tensor optical_flow(const at::Tensor& from, const at::Tensor& to) {
  check_frame(from, "optical_flow: from");
  check_frame(to, "optical_flow: to");
  if (from.sizes() != to.sizes()) throw std::invalid_argument("optical_flow: frames of different sizes");
  const cv::Mat a = grey_u8(from), b = grey_u8(to);
  // The medium preset: finer patches and more refinement than "fast", still ~10 ms at 512 px.
  cv::Ptr<cv::DISOpticalFlow> dis = cv::DISOpticalFlow::create(cv::DISOpticalFlow::PRESET_MEDIUM);
  cv::Mat flow;
  dis->calc(a, b, flow);  // CV_32FC2, a(p) ~ b(p + flow(p))
  at::Tensor hw2 = torch::from_blob(flow.data, {flow.rows, flow.cols, 2}, torch::kFloat32).clone();
  return hw2.permute({2, 0, 1}).unsqueeze(0).contiguous().to(from.device());
}

at::Tensor warp_with_flow(const at::Tensor& image, const at::Tensor& flow) {
  const int64_t h = image.size(2), w = image.size(3);
  const auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(image.device());
  const at::Tensor xs = torch::arange(w, opts).view({1, 1, w}).expand({1, h, w});
  const at::Tensor ys = torch::arange(h, opts).view({1, h, 1}).expand({1, h, w});
  const at::Tensor f = flow.to(image.device(), torch::kFloat32);
  // grid_sample's coordinates: -1 and 1 are the centres of the corner pixels (align_corners).
  const at::Tensor gx = (xs + f[0][0]) * (2.0 / std::max<int64_t>(1, w - 1)) - 1.0;
  const at::Tensor gy = (ys + f[0][1]) * (2.0 / std::max<int64_t>(1, h - 1)) - 1.0;
  const at::Tensor grid = torch::stack({gx, gy}, 3);  // [1,H,W,2]
  return F::grid_sample(image.to(torch::kFloat32), grid,
                        F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(true));
}

FlowPair flow_pair(const at::Tensor& forward, const at::Tensor& backward) {
  FlowPair out;
  out.flow = forward;
  const at::Tensor back_seen = warp_with_flow(backward, forward);  // g~ on A's grid
  const at::Tensor sum = forward + back_seen;
  const at::Tensor lhs = (sum * sum).sum(1, true);
  const at::Tensor rhs = 0.01 * ((forward * forward).sum(1, true) + (back_seen * back_seen).sum(1, true)) + 0.5;
  out.non_occluded = (lhs <= rhs).to(torch::kFloat32);
  // Forward differences, the last row/column repeated.
  const at::Tensor dx = F::pad(forward.narrow(3, 1, forward.size(3) - 1) - forward.narrow(3, 0, forward.size(3) - 1),
                               F::PadFuncOptions({0, 1, 0, 0}).mode(torch::kReplicate));
  const at::Tensor dy = F::pad(forward.narrow(2, 1, forward.size(2) - 1) - forward.narrow(2, 0, forward.size(2) - 1),
                               F::PadFuncOptions({0, 0, 0, 1}).mode(torch::kReplicate));
  const at::Tensor gradient = (dx * dx + dy * dy).sum(1, true);
  const at::Tensor boundary = gradient > 0.01 * (forward * forward).sum(1, true) + 0.002;
  out.reliable = out.non_occluded * (~boundary).to(torch::kFloat32);
  out.reliable_fraction = out.reliable.mean().item<double>();
  return out;
}

FlowPair flow_between(const at::Tensor& a, const at::Tensor& b) { return flow_pair(optical_flow(a, b), optical_flow(b, a)); }

at::Tensor temporal_loss(const at::Tensor& image, const at::Tensor& warped_previous, const at::Tensor& reliability) {
  const at::Tensor d = image - warped_previous;
  return (reliability * d * d).sum() / static_cast<double>(image.size(1) * image.size(2) * image.size(3));
}

double warping_error_term(const at::Tensor& output_t, const at::Tensor& output_next, const FlowPair& input_flow) {
  if (output_t.sizes() != output_next.sizes()) throw std::invalid_argument("warping_error_term: frames of different sizes");
  at::Tensor flow = input_flow.flow, mask = input_flow.non_occluded;
  if (flow.size(2) != output_t.size(2) || flow.size(3) != output_t.size(3))
    throw std::invalid_argument("warping_error_term: flow and frames of different sizes");
  const at::Tensor warped = warp_with_flow(output_next.to(torch::kFloat32), flow);
  const at::Tensor d = (output_t.to(torch::kFloat32) - warped).pow(2).sum(1, true);
  const double m = mask.sum().item<double>();
  if (m <= 0) return 0;
  return (d * mask).sum().item<double>() / m;
}

}  // namespace impasto
