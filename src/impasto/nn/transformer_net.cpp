#include "impasto/nn/transformer_net.h"

#include <torch/torch.h>

#include <algorithm>
#include <optional>

#include "impasto/core/error.h"
#include "impasto/nn/backbone.h"
#include "impasto/nn/conv_ops.h"
#include "impasto/nn/instance_norm.h"
#include "impasto/nn/int8.h"
#include "impasto/nn/onnx_export.h"
#include "impasto/nn/precision.h"

namespace impasto {
namespace {

namespace nn = torch::nn;

// The side `forward` pads to: a multiple of 4 (two stride-2 convs, two x2 upsamplings), and at least
// 8, since conv1's reflection pad of 4 and the blocks' pad of 1 at a quarter of the side need sides
// larger than the padding.
int64_t padded_side(int64_t side) { return std::max<int64_t>((side + 3) / 4 * 4, 8); }

// The example's ConvLayer (reflection pad k/2, then `conv2d`) and, with upsample = 2, its
// UpsampleConvLayer (nearest-neighbour x2 first; Odena et al. 2016 "Deconvolution and Checkerboard
// Artifacts"). Only `conv2d` holds parameters, so both give the keys `<name>.conv2d.weight|bias`.
class ConvLayerImpl : public nn::Module, public OnnxExportable, public Int8Quantizable {
 public:
  ConvLayerImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t upsample = 1)
      : pad_(kernel / 2), upsample_(upsample) {
    conv2d = register_module("conv2d", nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride)));
  }

  // relu_first: of relu(x), the ReLU fused into the padding's pass over the image (nn/conv_ops.h).
  // A quint8 x (nn/int8.h) goes through the int8 form.
  at::Tensor forward(const at::Tensor& x, bool relu_first = false) {
    if (x.is_quantized()) return int8_forward(x, relu_first);
    at::Tensor y = float_forward(x, relu_first);
    if (!keep_float_) output_.observe(y);
    return y;
  }

  std::vector<std::pair<std::string, Int8Point*>> int8_points() override {
    if (keep_float_) return {};
    return {{"output", &output_}};
  }
  void set_int8(bool enabled) override {
    int8_conv_.reset();
    stem_.clear();
    if (enabled && keep_float_) stem_.make(conv2d->weight, conv2d->bias);  // for a stem run in bf16
    if (!enabled || keep_float_) return;
    auto [weight, bias] = output_.normalised_parameters(conv2d->weight, conv2d->bias, /*axis=*/0);
    if (upsamples_3x3()) {  // the four phases of upsample_conv3x3, in one int8 convolution
      weight = upsample_conv3x3_kernels(weight);
      bias = bias.repeat({4});
    }
    int8_conv_.emplace(weight, bias, (*conv2d->options.stride())[0], 0);
  }
  bool int8() const override { return int8_conv_.has_value(); }
  // In the network's float stem (see TransformerNetConcrete): no int8 form.
  void keep_float() { keep_float_ = true; }
  // The output is read only by `norm`: in int8 it is channel-normalised for it (nn/int8.h).
  void feed_norm(InstanceNormImpl& norm) { norm.set_int8_input(&output_); }

  std::string to_onnx(OnnxGraph& g, const std::string& x, const std::string& path) const override {
    std::string y = upsample_ > 1 ? onnx_upsample_nearest(g, x, path + ".upsample", upsample_, upsample_) : x;
    y = onnx_reflection_pad(g, y, path + ".pad", pad_, pad_, pad_, pad_);
    return onnx_forward(*conv2d, g, y, path + ".conv2d");
  }

  nn::Conv2d conv2d{nullptr};

 private:
  at::Tensor int8_forward(at::Tensor x, bool relu_first) const {
    if (!int8_conv_) throw Error("ConvLayer: a quint8 input, but the layer has no int8 form (nn/int8.h: enable_int8)");
    if (relu_first && x.q_zero_point() != 0) x = at::relu(x);  // zero point 0: already non-negative
    if (upsamples_3x3()) {  // as float_forward: the phases on the small input (nn/conv_ops.h)
      const at::Tensor phases = int8_conv_->forward(int8_replication_pad(x, 1, 1, 1, 1), output_.params);
      at::Tensor y = int8_empty({x.size(0), phases.size(1) / 4, 2 * x.size(2), 2 * x.size(3)}, output_.params);
      interleave_upsample_phases(int8_bytes(phases), int8_bytes(y));
      return y;
    }
    if (upsample_ > 1) x = at::upsample_nearest2d(x, {x.size(2) * upsample_, x.size(3) * upsample_});
    return int8_conv_->forward(int8_reflection_pad(x, pad_, pad_, pad_, pad_), output_.params);
  }

  // Nearest x2, reflection pad 1 and a 3x3 stride-1 conv (the UpsampleConvLayers of the published nets).
  bool upsamples_3x3() const {
    const auto& o = conv2d->options;
    return upsample_ == 2 && (*o.kernel_size())[0] == 3 && (*o.kernel_size())[1] == 3 && (*o.stride())[0] == 1 && (*o.stride())[1] == 1;
  }

  at::Tensor float_forward(at::Tensor x, bool relu_first) {
    // A bf16 input to float32 parameters: the stem of an int8 network in bf16 (its copies).
    const bool stem_bf16 = stem_.wanted(x, conv2d->weight);
    const at::Tensor& weight = stem_bf16 ? stem_.weight : conv2d->weight;
    const at::Tensor& bias = stem_bf16 ? stem_.bias : conv2d->bias;
    // Nearest x2, reflection pad 1 and the 3x3 conv of the published nets, on the small input
    // (nn/conv_ops.h: 2.25x fewer multiplications, the same numbers).
    const auto& o = conv2d->options;
    if (upsamples_3x3()) return upsample_conv3x3(x, weight, bias, relu_first);
    // Nearest x2: output pixel i reads input pixel floor(i / 2), as nn.Upsample(mode='nearest').
    if (upsample_ > 1) {
      if (relu_first) x = at::relu(x);
      relu_first = false;
      x = at::upsample_nearest2d(x, {x.size(2) * upsample_, x.size(3) * upsample_});
    }
    x = reflection_pad(x, pad_, pad_, pad_, pad_, relu_first);  // every dtype (nn/conv_ops.h)
    // The RGB output layer (3 channels, 9x9) on 4x4 blocks (nn/conv_ops.h); the others as they are.
    if ((*o.stride())[0] == 1 && (*o.stride())[1] == 1) return conv_few_outputs(x, weight, bias);
    return at::conv2d(x, weight, bias, *o.stride());
  }

  int64_t pad_;
  int64_t upsample_;
  Int8Point output_;
  std::optional<Int8Conv> int8_conv_;
  bool keep_float_ = false;
  StemCopies stem_;  // bf16 copies (keep_float layers of an int8 network)
};
TORCH_MODULE(ConvLayer);

// Affine instance norm (the example's InstanceNorm2d(affine=True)); nn/instance_norm.h, which can
// also normalise tiles with the whole image's statistics.
InstanceNorm instance_norm(int64_t channels) { return InstanceNorm(channels, /*affine=*/true); }

// x + in2(conv2(relu(in1(conv1(x))))): no ReLU after the sum (Gross & Wilber 2016, the block the
// example links to), and the keys conv1.conv2d.*, in1.*, conv2.conv2d.*, in2.*.
class ResidualBlockImpl : public nn::Module, public OnnxExportable, public Int8ResidualSum {
 public:
  explicit ResidualBlockImpl(int64_t channels) {
    conv1 = register_module("conv1", ConvLayer(channels, channels, 3, 1));
    in1 = register_module("in1", instance_norm(channels));
    in1->set_relu_after(true);
    conv2 = register_module("conv2", ConvLayer(channels, channels, 3, 1));
    in2 = register_module("in2", instance_norm(channels));
    conv1->feed_norm(*in1);
    conv2->feed_norm(*in2);
  }

  at::Tensor forward(const at::Tensor& x) {
    return add(x, in2->forward(conv2->forward(in1->forward(conv1->forward(x)), /*relu_first=*/true)));
  }
  std::string to_onnx(OnnxGraph& g, const std::string& x, const std::string& path) const override {
    std::string y = onnx_forward(*in1, g, onnx_forward(*conv1, g, x, path + ".conv1"), path + ".in1");
    y = g.node("Relu", {y}, {}, path + ".relu");
    y = onnx_forward(*in2, g, onnx_forward(*conv2, g, y, path + ".conv2"), path + ".in2");
    return g.node("Add", {x, y}, {}, path);
  }

  ConvLayer conv1{nullptr}, conv2{nullptr};
  InstanceNorm in1{nullptr}, in2{nullptr};
};
TORCH_MODULE(ResidualBlock);

class TransformerNetConcrete : public TransformerNetImpl, public OnnxExportable, public Int8Quantizable {
 public:
  explicit TransformerNetConcrete(const TransformerNetOptions& o) : options_(o) {
    const int64_t w = o.width;
    // Registered in the example's attribute order, so named_parameters() lists them as PyTorch does.
    conv1_ = register_module("conv1", ConvLayer(3, w, 9, 1));
    in1_ = register_module("in1", instance_norm(w));
    conv2_ = register_module("conv2", ConvLayer(w, 2 * w, 3, 2));
    in2_ = register_module("in2", instance_norm(2 * w));
    conv3_ = register_module("conv3", ConvLayer(2 * w, 4 * w, 3, 2));
    in3_ = register_module("in3", instance_norm(4 * w));
    for (int64_t k = 1; k <= o.residual_blocks; ++k)
      res_.push_back(register_module("res" + std::to_string(k), ResidualBlock(4 * w)));
    enabled_.assign(static_cast<size_t>(o.residual_blocks), true);
    deconv1_ = register_module("deconv1", ConvLayer(4 * w, 2 * w, 3, 1, 2));
    in4_ = register_module("in4", instance_norm(2 * w));
    deconv2_ = register_module("deconv2", ConvLayer(2 * w, w, 3, 1, 2));
    in5_ = register_module("in5", instance_norm(w));
    deconv3_ = register_module("deconv3", ConvLayer(w, 3, 9, 1));
    for (InstanceNorm* norm : {&in1_, &in2_, &in3_, &in4_, &in5_}) (*norm)->set_relu_after(true);
    conv1_->feed_norm(*in1_);
    conv2_->feed_norm(*in2_);
    conv3_->feed_norm(*in3_);
    for (ConvLayer* conv : {&conv1_, &conv2_, &conv3_}) (*conv)->keep_float();
    for (InstanceNorm* norm : {&in1_, &in2_}) (*norm)->keep_float();
    deconv1_->feed_norm(*in4_);
    deconv2_->feed_norm(*in5_);
  }

  at::Tensor forward(const at::Tensor& image) override { return canonical_forward(image, nullptr); }

  at::Tensor forward_with_features(const at::Tensor& image, Activations& features) override {
    features.clear();
    return canonical_forward(image, &features);
  }

  // Each ReLU that feeds a padded convolution runs in that convolution's padding (relu_first).
  at::Tensor forward_raw(const at::Tensor& x, Activations* features) override {
    at::Tensor y = in1_->forward(conv1_->forward(x));
    y = in2_->forward(conv2_->forward(y, /*relu_first=*/true));
    y = at::relu(in3_->forward(conv3_->forward(y, /*relu_first=*/true)));
    if (int8_) y = quantize(y, in3_->int8_points().front().second->params);  // the end of the float stem
    if (features) features->emplace_back("conv3", to_float32(y));
    for (size_t k = 0; k < res_.size(); ++k) {
      if (enabled_[k]) y = res_[k]->forward(y);
      if (features) features->emplace_back("res" + std::to_string(k + 1), to_float32(y));
    }
    y = in4_->forward(deconv1_->forward(y));
    y = in5_->forward(deconv2_->forward(y, /*relu_first=*/true));
    return deconv3_->forward(y, /*relu_first=*/true);
  }

  // forward_raw as graph nodes.
  std::string to_onnx(OnnxGraph& g, const std::string& x, const std::string& path) const override {
    auto stage = [&](const nn::Module& conv, const nn::Module& norm, const std::string& in, const std::string& name) {
      const std::string c = onnx_forward(conv, g, in, path + "." + name);
      return g.node("Relu", {onnx_forward(norm, g, c, path + ".in_" + name)}, {}, path + ".relu_" + name);
    };
    std::string y = stage(*conv1_, *in1_, x, "conv1");
    y = stage(*conv2_, *in2_, y, "conv2");
    y = stage(*conv3_, *in3_, y, "conv3");
    for (size_t k = 0; k < res_.size(); ++k)
      if (enabled_[k]) y = onnx_forward(*res_[k], g, y, path + ".res" + std::to_string(k + 1));
    y = stage(*deconv1_, *in4_, y, "deconv1");
    y = stage(*deconv2_, *in5_, y, "deconv2");
    return onnx_forward(*deconv3_, g, y, path + ".deconv3");
  }
  void set_block_enabled(int64_t block, bool enabled) override { enabled_[index(block)] = enabled; }
  bool block_enabled(int64_t block) const override { return enabled_[index(block)]; }
  const TransformerNetOptions& options() const override { return options_; }

  // int8 (nn/int8.h) starts after the float stem: conv1, in1, conv2, in2, conv3 and in3 stay float32,
  // and in3's output (after its ReLU) is the first quantised value. Quantising each point alone in a
  // float32 pass (fake quantisation; random published-width net, photo-like picture) showed where
  // the error comes from: conv1's output alone costs the output 32 dB of PSNR, in1's and conv2's 36,
  // conv3's 38, any later point 41 or more: an early error runs through every layer after it, and
  // instance norm amplifies the steps of a channel whose spread on this image is small. With the stem
  // in float the whole int8 output is 31 dB from fp32 instead of 27, for 9 of the 80 GFLOP at 512 px.
  std::vector<std::pair<std::string, Int8Point*>> int8_points() override { return {}; }
  void set_int8(bool enabled) override { int8_ = enabled; }
  bool int8() const override { return int8_; }

 private:
  size_t index(int64_t block) const {
    if (block < 1 || block > options_.residual_blocks)
      throw OptionError("block", "residual block " + std::to_string(block) + " does not exist; valid: 1.." +
                                     std::to_string(options_.residual_blocks));
    return static_cast<size_t>(block - 1);
  }

  at::Tensor canonical_forward(const at::Tensor& image, Activations* features) {
    if (image.dim() != 4 || image.size(1) != 3 || image.size(2) < 1 || image.size(3) < 1)
      throw SourceError("image", "TransformerNet expects an RGB batch [N,3,H,W], got shape " + c10::str(image.sizes()));
    const int64_t h = image.size(2), w = image.size(3);
    at::Tensor x = to_255_range(image);
    const int64_t ph = padded_side(h) - h, pw = padded_side(w) - w;
    if (ph || pw) {
      // Reflection continues the picture; PyTorch allows it only for a padding smaller than the side.
      x = ph < h && pw < w ? at::reflection_pad2d(x, {0, pw, 0, ph}) : at::replication_pad2d(x, {0, pw, 0, ph});
    }
    // In the network's precision from the first layer to the last (nn/precision.h, nn/int8.h).
    const Precision precision = module_precision(*this);
    // int8: the stem in bf16 on a CPU with native bf16 (its layers keep bf16 copies of their weights;
    // the norms compute their statistics in float32), else in float32.
    const Precision stem = int8_stem_in_bf16(x.device()) ? Precision::bf16 : Precision::fp32;
    x = to_precision(x, precision == Precision::int8 ? stem : precision);
    at::Tensor y = to_float32(forward_raw(x, features));
    return from_255_range(y.narrow(2, 0, h).narrow(3, 0, w));
  }

  TransformerNetOptions options_;
  ConvLayer conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr}, deconv1_{nullptr}, deconv2_{nullptr}, deconv3_{nullptr};
  InstanceNorm in1_{nullptr}, in2_{nullptr}, in3_{nullptr}, in4_{nullptr}, in5_{nullptr};
  std::vector<ResidualBlock> res_;
  std::vector<bool> enabled_;
  bool int8_ = false;
};

}  // namespace

TransformerNet make_transformer_net(const TransformerNetOptions& options) {
  if (options.width <= 0) throw OptionError("width", "must be positive, got " + std::to_string(options.width));
  if (options.residual_blocks < 0)
    throw OptionError("residual_blocks", "must not be negative, got " + std::to_string(options.residual_blocks));
  return std::make_shared<TransformerNetConcrete>(options);
}

bool is_deprecated_instance_norm_key(const std::string& key) {
  // The example's rule: re.search(r'in\d+\.running_(mean|var)$', key), anchored here at a '.'
  // or the start so that only a module named in<digits> matches.
  for (const char* suffix : {".running_mean", ".running_var"}) {
    const std::string s = suffix;
    if (key.size() <= s.size() || key.compare(key.size() - s.size(), s.size(), s) != 0) continue;
    const std::string module = key.substr(0, key.size() - s.size());
    const size_t dot = module.rfind('.');
    const std::string last = dot == std::string::npos ? module : module.substr(dot + 1);
    if (last.size() < 3 || last.compare(0, 2, "in") != 0) return false;
    for (size_t i = 2; i < last.size(); ++i)
      if (last[i] < '0' || last[i] > '9') return false;
    return true;
  }
  return false;
}

TransformerNetOptions infer_transformer_net_options(const StateDict& dict, const std::string& source) {
  const at::Tensor* conv1 = find_tensor(dict, "conv1.conv2d.weight");
  if (!conv1)
    throw FormatError(source, "missing key 'conv1.conv2d.weight': not a fast_neural_style TransformerNet state dict");
  if (conv1->dim() != 4)
    throw FormatError(source, "'conv1.conv2d.weight' should be a 4-d conv weight, has shape " + c10::str(conv1->sizes()));
  TransformerNetOptions o;
  o.width = conv1->size(0);
  o.residual_blocks = 0;
  while (find_tensor(dict, "res" + std::to_string(o.residual_blocks + 1) + ".conv1.conv2d.weight")) ++o.residual_blocks;
  return o;
}

void load_transformer_net_weights(TransformerNetImpl& net, const StateDict& dict, const std::string& source) {
  StateDict kept;
  for (const auto& [key, tensor] : dict)
    if (!is_deprecated_instance_norm_key(key)) kept.emplace_back(key, tensor);
  // Every key is a parameter (instance norm without running statistics has no buffers), so
  // load_state_dict's check of unexpected, mis-shaped and missing parameters is the whole check.
  load_state_dict(net, kept, source);
}

TransformerNet load_transformer_net(const std::string& path, c10::Device device) {
  return load_transformer_net(load_weights(path), path, device);
}

TransformerNet load_transformer_net(const StateDict& dict, const std::string& source, c10::Device device) {
  auto net = make_transformer_net(infer_transformer_net_options(dict, source));
  load_transformer_net_weights(*net, dict, source);
  net->to(device);
  net->eval();
  return net;
}

at::Tensor to_255_range(const at::Tensor& image) { return image * 255.0; }
at::Tensor from_255_range(const at::Tensor& x255) { return (x255 / 255.0).clamp(0.0, 1.0); }

}  // namespace impasto
