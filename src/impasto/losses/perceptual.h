#pragma once
// The perceptual objective of feed-forward style transfer (Johnson, Alahi, Fei-Fei 2016,
// "Perceptual Losses for Real-Time Style Transfer and Super-Resolution"), batched: for a batch of
// outputs y with content images x and one style image s,
//     L = content_weight * sum_l w_l * content_loss(phi_l(y), phi_l(x))
//       + style_weight   * sum_l w_l * style_loss(Gram(phi_l(y)), Gram(phi_l(s)))
//       + tv_weight      * tv_loss(y)
// with the backbone's features phi_l, per-location Gram matrices and one of the normalisations of
// losses/losses.h. The style image's Grams are computed once (the style image may have any size:
// per-location Grams compare across sizes) and compared with every output of the batch; with the
// "energy" normalisation each term is a relative error averaged over the batch.
#include <ATen/core/Tensor.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "impasto/losses/losses.h"
#include "impasto/nn/backbone.h"

namespace impasto {

struct PerceptualWeights {
  LayerWeights content_layers, style_layers;
  double content_weight = 1, style_weight = 1, tv_weight = 0;
  LossNormalisation normalisation = LossNormalisation::energy;
};

// The backbone's recommendation (nn/backbone.h StyleRecipe) as weights.
PerceptualWeights recipe_weights(const BackboneImpl& backbone);

struct PerceptualTerms {
  at::Tensor total;                  // the weighted sum (differentiable)
  double content = 0, style = 0, tv = 0;  // the weighted terms
  std::vector<std::pair<std::string, double>> content_layers, style_layers;  // weighted, per layer
};

class PerceptualLoss {
 public:
  // Checks every layer name against the backbone (OptionError "content_layers"/"style_layers").
  PerceptualLoss(Backbone backbone, PerceptualWeights weights);

  // The style targets: Grams of `style_image` [1,3,H,W] at the style layers, without gradients.
  void set_style(const at::Tensor& style_image);
  // Content targets: features of `content` [N,3,H,W] at the content layers, without gradients.
  FeatureMaps content_targets(const at::Tensor& content) const;
  // The objective of `output` [N,3,H,W] against the content targets of its inputs.
  PerceptualTerms operator()(const at::Tensor& output, const FeatureMaps& content_targets) const;

  const PerceptualWeights& weights() const { return weights_; }
  const Backbone& backbone() const { return backbone_; }

 private:
  Backbone backbone_;
  PerceptualWeights weights_;
  std::set<std::string> content_taps_, all_taps_;
  std::map<std::string, at::Tensor> style_grams_;  // [1,C,C]
};

}  // namespace impasto
