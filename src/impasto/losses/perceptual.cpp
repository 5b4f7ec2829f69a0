#include "impasto/losses/perceptual.h"

#include <torch/torch.h>

#include "impasto/core/error.h"

namespace impasto {

PerceptualWeights recipe_weights(const BackboneImpl& backbone) {
  const StyleRecipe r = backbone.recipe();
  PerceptualWeights w;
  w.content_layers = r.content_layers;
  w.style_layers = r.style_layers;
  w.content_weight = r.content_weight;
  w.style_weight = r.style_weight;
  w.tv_weight = r.tv_weight;
  w.normalisation = parse_normalisation(r.normalisation);
  return w;
}

PerceptualLoss::PerceptualLoss(Backbone backbone, PerceptualWeights weights)
    : backbone_(std::move(backbone)), weights_(std::move(weights)) {
  if (weights_.style_layers.empty()) throw OptionError("style_layers", "needs at least one layer");
  for (const auto& [name, w] : weights_.content_layers) {
    backbone_->check_layer(name, "content_layers");
    content_taps_.insert(name);
    all_taps_.insert(name);
  }
  for (const auto& [name, w] : weights_.style_layers) {
    backbone_->check_layer(name, "style_layers");
    all_taps_.insert(name);
  }
}

void PerceptualLoss::set_style(const at::Tensor& style_image) {
  torch::NoGradGuard no_grad;
  std::set<std::string> taps;
  for (const auto& [name, w] : weights_.style_layers) taps.insert(name);
  const FeatureMaps features = backbone_->extract(style_image, taps);
  style_grams_.clear();
  for (const auto& [name, f] : features) style_grams_[name] = gram_matrix(f);
}

FeatureMaps PerceptualLoss::content_targets(const at::Tensor& content) const {
  torch::NoGradGuard no_grad;
  if (content_taps_.empty()) return {};
  return backbone_->extract(content, content_taps_);
}

PerceptualTerms PerceptualLoss::operator()(const at::Tensor& output, const FeatureMaps& targets) const {
  if (style_grams_.empty()) throw Error("PerceptualLoss: set_style() must be called first");
  const FeatureMaps features = backbone_->extract(output, all_taps_);
  PerceptualTerms t;
  at::Tensor content = torch::zeros({}, output.options());
  for (const auto& [name, w] : weights_.content_layers) {
    const at::Tensor l = weights_.content_weight * w * content_loss(features.at(name), targets.at(name), weights_.normalisation);
    t.content_layers.emplace_back(name, l.item<double>());
    content = content + l;
  }
  at::Tensor style = torch::zeros({}, output.options());
  for (const auto& [name, w] : weights_.style_layers) {
    const at::Tensor& f = features.at(name);
    // One style for the whole batch: the target expanded, so that every normalisation sums over it.
    const at::Tensor target = style_grams_.at(name).expand({f.size(0), f.size(1), f.size(1)});
    const at::Tensor l = weights_.style_weight * w * fused_style_loss(f, target, weights_.normalisation);
    t.style_layers.emplace_back(name, l.item<double>());
    style = style + l;
  }
  t.total = content + style;
  if (weights_.tv_weight > 0) {
    const at::Tensor tv = weights_.tv_weight * tv_loss(output);
    t.tv = tv.item<double>();
    t.total = t.total + tv;
  }
  t.content = content.item<double>();
  t.style = style.item<double>();
  return t;
}

}  // namespace impasto
