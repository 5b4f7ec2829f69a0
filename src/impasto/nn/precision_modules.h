#pragma once
// torch::nn::ReflectionPad2d and ConvTranspose2d whose forward works in every dtype, for networks
// built from torch::nn modules (the CycleGAN generators): the same options and parameter keys, so
// those networks still load PyTorch's files and export to ONNX as before. Their bf16 paths are
// nn/conv_ops.h's reflection_pad and conv_transpose.
#include <ATen/core/Tensor.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/padding.h>

namespace impasto {

class AnyPrecisionReflectionPad2dImpl : public torch::nn::ReflectionPad2dImpl {
 public:
  using torch::nn::ReflectionPad2dImpl::ReflectionPad2dImpl;
  at::Tensor forward(const at::Tensor& x);
};
TORCH_MODULE(AnyPrecisionReflectionPad2d);

class AnyPrecisionConvTranspose2dImpl : public torch::nn::ConvTranspose2dImpl {
 public:
  using torch::nn::ConvTranspose2dImpl::ConvTranspose2dImpl;
  at::Tensor forward(const at::Tensor& x);
};
TORCH_MODULE(AnyPrecisionConvTranspose2d);

}  // namespace impasto
