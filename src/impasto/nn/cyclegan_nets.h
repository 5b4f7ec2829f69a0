#pragma once
// The generators and discriminators of CycleGAN (Zhu, Park, Isola, Efros 2017) and pix2pix (Isola,
// Zhu, Zhou, Efros 2017), laid out as junyanz/pytorch-CycleGAN-and-pix2pix models/networks.py so that
// its checkpoints (`latest_net_G.pth`, `latest_net_D_A.pth`, ...: torch.save of the module's
// state_dict) load key for key. Chosen by the names CycleGAN users know:
//
//   resnet_9blocks, resnet_6blocks   ResnetGenerator (after Johnson et al. 2016), a Sequential `model`:
//        0 ReflectionPad2d(3), 1 Conv(in, ngf, 7), 2 norm, 3 ReLU,
//        4 Conv(ngf, 2ngf, 3, s2, p1), 5 norm, 6 ReLU, 7 Conv(2ngf, 4ngf, 3, s2, p1), 8 norm, 9 ReLU,
//        10 .. 9+n ResnetBlock(4ngf): x + conv_block(x), conv_block = ReflectionPad2d(1), Conv(3),
//           norm, ReLU, [Dropout(0.5)], ReflectionPad2d(1), Conv(3), norm  (keys model.K.conv_block.J.*),
//        then twice ConvTranspose(c, c/2, 3, s2, p1, output_padding 1), norm, ReLU,
//        and ReflectionPad2d(3), Conv(ngf, out, 7), Tanh  (model.(17+n).* is the last conv).
//        Generic: resnet_<n>blocks.
//   unet_256, unet_128   UnetGenerator with 8 / 7 down-samplings (a 256 / 128 image reaches 1x1), built
//        from nested UnetSkipConnectionBlocks, each a Sequential `model`; the outermost is
//        [Conv(in, ngf, 4, s2, p1), <block>, ReLU, ConvT(2ngf, out, 4, s2, p1), Tanh], the others
//        [LeakyReLU(0.2), Conv, norm, <block>, ReLU, ConvT, norm, (Dropout)] and the innermost
//        [LeakyReLU(0.2), Conv, ReLU, ConvT, norm], so the keys nest as model.model.1.model.3.model.3...
//        Widths ngf, 2ngf, 4ngf, then 8ngf for every deeper level. Every block but the outermost
//        returns cat(x', block(x)) with x' = LeakyReLU(0.2)(x): the reference's first LeakyReLU works
//        in place and so also rewrites the x that the skip connection concatenates (the ReLU that the
//        enclosing block applies next makes this invisible in the output). Generic: unet_<2^k>, k >= 5.
//   basic (= n_layers 3), n_layers   NLayerDiscriminator, the PatchGAN of pix2pix: Sequential `model` =
//        Conv(in, ndf, 4, s2, p1), LeakyReLU(0.2), then n_layers - 1 times Conv(4, s2, p1), norm,
//        LeakyReLU, then Conv(4, s1, p1), norm, LeakyReLU, Conv(., 1, 4, s1, p1); widths ndf * min(2^i, 8).
//        It returns one logit per patch (no sigmoid; the GAN loss takes logits), [N,1,h,w]; a basic
//        D's patches are 70x70 pixels.
//   pixel  PixelDiscriminator (1x1 PatchGAN): Sequential `net` = Conv(in, ndf, 1), LeakyReLU(0.2),
//        Conv(ndf, 2ndf, 1), norm, LeakyReLU(0.2), Conv(2ndf, 1, 1).
//
// Normalisation (`norm`): instance = InstanceNorm2d without affine parameters or running statistics
// (networks.py's get_norm_layer), batch = BatchNorm2d with both. A conv followed by a norm has a bias
// only with instance norm (networks.py's use_bias); the first and the last convs always have one
// (except the pixel discriminator's last).
//
// Ranges: the generators map [-1,1] to [-1,1] (tanh), as trained; `translate` takes and returns the
// canonical image ([0,1]) through to_gan_range / from_gan_range (nn/gan_model.h), and `patch_logits`
// feeds a canonical image to a discriminator.
//
// Checkpoints: the architecture (family, ngf/ndf, blocks or levels, norm, dropout of the ResNet blocks,
// channels) is inferred from the state dict. Keys must match one to one, except:
//   - `num_batches_tracked` of a batch norm may be missing (PyTorch's BatchNorm fills it in for
//     checkpoints older than PyTorch 0.4.1); anywhere else it is an unexpected key, as in PyTorch;
//   - `running_mean` / `running_var` of an instance norm are ignored: PyTorch < 0.4 saved them, and
//     PyTorch's InstanceNorm loader names them as such while networks.py's load_networks deletes them.
// Any other missing, unexpected or mis-shaped key is a FormatError naming it.
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

struct CycleGanGeneratorOptions {
  std::string arch = "resnet_9blocks";  // resnet_9blocks | resnet_6blocks | unet_256 | unet_128
  int64_t input_nc = 3;
  int64_t output_nc = 3;
  int64_t ngf = 64;               // channels of the first conv
  std::string norm = "instance";  // instance | batch
  bool dropout = false;           // Dropout(0.5) in the ResNet blocks / the inner U-Net levels
};

struct CycleGanDiscriminatorOptions {
  std::string arch = "basic";     // basic | n_layers | pixel
  int64_t input_nc = 3;
  int64_t ndf = 64;               // channels of the first conv
  int64_t n_layers = 3;           // stride-2 convs of `n_layers` (basic is 3)
  std::string norm = "instance";  // instance | batch
};

class CycleGanGeneratorImpl : public torch::nn::Module {
 public:
  // The reference forward: [N,input_nc,H,W] in [-1,1] -> [N,output_nc,H',W'] in [-1,1]. H' = H for
  // a ResNet G when H is a multiple of 4; a U-Net needs multiples of 2^levels (see translate).
  virtual at::Tensor forward(const at::Tensor& x) = 0;
  // The same, also returning named activations: a ResNet G gives "down" (entering the first block)
  // and "block1".."blockN" (each block's output); a U-Net gives none.
  virtual at::Tensor forward_with_features(const at::Tensor& x, Activations& features) = 0;
  // translate pads the image to a multiple of this, and to at least min_side(), per side.
  virtual int64_t size_multiple() const = 0;
  virtual int64_t min_side() const = 0;
  virtual const CycleGanGeneratorOptions& options() const = 0;
};

class ResnetGeneratorImpl : public CycleGanGeneratorImpl {
 public:
  virtual int64_t num_blocks() const = 0;
  // Residual block k (1-based, as the feature names) switched off: it passes its input through, as if
  // its residual branch were zero. Throws OptionError("block") for k outside 1..N.
  virtual void set_block_enabled(int64_t block, bool enabled) = 0;
  virtual bool block_enabled(int64_t block) const = 0;
};

class CycleGanDiscriminatorImpl : public torch::nn::Module {
 public:
  // [N,input_nc,H,W] in [-1,1] -> per-patch logits [N,1,h,w] (h = w = 1 only for small inputs).
  virtual at::Tensor forward(const at::Tensor& x) = 0;
  // Side in pixels of the input patch that one output logit sees (70 for basic, 1 for pixel).
  virtual int64_t receptive_field() const = 0;
  virtual const CycleGanDiscriminatorOptions& options() const = 0;
};

using CycleGanGenerator = std::shared_ptr<CycleGanGeneratorImpl>;
using CycleGanDiscriminator = std::shared_ptr<CycleGanDiscriminatorImpl>;

// Throw OptionError naming the bad option (an unknown arch lists the valid names).
CycleGanGenerator make_cyclegan_generator(const CycleGanGeneratorOptions& options);
CycleGanDiscriminator make_cyclegan_discriminator(const CycleGanDiscriminatorOptions& options);
std::vector<std::string> cyclegan_generator_names();      // the named ones (generic forms in the header)
std::vector<std::string> cyclegan_discriminator_names();

// Canonical image [N,input_nc,H,W] in [0,1] -> G's output as a canonical image [N,output_nc,H,W].
// The image is padded at the bottom and right to G's size multiple (by reflection when the padding is
// smaller than the side, else by replication) and the output cropped back, so any size works.
// `features`, when given, receives forward_with_features's activations (of the padded image).
// SourceError when the tensor is not [N,input_nc,H,W].
at::Tensor translate(CycleGanGeneratorImpl& generator, const at::Tensor& image, Activations* features = nullptr);
// Canonical image -> the discriminator's per-patch logits.
at::Tensor patch_logits(CycleGanDiscriminatorImpl& discriminator, const at::Tensor& image);

// The options a state dict was saved with (see above). FormatError(source) naming what is missing
// when it is not one of these networks.
CycleGanGeneratorOptions infer_cyclegan_generator_options(const StateDict& dict, const std::string& source);
CycleGanDiscriminatorOptions infer_cyclegan_discriminator_options(const StateDict& dict, const std::string& source);

// Copies a state dict into a network built by make_cyclegan_* under the key rules above.
void load_cyclegan_weights(torch::nn::Module& net, const StateDict& dict, const std::string& source);

// Reads a checkpoint (.pth in either torch.save format, or an impasto checkpoint), infers the
// architecture, builds and loads it; eval mode, on `device`. FileError / FormatError.
// (pix2pix's test.py keeps batch norm and dropout in train mode unless --eval; call train() for that.)
CycleGanGenerator load_cyclegan_generator(const std::string& path, c10::Device device = c10::kCPU);
// The same from a state dict already read (`source` names it in errors).
CycleGanGenerator load_cyclegan_generator(const StateDict& dict, const std::string& source, c10::Device device = c10::kCPU);
CycleGanDiscriminator load_cyclegan_discriminator(const std::string& path, c10::Device device = c10::kCPU);

}  // namespace impasto
