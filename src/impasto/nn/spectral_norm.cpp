#include "impasto/nn/spectral_norm.h"

#include <torch/torch.h>

#include <cmath>

namespace impasto {
namespace {

namespace F = torch::nn::functional;

// x / max(||x||_2, eps), as torch.nn.functional.normalize along the only dimension.
at::Tensor normalise(const at::Tensor& x, double eps) { return x / x.norm().clamp_min(eps); }

// u ~ N(0, I) normalised, as torch.nn.utils.spectral_norm initialises its buffers.
at::Tensor random_unit(int64_t n, const at::TensorOptions& options, double eps) {
  return normalise(torch::empty({n}, options).normal_(0, 1), eps);
}

// PyTorch's default initialisation of a conv or linear layer's weight and bias (Module.reset_parameters):
// weight kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), bias the same.
// Kept in the same order as PyTorch so that a seeded layer here starts where a seeded PyTorch layer does.
void default_init(at::Tensor& weight, at::Tensor& bias) {
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double fan_in = static_cast<double>(weight.numel() / weight.size(0));
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(fan_in) : 0.0;
    torch::nn::init::uniform_(bias, -bound, bound);
  }
}

}  // namespace

// Miyato et al. 2018, Algorithm 1, with the bookkeeping of torch.nn.utils.spectral_norm (1.13):
// the power iteration runs on a detached W and writes u, v in place; the returned weight uses clones of
// them, so that a later forward's update does not invalidate this forward's graph (D(real) and D(fake)
// back-propagated together). sigma = u^T W v is differentiated through W only.
at::Tensor spectral_normalise(const at::Tensor& weight, at::Tensor& u, at::Tensor& v, bool update,
                              int64_t iterations, double eps) {
  TORCH_CHECK(weight.dim() >= 1, "spectral_normalise: weight must have at least one dimension");
  const at::Tensor w_mat = weight.reshape({weight.size(0), -1});
  TORCH_CHECK(u.dim() == 1 && u.size(0) == w_mat.size(0), "spectral_normalise: u must have ", w_mat.size(0),
              " elements");
  TORCH_CHECK(v.dim() == 1 && v.size(0) == w_mat.size(1), "spectral_normalise: v must have ", w_mat.size(1),
              " elements");
  at::Tensor u_used = u, v_used = v;
  if (update && iterations > 0) {
    {
      torch::NoGradGuard no_grad;
      const at::Tensor w = w_mat.detach();
      for (int64_t i = 0; i < iterations; ++i) {
        v.copy_(normalise(torch::mv(w.t(), u), eps));
        u.copy_(normalise(torch::mv(w, v), eps));
      }
    }
    u_used = u.clone(at::MemoryFormat::Contiguous);
    v_used = v.clone(at::MemoryFormat::Contiguous);
  }
  const at::Tensor sigma = torch::dot(u_used, torch::mv(w_mat, v_used));
  return weight / sigma;
}

SNConv2dImpl::SNConv2dImpl(const torch::nn::Conv2dOptions& options_) : options(options_) {
  TORCH_CHECK(options.in_channels() % options.groups() == 0 && options.out_channels() % options.groups() == 0,
              "SNConv2d: channels must be divisible by groups");
  const auto k = *options.kernel_size();
  weight_orig = register_parameter(
      "weight_orig", torch::empty({options.out_channels(), options.in_channels() / options.groups(), k[0], k[1]}));
  if (options.bias()) bias = register_parameter("bias", torch::empty({options.out_channels()}));
  default_init(weight_orig, bias);
  torch::NoGradGuard no_grad;
  weight_u = register_buffer("weight_u", random_unit(weight_orig.size(0), weight_orig.options(), 1e-12));
  weight_v = register_buffer("weight_v", random_unit(weight_orig.numel() / weight_orig.size(0), weight_orig.options(), 1e-12));
}

at::Tensor SNConv2dImpl::forward(const at::Tensor& x) {
  const at::Tensor w = spectral_normalise(weight_orig, weight_u, weight_v, is_training());
  if (c10::get_if<torch::enumtype::kZeros>(&options.padding_mode()))
    return F::detail::conv2d(x, w, bias, options.stride(), options.padding(), options.dilation(), options.groups());
  // reflect / replicate / circular: pad explicitly, then convolve without padding (as nn.Conv2d does).
  const auto* pad = c10::get_if<torch::ExpandingArray<2>>(&options.padding());
  TORCH_CHECK(pad, "SNConv2d: padding_mode other than zeros needs an explicit padding size");
  const auto p = **pad;
  F::PadFuncOptions::mode_t mode = torch::kCircular;
  if (c10::get_if<torch::enumtype::kReflect>(&options.padding_mode())) mode = torch::kReflect;
  if (c10::get_if<torch::enumtype::kReplicate>(&options.padding_mode())) mode = torch::kReplicate;
  const at::Tensor padded = F::pad(x, F::PadFuncOptions({p[1], p[1], p[0], p[0]}).mode(mode));
  return F::detail::conv2d(padded, w, bias, options.stride(), torch::ExpandingArray<2>(0), options.dilation(),
                           options.groups());
}

SNLinearImpl::SNLinearImpl(const torch::nn::LinearOptions& options_) : options(options_) {
  weight_orig = register_parameter("weight_orig", torch::empty({options.out_features(), options.in_features()}));
  if (options.bias()) bias = register_parameter("bias", torch::empty({options.out_features()}));
  default_init(weight_orig, bias);
  torch::NoGradGuard no_grad;
  weight_u = register_buffer("weight_u", random_unit(options.out_features(), weight_orig.options(), 1e-12));
  weight_v = register_buffer("weight_v", random_unit(options.in_features(), weight_orig.options(), 1e-12));
}

at::Tensor SNLinearImpl::forward(const at::Tensor& x) {
  return torch::linear(x, spectral_normalise(weight_orig, weight_u, weight_v, is_training()), bias);
}

}  // namespace impasto
