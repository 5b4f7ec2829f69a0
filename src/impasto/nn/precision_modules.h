#pragma once
// torch::nn::ReflectionPad2d and ConvTranspose2d whose forward works in every dtype, for networks
// built from torch::nn modules (the CycleGAN generators): the same options and parameter keys, so
// those networks still load PyTorch's files and export to ONNX as before. Their bf16 paths are
// nn/conv_ops.h's reflection_pad and conv_transpose.
//
// They also have int8 forms (nn/int8.h; the ResNet generators): the pad copies the quantised bytes,
// and the convolutions run packed int8 kernels (the transposed one as conv_ops' phases), a
// convolution read only by an instance norm channel-normalised for it (feed_norm). A convolution of
// the network's float stem (keep_float) has no int8 form; it keeps bf16 copies of its weights for a
// stem run in bf16.
#include <ATen/core/Tensor.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/padding.h>

#include <optional>

#include "impasto/nn/instance_norm.h"
#include "impasto/nn/int8.h"

namespace impasto {

class AnyPrecisionReflectionPad2dImpl : public torch::nn::ReflectionPad2dImpl {
 public:
  using torch::nn::ReflectionPad2dImpl::ReflectionPad2dImpl;
  at::Tensor forward(const at::Tensor& x);
};
TORCH_MODULE(AnyPrecisionReflectionPad2d);

class AnyPrecisionConvTranspose2dImpl : public torch::nn::ConvTranspose2dImpl, public Int8Quantizable {
 public:
  using torch::nn::ConvTranspose2dImpl::ConvTranspose2dImpl;
  at::Tensor forward(const at::Tensor& x);

  std::vector<std::pair<std::string, Int8Point*>> int8_points() override { return {{"output", &output_}}; }
  void set_int8(bool enabled) override;
  bool int8() const override { return int8_conv_.has_value(); }
  void feed_norm(InstanceNormImpl& norm);

 private:
  Int8Point output_;
  std::optional<Int8Conv> int8_conv_;
};
TORCH_MODULE(AnyPrecisionConvTranspose2d);

class AnyPrecisionConv2dImpl : public torch::nn::Conv2dImpl, public Int8Quantizable {
 public:
  using torch::nn::Conv2dImpl::Conv2dImpl;
  at::Tensor forward(const at::Tensor& x);

  std::vector<std::pair<std::string, Int8Point*>> int8_points() override;
  void set_int8(bool enabled) override;
  bool int8() const override { return int8_conv_.has_value(); }
  void feed_norm(InstanceNormImpl& norm);
  void keep_float() { keep_float_ = true; }

 private:
  Int8Point output_;
  std::optional<Int8Conv> int8_conv_;
  bool keep_float_ = false;
  StemCopies stem_;
};
TORCH_MODULE(AnyPrecisionConv2d);

}  // namespace impasto
