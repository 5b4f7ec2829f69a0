#pragma once
// Arbitrary style transfer with adaptive instance normalisation (Huang & Belongie 2017, "Arbitrary
// Style Transfer in Real-time with Adaptive Instance Normalization"): the AdaIN operation and the
// decoder, laid out as naoto0804/pytorch-AdaIN's `net.py` builds them so that its `decoder.pth`
// loads key for key. The encoder is the `vgg19-normalised` backbone (nn/vgg.h) up to relu4_1.
//
// AdaIN(x, y) = sigma(y) * (x - mu(x)) / sigma(x) + mu(y), per sample and channel, with the
// reference's statistics: mu the mean over the spatial positions, sigma = sqrt(var + 1e-5) with the
// unbiased variance (divisor n - 1). The eps keeps a constant image (zero variance) finite: a
// constant content gives the style's mean, a constant style its mean with a std of sqrt(1e-5).
//
// The decoder (29 modules of one nn.Sequential; the keys are `N.weight`/`N.bias` by index):
//
//   0 pad  1 conv C->C/2     2 relu  3 up x2
//   4 pad  5 conv C/2->C/2   6 relu  7 pad  8 conv C/2->C/2  9 relu  10 pad 11 conv C/2->C/2 12 relu
//  13 pad 14 conv C/2->C/4  15 relu 16 up x2
//  17 pad 18 conv C/4->C/4  19 relu 20 pad 21 conv C/4->C/8  22 relu 23 up x2
//  24 pad 25 conv C/8->C/8  26 relu 27 pad 28 conv C/8->3
//
// with C = 512 in the published file, every pad a 1-pixel reflection pad, every conv 3x3 with bias,
// every upsampling nearest-neighbour, no activation after the last conv (the output is not clamped).
// C is read from the file (`1.weight`), so a file whose widths are all divided by one factor (as the
// test fixtures are) loads like the published one.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <string>

#include "impasto/io/weights.h"

namespace impasto {

class BackboneImpl;  // nn/backbone.h

// Per-channel mean and standard deviation of features [N,C,H,W], each [N,C,1,1].
struct ChannelStatistics {
  at::Tensor mean, std;
};

constexpr double kAdainEps = 1e-5;

// The reference's calc_mean_std: mean, sqrt(unbiased variance + eps). With a single position the
// variance is taken as 0 (the unbiased estimate is undefined there).
ChannelStatistics channel_statistics(const at::Tensor& features, double eps = kAdainEps);
// The same over the positions where `region` ([1,1,H,W] bool, N = 1) is true: the content statistics
// of one region for spatial control. An empty region gives mean 0 and std sqrt(eps).
ChannelStatistics channel_statistics(const at::Tensor& features, const at::Tensor& region, double eps = kAdainEps);

// (x - content.mean) / content.std * style.std + style.mean.
at::Tensor adaptive_instance_norm(const at::Tensor& content, const ChannelStatistics& content_stats,
                                  const ChannelStatistics& style_stats);
// AdaIN(content, style) with both statistics measured as above (the reference's function).
at::Tensor adaptive_instance_norm(const at::Tensor& content, const at::Tensor& style, double eps = kAdainEps);

class AdainDecoderImpl : public torch::nn::Module {
 public:
  // relu4_1-like features [N,C,h,w] -> image [N,3,8h,8w] in the decoder's range (the published
  // decoder's is [0,1], like its encoder's input), unclamped. h and w must be at least 2 (the
  // reflection pads need a side larger than the padding): OptionError("content") otherwise.
  virtual at::Tensor forward(const at::Tensor& features) = 0;
  virtual int64_t in_channels() const = 0;
};

using AdainDecoder = std::shared_ptr<AdainDecoderImpl>;

// The channels `encoder` gives at relu4_1, i.e. what an AdaIN decoder for it takes (one pass on a
// 16x16 image on the encoder's device).
int64_t relu4_1_width(BackboneImpl& encoder);

// OptionError when in_channels is not a positive multiple of 8.
AdainDecoder make_adain_decoder(int64_t in_channels = 512);

// True when the dict looks like an AdaIN decoder (a 4-d `1.weight` and a `28.weight` with 3 outputs).
bool is_adain_decoder(const StateDict& dict);
// C from `1.weight`; FormatError(source) naming the key (and its shape) when it is not a decoder.
int64_t infer_adain_decoder_channels(const StateDict& dict, const std::string& source);

// Builds the decoder for the dict's widths and copies it in, key for key: FormatError(source) naming
// the first missing key (with the shape the architecture expects), unexpected key or shape mismatch.
// Eval mode, on `device`.
AdainDecoder load_adain_decoder(const StateDict& dict, const std::string& source, c10::Device device = c10::kCPU);
AdainDecoder load_adain_decoder(const std::string& path, c10::Device device = c10::kCPU);

}  // namespace impasto
