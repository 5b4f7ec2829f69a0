#include "impasto/nn/instance_norm.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "impasto/core/error.h"
#include "impasto/nn/int8.h"

namespace impasto {

InstanceNormImpl::InstanceNormImpl(int64_t channels, bool affine, double eps) : channels_(channels), eps_(eps) {
  if (channels <= 0) throw OptionError("channels", "must be positive, got " + std::to_string(channels));
  if (affine) {
    // torch::nn::InstanceNorm2d's initial values: gamma 1, beta 0.
    weight = register_parameter("weight", torch::ones({channels}));
    bias = register_parameter("bias", torch::zeros({channels}));
  }
}

at::Tensor InstanceNormImpl::forward(const at::Tensor& x) {
  if (x.dim() != 4 || x.size(1) != channels_)
    throw SourceError("input", "InstanceNorm over " + std::to_string(channels_) + " channels expects [N," +
                                   std::to_string(channels_) + ",H,W], got shape " + c10::str(x.sizes()));
  if (measuring_) {
    accumulate(x.is_quantized() ? (int8_input_ ? int8_input_->denormalise(x.dequantize()) : x.dequantize()) : x);
    if (stop_forward_) throw ForwardStopped{};
  }
  if (x.is_quantized()) {
    if (!int8_) throw Error("InstanceNorm: a quint8 input, but the norm has no int8 form (nn/int8.h: enable_int8)");
    at::Tensor mean = fixed_mean_, var = fixed_var_;
    if (mean.defined() && int8_input_ && int8_input_->channel_normalised) {
      // The statistics of x' = (x - shift) / scale.
      mean = (mean - int8_input_->shift) / int8_input_->scale;
      var = var / (int8_input_->scale * int8_input_->scale);
    }
    return int8_instance_norm(x, weight, bias, eps_, mean, var, output_.params);
  }
  at::Tensor y = float_forward(x);
  if (!keep_float_) output_.observe(y);
  return y;
}

at::Tensor InstanceNormImpl::float_forward(const at::Tensor& x) const {
  if (x.scalar_type() == torch::kBFloat16) return reduced_precision_forward(x);
  if (fixed_mean_.defined()) {
    // (x - mean) / sqrt(var + eps) * gamma + beta with the given per-channel statistics: batch norm's
    // inference formula, which takes them as its running statistics.
    const at::Tensor mean = fixed_mean_.to(x.device(), x.scalar_type()), var = fixed_var_.to(x.device(), x.scalar_type());
    return at::batch_norm(x, weight, bias, mean, var, /*training=*/false, 0.0, eps_, at::globalContext().userEnabledCuDNN());
  }
  // What torch::nn::InstanceNorm2d does without running statistics (functional instance_norm).
  return at::instance_norm(x, weight, bias, {}, {}, /*use_input_stats=*/true, 0.1, eps_,
                           at::globalContext().userEnabledCuDNN());
}

// bf16 (nn/precision.h): LibTorch's instance norm loses channels-last (the next convolution would
// reorder) and its var_mean is slow on bf16, so here the channels-last input is viewed as rows
// [N, H*W, C] (no copy), whose per-column means LibTorch reduces fast, accumulating in float32.
// Everything is taken relative to c, the mean rounded to bf16: d = x - c is exact for values near the
// mean (Sterbenz's lemma) and rounds relative to the distance from it for the others; then
//     mean = c + E[d],   var = E[d^2] - E[d]^2,   y = d * s + t,
//     s = gamma / sqrt(var + eps),   t = beta - (mean - c) * s
// keeps t small. The plain y = x * s + (beta - mean * s) would round beta - mean * s, large when a
// channel's mean is large against its spread (mean 7, spread 0.05: t = -140 gamma, in steps of 1 in
// bf16), and E[x^2] - mean^2 would cancel the variance away.
at::Tensor InstanceNormImpl::reduced_precision_forward(const at::Tensor& x) const {
  torch::NoGradGuard no_grad;
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3), c = channels_;
  const at::Tensor rows = x.contiguous(at::MemoryFormat::ChannelsLast).permute({0, 2, 3, 1}).reshape({n, h * w, c});
  const at::Tensor centre = fixed_mean_.defined() ? fixed_mean_.to(x.device(), x.scalar_type()).view({1, 1, c})
                                                  : rows.mean(1, /*keepdim=*/true);  // [N or 1, 1, C]
  const at::Tensor d = rows - centre;
  at::Tensor mean, var;  // float32 [N or 1, 1, C]
  if (fixed_mean_.defined()) {
    mean = fixed_mean_.to(x.device()).view({1, 1, c});
    var = fixed_var_.to(x.device()).view({1, 1, c});
  } else {
    const at::Tensor mean_d = d.mean(1, /*keepdim=*/true).to(torch::kFloat32);
    mean = centre.to(torch::kFloat32) + mean_d;
    var = ((d * d).mean(1, /*keepdim=*/true).to(torch::kFloat32) - mean_d * mean_d).clamp_min(0);
  }
  at::Tensor scale = at::rsqrt(var + eps_);
  if (weight.defined()) scale = scale * weight.to(torch::kFloat32).view({1, 1, c});
  at::Tensor shift = -(mean - centre.to(torch::kFloat32)) * scale;
  if (bias.defined()) shift = shift + bias.to(torch::kFloat32).view({1, 1, c});
  const at::Tensor y = at::addcmul(shift.to(x.scalar_type()), d, scale.to(x.scalar_type()));
  return y.view({n, h, w, c}).permute({0, 3, 1, 2});  // NCHW sizes, channels-last memory
}

void InstanceNormImpl::set_statistics(const at::Tensor& mean, const at::Tensor& var) {
  if (!mean.defined() || !var.defined() || mean.numel() != channels_ || var.numel() != channels_)
    throw OptionError("statistics", "expected a mean and a variance of " + std::to_string(channels_) + " channels");
  fixed_mean_ = mean.detach().reshape({channels_}).to(torch::kFloat32);
  fixed_var_ = var.detach().reshape({channels_}).to(torch::kFloat32);
}

void InstanceNormImpl::clear_statistics() {
  fixed_mean_ = at::Tensor();
  fixed_var_ = at::Tensor();
}

void InstanceNormImpl::start_measuring(const NormRegion& region, bool stop_forward) {
  if (!(region.top >= 0 && region.top < region.bottom && region.bottom <= 1 && region.left >= 0 &&
        region.left < region.right && region.right <= 1))
    throw OptionError("region", "expected 0 <= top < bottom <= 1 and 0 <= left < right <= 1");
  region_ = region;
  measuring_ = true;
  stop_forward_ = stop_forward;
}

void InstanceNormImpl::reset_totals() {
  count_ = 0;
  total_mean_ = at::Tensor();
  total_m2_ = at::Tensor();
}

void InstanceNormImpl::accumulate(const at::Tensor& x) {
  torch::NoGradGuard no_grad;
  const int64_t h = x.size(2), w = x.size(3);
  // The region at this layer's resolution: a strided layer sees the same fractions of its input.
  auto rows = [](double a, double b, int64_t n) {
    const int64_t lo = std::clamp<int64_t>(std::llround(a * static_cast<double>(n)), 0, n);
    const int64_t hi = std::clamp<int64_t>(std::llround(b * static_cast<double>(n)), lo, n);
    return std::make_pair(lo, hi);
  };
  const auto [y0, y1] = rows(region_.top, region_.bottom, h);
  const auto [x0, x1] = rows(region_.left, region_.right, w);
  if (y1 <= y0 || x1 <= x0) return;  // the region vanishes at this resolution
  const at::Tensor part = x.detach().slice(2, y0, y1).slice(3, x0, x1).to(torch::kFloat32);
  const auto [var, mean] = at::var_mean(part, {0, 2, 3}, /*unbiased=*/false);
  const double n = static_cast<double>(part.size(0) * (y1 - y0) * (x1 - x0));
  const at::Tensor mean_b = mean.to(torch::kCPU, torch::kFloat64), m2_b = var.to(torch::kCPU, torch::kFloat64) * n;
  if (count_ == 0) {
    total_mean_ = mean_b;
    total_m2_ = m2_b;
    count_ = n;
    return;
  }
  // Chan et al.: delta = mean_b - mean_a; mean = mean_a + delta n_b / n; M2 = M2_a + M2_b + delta^2 n_a n_b / n.
  const double total = count_ + n;
  const at::Tensor delta = mean_b - total_mean_;
  total_mean_ = total_mean_ + delta * (n / total);
  total_m2_ = total_m2_ + m2_b + delta * delta * (count_ * n / total);
  count_ = total;
}

std::pair<at::Tensor, at::Tensor> InstanceNormImpl::measured_statistics() const {
  if (count_ <= 0) throw Error("InstanceNorm: no statistics were measured");
  return {total_mean_.to(torch::kFloat32), (total_m2_ / count_).to(torch::kFloat32)};
}

std::vector<std::pair<std::string, InstanceNormImpl*>> instance_norms(torch::nn::Module& net) {
  std::vector<std::pair<std::string, InstanceNormImpl*>> out;
  for (const auto& item : net.named_modules("", /*include_self=*/false))
    if (auto* norm = item.value()->as<InstanceNormImpl>()) out.emplace_back(item.key(), norm);
  return out;
}

WholeImageNorms::WholeImageNorms(torch::nn::Module& net) : norms_(instance_norms(net)) {}

WholeImageNorms::~WholeImageNorms() { release(); }

void WholeImageNorms::measure(const NormRegion& region) {
  for (auto& [name, norm] : norms_) norm->start_measuring(region);
}

void WholeImageNorms::measure_one(size_t k, const NormRegion& region) {
  if (k >= norms_.size())
    throw OptionError("norm", "no instance norm " + std::to_string(k) + "; the network has " + std::to_string(norms_.size()));
  for (size_t i = 0; i < norms_.size(); ++i) {
    if (i == k)
      norms_[i].second->start_measuring(region, /*stop_forward=*/true);
    else
      norms_[i].second->stop_measuring();
  }
}

void WholeImageNorms::fix_measured() {
  for (auto& [name, norm] : norms_) {
    norm->stop_measuring();
    if (norm->measured_count() > 0) {
      const auto [mean, var] = norm->measured_statistics();
      norm->set_statistics(mean, var);
    }
    norm->reset_totals();
  }
}

void WholeImageNorms::release() {
  for (auto& [name, norm] : norms_) {
    norm->stop_measuring();
    norm->reset_totals();
    norm->clear_statistics();
  }
}

std::vector<std::pair<std::string, std::pair<at::Tensor, at::Tensor>>> WholeImageNorms::fixed() const {
  std::vector<std::pair<std::string, std::pair<at::Tensor, at::Tensor>>> out;
  for (const auto& [name, norm] : norms_) out.emplace_back(name, std::make_pair(norm->fixed_mean(), norm->fixed_var()));
  return out;
}

}  // namespace impasto
