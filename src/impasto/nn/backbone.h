#pragma once
// Feature backbones, chosen by name, returning named feature maps.
//
//   vgg19, vgg16        torchvision's layout and keys (`features.N.weight`); ImageNet-normalised input
//   vgg19-normalised    the VGG19 of Gatys et al. / AdaIN (naoto0804/pytorch-AdaIN `vgg_normalised.pth`:
//                       a leading 1x1 conv, reflection padding, ceil-mode pooling); raw [0,1] input
//   random-multiscale   the default: a seeded random-weight network over an image pyramid; no file
//   inception           pytorch-fid's FID Inception-v3 (pt_inception-2015-12-05-6726825d.pth), for the
//                       metrics: pool3 features and 1008 logits; input resized to 299, [-1,1]
//
// Every backbone takes the canonical image (float32 NCHW RGB in [0,1]) and converts it to its own
// input range inside, at its boundary.
#include <torch/nn/module.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "impasto/core/json_options.h"
#include "impasto/core/registry.h"
#include "impasto/io/weights.h"
#include "impasto/nn/winograd.h"

namespace impasto {

using FeatureMaps = std::map<std::string, at::Tensor>;
using LayerWeights = std::vector<std::pair<std::string, double>>;

// Layer weights as JSON: written as {"relu1_1": 1.0, ...}; read from that, from
// ["relu1_1", "relu2_1:0.5", ...] or from [["relu1_1", 1.0], ...]. null reads as no layers.
// OptionError(option) for anything else.
Json layer_weights_to_json(const LayerWeights& layers);
LayerWeights layer_weights_from_json(const Json& json, const std::string& option);

struct BackboneOptions {
  std::string name = "random-multiscale";
  std::string weights;        // .pth or impasto checkpoint; required by the VGGs and inception
  std::string pooling = "max";  // max | avg (VGGs)
  uint64_t seed = 0;          // random-multiscale: the seed of its weights
};

// What a backbone recommends when the user does not say: layers, weights and loss normalisation
// that give a stylized picture with it.
struct StyleRecipe {
  LayerWeights content_layers;
  LayerWeights style_layers;
  double content_weight = 1;
  double style_weight = 1;
  double tv_weight = 0;
  std::string normalisation = "mse";  // see losses/losses.h
};

class BackboneImpl : public torch::nn::Module {
 public:
  // Names of every layer that can be tapped, in forward order.
  virtual const std::vector<std::string>& layers() const = 0;
  // Runs the network on a canonical image as far as the deepest requested tap and returns the
  // feature maps of the requested layers. Unknown names throw OptionError(option).
  virtual FeatureMaps extract(const at::Tensor& image, const std::set<std::string>& taps) = 0;
  virtual StyleRecipe recipe() const = 0;
  virtual std::string name() const = 0;

  // Throws OptionError(option) naming the layer and listing the valid ones.
  void check_layer(const std::string& layer, const std::string& option) const;

  // How extract()'s 3x3 convolutions ran: Winograd or LibTorch (tests, benchmarks).
  const FrozenConvs& convolutions() const { return convs_; }

 protected:
  // extract()'s 3x3 convolutions, through oneDNN's Winograd kernels where they apply (nn/winograd.h).
  FrozenConvs convs_;
};

using Backbone = std::shared_ptr<BackboneImpl>;

using BackboneRegistry = Registry<Backbone, const BackboneOptions&>;
BackboneRegistry& backbone_registry();  // filled with the built-ins on first use
Backbone make_backbone(const BackboneOptions& options);

// What a backbone offers, known without reading its weights: the layers it can tap (empty when only
// the loaded network knows them), its recipe, and whether it needs a weight file. Options are
// checked with this before anything is loaded (a service checks every request this way).
struct BackboneInfo {
  std::vector<std::string> layers;
  StyleRecipe recipe;
  bool needs_weights = true;
};
using BackboneInfoRegistry = Registry<BackboneInfo>;
BackboneInfoRegistry& backbone_info_registry();  // one entry per backbone_registry() entry
// OptionError("backbone") naming the valid backbones for an unknown name. Computed once per name.
const BackboneInfo& backbone_info(const std::string& name);
// OptionError(option) naming the layer and listing the valid ones, when the info knows its layers.
void check_backbone_layer(const std::string& backbone, const std::string& layer, const std::string& option);

// ImageNet mean/std normalisation of a canonical [0,1] RGB image (torchvision's convention).
at::Tensor imagenet_normalise(const at::Tensor& image);

// Copies `dict` into `module`'s parameters and buffers. Keys are mapped through `rename` first;
// keys starting with one of `ignored_prefixes` are skipped. Throws FormatError(source) naming the
// first missing key, unexpected key or shape mismatch.
void load_state_dict(torch::nn::Module& module, const StateDict& dict, const std::string& source,
                     const std::function<std::string(const std::string&)>& rename = nullptr,
                     const std::vector<std::string>& ignored_prefixes = {});

// The module's parameters and buffers as a StateDict (for checkpoints).
StateDict module_state_dict(const torch::nn::Module& module);

}  // namespace impasto
