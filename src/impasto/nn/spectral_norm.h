#pragma once
// Spectral normalisation (Miyato et al. 2018, "Spectral Normalization for Generative Adversarial
// Networks"): a layer's weight W is used as W / sigma(W), where sigma is the largest singular value of
// W reshaped to [out, in*k*k], estimated by one step of power iteration per training forward:
//     v <- normalise(W^T u),  u <- normalise(W v),  sigma = u^T W v
// with u (and v) persistent buffers. LibTorch's C++ API has no torch.nn.utils.spectral_norm, so the
// layers here own `weight_orig` (the free parameter), `weight_u` and `weight_v` (buffers) under the
// same names as PyTorch's hook, so state dicts load both ways. In eval mode no iteration runs and the
// stored u, v give sigma (as in PyTorch).
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>

namespace impasto {

// One power-iteration step (when `update`) and sigma. `weight` is [out, ...]; `u` [out], `v` [in*...]
// are updated in place (no grad) when `update`. Returns weight / sigma (differentiable w.r.t. weight;
// u and v are treated as constants, as in the paper and PyTorch).
at::Tensor spectral_normalise(const at::Tensor& weight, at::Tensor& u, at::Tensor& v, bool update,
                              int64_t iterations = 1, double eps = 1e-12);

class SNConv2dImpl : public torch::nn::Module {
 public:
  SNConv2dImpl(const torch::nn::Conv2dOptions& options);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Conv2dOptions options;
  at::Tensor weight_orig, bias, weight_u, weight_v;
};
TORCH_MODULE(SNConv2d);

class SNLinearImpl : public torch::nn::Module {
 public:
  SNLinearImpl(const torch::nn::LinearOptions& options);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::LinearOptions options;
  at::Tensor weight_orig, bias, weight_u, weight_v;
};
TORCH_MODULE(SNLinear);

}  // namespace impasto
