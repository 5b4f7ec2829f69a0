#include "impasto/nn/adain.h"

#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "impasto/core/error.h"
#include "impasto/nn/backbone.h"
#include "impasto/nn/conv_ops.h"

namespace impasto {

namespace {

// Unbiased variance from the sum of squared deviations over n positions; 0 for a single position.
at::Tensor unbiased(const at::Tensor& squared_deviations_sum, int64_t n) {
  return n > 1 ? squared_deviations_sum / static_cast<double>(n - 1) : torch::zeros_like(squared_deviations_sum);
}

}  // namespace

ChannelStatistics channel_statistics(const at::Tensor& f, double eps) {
  TORCH_CHECK(f.dim() == 4, "channel_statistics: expected [N,C,H,W]");
  const int64_t n = f.size(2) * f.size(3);
  const at::Tensor flat = f.reshape({f.size(0), f.size(1), -1});
  ChannelStatistics s;
  s.mean = flat.mean(2).view({f.size(0), f.size(1), 1, 1});
  const at::Tensor var = n > 1 ? flat.var(2, /*unbiased=*/true, /*keepdim=*/false) : torch::zeros({f.size(0), f.size(1)}, f.options());
  s.std = (var + eps).sqrt().view({f.size(0), f.size(1), 1, 1});
  return s;
}

ChannelStatistics channel_statistics(const at::Tensor& f, const at::Tensor& region, double eps) {
  TORCH_CHECK(f.dim() == 4 && f.size(0) == 1, "channel_statistics: expected [1,C,H,W]");
  TORCH_CHECK(region.dim() == 4 && region.size(2) == f.size(2) && region.size(3) == f.size(3),
              "channel_statistics: region must be [1,1,H,W] at the features' size");
  const int64_t c = f.size(1);
  const at::Tensor index = region.reshape({-1}).nonzero().reshape({-1}).to(f.device());
  const int64_t n = index.numel();
  ChannelStatistics s;
  if (n == 0) {
    s.mean = torch::zeros({1, c, 1, 1}, f.options());
    s.std = torch::full({1, c, 1, 1}, std::sqrt(eps), f.options());
    return s;
  }
  const at::Tensor values = f.reshape({c, -1}).index_select(1, index);  // [C, n]
  const at::Tensor mean = values.mean(1, /*keepdim=*/true);
  const at::Tensor var = unbiased((values - mean).pow(2).sum(1), n);
  s.mean = mean.view({1, c, 1, 1});
  s.std = (var + eps).sqrt().view({1, c, 1, 1});
  return s;
}

at::Tensor adaptive_instance_norm(const at::Tensor& content, const ChannelStatistics& c, const ChannelStatistics& s) {
  return (content - c.mean) / c.std * s.std + s.mean;
}

at::Tensor adaptive_instance_norm(const at::Tensor& content, const at::Tensor& style, double eps) {
  TORCH_CHECK(content.size(0) == style.size(0) && content.size(1) == style.size(1),
              "adaptive_instance_norm: content and style differ in batch or channels");
  return adaptive_instance_norm(content, channel_statistics(content, eps), channel_statistics(style, eps));
}

namespace {

namespace nn = torch::nn;

// One entry of the reference's Sequential.
enum class Op { pad, conv, relu, up };
struct Layer {
  Op op;
  nn::Conv2d conv{nullptr};
};

class AdainDecoderNet : public AdainDecoderImpl {
 public:
  explicit AdainDecoderNet(int64_t c) : c_(c) {
    // (in, out) of the nine convs; each preceded by a reflection pad and followed by a ReLU but the
    // last; an upsampling after the first, the fifth and the seventh conv's ReLU.
    const int64_t widths[][2] = {{c, c / 2},     {c / 2, c / 2}, {c / 2, c / 2}, {c / 2, c / 2}, {c / 2, c / 4},
                                 {c / 4, c / 4}, {c / 4, c / 8}, {c / 8, c / 8}, {c / 8, 3}};
    const int upsample_after[] = {0, 4, 6};
    for (int k = 0; k < 9; ++k) {
      layers_.push_back({Op::pad});
      Layer conv{Op::conv};
      const std::string name = std::to_string(layers_.size());
      conv.conv = register_module(name, nn::Conv2d(nn::Conv2dOptions(widths[k][0], widths[k][1], 3)));
      layers_.push_back(conv);
      if (k == 8) break;
      layers_.push_back({Op::relu});
      for (int u : upsample_after)
        if (u == k) layers_.push_back({Op::up});
    }
    TORCH_CHECK(layers_.size() == 29, "AdaIN decoder: expected 29 modules");
  }

  at::Tensor forward(const at::Tensor& features) override {
    if (features.dim() != 4 || features.size(1) != c_)
      throw OptionError("content", "the AdaIN decoder takes [N," + std::to_string(c_) + ",h,w] features");
    if (features.size(2) < 2 || features.size(3) < 2)
      throw OptionError("content", "the AdaIN decoder needs features of at least 2x2 (an image of at least 16x16)");
    // The modules in order, with nn/conv_ops.h's exact rewrites (every dtype): a ReLU runs inside
    // the next padding's pass, and up x2 + pad + 3x3 conv is one convolution on the small input.
    at::Tensor x = features;
    bool relu_pending = false, up_pending = false;
    for (size_t i = 0; i < layers_.size(); ++i) {
      Layer& l = layers_[i];
      switch (l.op) {
        case Op::relu:
          relu_pending = true;
          break;
        case Op::up:
          up_pending = true;
          break;
        case Op::pad:
          if (up_pending) {  // up, pad, conv (the next module): one convolution on the small input
            Layer& conv = layers_[++i];
            x = upsample_conv3x3(x, conv.conv->weight, conv.conv->bias, relu_pending);
          } else {
            x = layers_[i + 1].conv->forward(reflection_pad(x, 1, 1, 1, 1, relu_pending));
            ++i;
          }
          relu_pending = up_pending = false;
          break;
        case Op::conv:
          x = l.conv->forward(x);
          break;
      }
    }
    return relu_pending ? at::relu(x) : x;
  }

  int64_t in_channels() const override { return c_; }

 private:
  int64_t c_;
  std::vector<Layer> layers_;
};

}  // namespace

int64_t relu4_1_width(BackboneImpl& encoder) {
  torch::NoGradGuard no_grad;
  const auto parameters = encoder.parameters();
  const c10::Device device = parameters.empty() ? c10::Device(c10::kCPU) : parameters.front().device();
  return encoder.extract(torch::zeros({1, 3, 16, 16}, torch::TensorOptions().device(device)), {"relu4_1"}).at("relu4_1").size(1);
}

AdainDecoder make_adain_decoder(int64_t in_channels) {
  if (in_channels < 8 || in_channels % 8 != 0)
    throw OptionError("decoder", "the AdaIN decoder's input width must be a positive multiple of 8 (got " +
                                     std::to_string(in_channels) + ")");
  return std::make_shared<AdainDecoderNet>(in_channels);
}

bool is_adain_decoder(const StateDict& dict) {
  const at::Tensor* first = find_tensor(dict, "1.weight");
  const at::Tensor* last = find_tensor(dict, "28.weight");
  return first && last && first->dim() == 4 && last->dim() == 4 && last->size(0) == 3 && !find_tensor(dict, "0.weight");
}

int64_t infer_adain_decoder_channels(const StateDict& dict, const std::string& source) {
  const at::Tensor* first = find_tensor(dict, "1.weight");
  if (!first)
    throw FormatError(source, std::string("not an AdaIN decoder: missing key '1.weight' (the first conv, [C/2,C,3,3])") +
                                  (find_tensor(dict, "0.weight") ? "; this looks like an encoder (vgg_normalised.pth)" : ""));
  if (first->dim() != 4 || first->size(2) != 3 || first->size(3) != 3 || first->size(1) < 8 || first->size(1) % 8 != 0 ||
      first->size(0) * 2 != first->size(1))
    throw FormatError(source, "not an AdaIN decoder: '1.weight' has shape " + c10::str(first->sizes()) +
                                  ", expected [C/2,C,3,3] with C a multiple of 8");
  return first->size(1);
}

AdainDecoder load_adain_decoder(const StateDict& dict, const std::string& source, c10::Device device) {
  AdainDecoder net = make_adain_decoder(infer_adain_decoder_channels(dict, source));
  load_state_dict(*net, dict, source);
  net->to(device);
  net->eval();
  return net;
}

AdainDecoder load_adain_decoder(const std::string& path, c10::Device device) {
  return load_adain_decoder(load_weights(path), path, device);
}

}  // namespace impasto
