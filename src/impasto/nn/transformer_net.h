#pragma once
// The feed-forward style transfer network of Johnson, Alahi, Fei-Fei 2016 ("Perceptual Losses for
// Real-Time Style Transfer and Super-Resolution", the residual network of its supplementary material)
// as pytorch/examples fast_neural_style/neural_style/transformer_net.py builds it: instance
// normalisation (Ulyanov et al. 2016) where the paper has batch norm, and nearest upsampling + conv
// where it has fractionally strided convs. Laid out exactly as that file, with its module names, so
// that the example's published `.pth` files (candy, mosaic, udnie, rain_princess) load key for key:
//
//   conv1    ConvLayer(3, w, 9)          reflection pad k/2, then `conv1.conv2d` (stride 1)
//   in1      InstanceNorm2d(w, affine)   then ReLU
//   conv2    ConvLayer(w, 2w, 3, s2)     in2, ReLU
//   conv3    ConvLayer(2w, 4w, 3, s2)    in3, ReLU                 <- feature "conv3"
//   res1..N  ResidualBlock(4w): x + in2(conv2(relu(in1(conv1(x)))))   <- features "res1".."resN"
//   deconv1  UpsampleConvLayer(4w, 2w, 3): nearest x2, reflection pad 1, `deconv1.conv2d`; in4, ReLU
//   deconv2  UpsampleConvLayer(2w, w, 3):  nearest x2, ...; in5, ReLU
//   deconv3  ConvLayer(w, 3, 9)          no activation, no clamp
//
// with w = 32 and N = 5 in the published nets. The network works on [0,255] images (the example
// multiplies ToTensor's [0,1] by 255 and clamps the output to [0,255] when saving). `forward` takes
// the canonical image (float32 NCHW RGB in [0,1]) and returns one of the same size in [0,1], converting
// with to_255_range / from_255_range; `forward_raw` is the reference forward on [0,255] input.
//
// Sizes: the two stride-2 convs and two x2 upsamplings give back the input size only when it is a
// multiple of 4 (a 50x70 input comes out 52x72 in the reference). `forward` therefore pads the image
// at the bottom and right to a multiple of 4 (and to at least 8) by reflection (by replication where
// the padding is not smaller than the side) and crops the result back; `forward_raw` does exactly
// what the reference does.
//
// Checkpoints: the published files were saved by PyTorch < 0.4 and carry `inN.running_mean` /
// `inN.running_var` for every InstanceNorm (also `resK.inN.*`); PyTorch >= 0.4 rejects them and the
// example's neural_style.py deletes keys matching `in\d+\.running_(mean|var)$` before loading. Those
// keys are ignored here too; any other unexpected, missing or mis-shaped key is a FormatError naming it.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "impasto/io/weights.h"
#include "impasto/nn/activations.h"

namespace impasto {

struct TransformerNetOptions {
  int64_t width = 32;           // channels after conv1; conv2 has 2x, conv3 and the blocks 4x
  int64_t residual_blocks = 5;  // res1..resN
};

class TransformerNetImpl : public torch::nn::Module {
 public:
  // Canonical image [N,3,H,W] in [0,1] -> stylized canonical image [N,3,H,W], clamped to [0,1].
  // Throws SourceError when the tensor is not [N,3,H,W].
  virtual at::Tensor forward(const at::Tensor& image) = 0;
  // The same, also returning the activations "conv3" (after relu(in3(conv3))) and "res1".."resN"
  // (after each residual block) of the padded image, at a quarter of its size.
  virtual at::Tensor forward_with_features(const at::Tensor& image, Activations& features) = 0;
  // The reference forward: [N,3,H,W] in [0,255] -> unclamped output, size as the reference gives it.
  // `features`, when given, receives the activations named above.
  virtual at::Tensor forward_raw(const at::Tensor& x255, Activations* features = nullptr) = 0;

  // Residual block k (1-based, as res1..resN) switched off: it passes its input through unchanged.
  // Throws OptionError("block") for k outside 1..N.
  virtual void set_block_enabled(int64_t block, bool enabled) = 0;
  virtual bool block_enabled(int64_t block) const = 0;

  virtual const TransformerNetOptions& options() const = 0;
};

using TransformerNet = std::shared_ptr<TransformerNetImpl>;

// Throws OptionError naming a non-positive width or a negative block count.
TransformerNet make_transformer_net(const TransformerNetOptions& options = {});

// True for the deprecated InstanceNorm keys of the published files (`in<digits>.running_mean|var`,
// at any depth), which loading ignores.
bool is_deprecated_instance_norm_key(const std::string& key);

// Width and number of residual blocks from a state dict's shapes (conv1.conv2d.weight, res<k>.*).
// FormatError(source) when it is not a TransformerNet state dict.
TransformerNetOptions infer_transformer_net_options(const StateDict& dict, const std::string& source);

// Copies a state dict into `net` under the rules above (deprecated keys ignored, anything else strict).
void load_transformer_net_weights(TransformerNetImpl& net, const StateDict& dict, const std::string& source);

// Reads a .pth (either torch.save format) or impasto checkpoint, infers the options, builds and loads
// the net, and returns it in eval mode on `device`. FileError when missing, FormatError when wrong.
TransformerNet load_transformer_net(const std::string& path, c10::Device device = c10::kCPU);
// The same from a state dict already read (`source` names it in errors).
TransformerNet load_transformer_net(const StateDict& dict, const std::string& source, c10::Device device = c10::kCPU);

// The [0,255] range of networks trained on 255-scaled images <-> the canonical [0,1] (clamped).
at::Tensor to_255_range(const at::Tensor& image);
at::Tensor from_255_range(const at::Tensor& x255);

}  // namespace impasto
