#include "impasto/metrics/style_distance.h"

#include <torch/torch.h>

#include <cmath>
#include <set>

#include "impasto/core/error.h"

namespace impasto {
namespace {

void check_layers(const BackboneImpl& backbone, const LayerWeights& layers, const std::string& option) {
  if (layers.empty()) throw OptionError(option, "no layers (and the backbone " + backbone.name() + " recommends none)");
  for (const auto& [name, weight] : layers) {
    backbone.check_layer(name, option);
    if (!std::isfinite(weight) || weight < 0)
      throw OptionError(option, "weight of layer '" + name + "' must be a finite number >= 0 (got " +
                                    std::to_string(weight) + ")");
  }
}

void check_image(const at::Tensor& image, const char* what) {
  if (image.dim() != 4 || image.size(0) != 1 || image.size(1) != 3)
    throw OptionError("images", std::string(what) + " must be one canonical RGB image [1,3,H,W], got " +
                                    std::to_string(image.dim()) + " dimensions" +
                                    (image.dim() == 4 ? " of shape [" + std::to_string(image.size(0)) + "," +
                                                            std::to_string(image.size(1)) + ",...]"
                                                      : std::string()));
}

std::set<std::string> names_of(const LayerWeights& layers) {
  std::set<std::string> names;
  for (const auto& [name, weight] : layers) names.insert(name);
  return names;
}

FeatureMaps extract(BackboneImpl& backbone, const at::Tensor& image, const std::set<std::string>& taps) {
  torch::NoGradGuard no_grad;
  const auto params = backbone.parameters();
  const auto device = params.empty() ? torch::Device(torch::kCPU) : params.front().device();
  return backbone.extract(image.to(device, torch::kFloat32), taps);
}

const at::Tensor& layer_of(const std::map<std::string, at::Tensor>& maps, const std::string& name, const char* what) {
  const auto it = maps.find(name);
  TORCH_CHECK(it != maps.end(), what, " lack layer ", name);
  return it->second;
}

}  // namespace

PerceptualDistanceOptions resolve_distance_options(const BackboneImpl& backbone, PerceptualDistanceOptions o) {
  const StyleRecipe recipe = backbone.recipe();
  if (o.style_layers.empty()) o.style_layers = recipe.style_layers;
  if (o.content_layers.empty()) o.content_layers = recipe.content_layers;
  if (o.normalisation.empty()) o.normalisation = recipe.normalisation;
  parse_normalisation(o.normalisation);
  check_layers(backbone, o.style_layers, "style_layers");
  check_layers(backbone, o.content_layers, "content_layers");
  return o;
}

std::map<std::string, at::Tensor> style_grams(BackboneImpl& backbone, const at::Tensor& image, const LayerWeights& layers) {
  check_image(image, "the style image");
  const FeatureMaps maps = extract(backbone, image, names_of(layers));
  std::map<std::string, at::Tensor> grams;
  for (const auto& [name, weight] : layers) grams[name] = gram_matrix(maps.at(name));
  return grams;
}

LayerDistances style_distance(const FeatureMaps& features, const std::map<std::string, at::Tensor>& target_grams,
                              const LayerWeights& layers, LossNormalisation normalisation) {
  torch::NoGradGuard no_grad;
  LayerDistances d;
  for (const auto& [name, weight] : layers) {
    const at::Tensor gram = gram_matrix(layer_of(features, name, "the image's features"));
    const double value = weight * style_loss(gram, layer_of(target_grams, name, "the style Grams"), normalisation).item<double>();
    d.layers.emplace_back(name, value);
    d.total += value;
  }
  return d;
}

LayerDistances content_distance(const FeatureMaps& features, const FeatureMaps& content_features,
                                const LayerWeights& layers, LossNormalisation normalisation) {
  torch::NoGradGuard no_grad;
  LayerDistances d;
  for (const auto& [name, weight] : layers) {
    const at::Tensor& f = layer_of(features, name, "the image's features");
    const at::Tensor& p = layer_of(content_features, name, "the content features");
    TORCH_CHECK(f.sizes() == p.sizes(), "content_distance: feature maps of layer ", name, " differ in shape");
    const double value = weight * content_loss(f, p, normalisation).item<double>();
    d.layers.emplace_back(name, value);
    d.total += value;
  }
  return d;
}

LayerDistances style_distance(BackboneImpl& backbone, const at::Tensor& image, const at::Tensor& style,
                              const PerceptualDistanceOptions& options) {
  check_image(image, "the image");
  const auto targets = style_grams(backbone, style, options.style_layers);
  const FeatureMaps maps = extract(backbone, image, names_of(options.style_layers));
  return style_distance(maps, targets, options.style_layers, parse_normalisation(options.normalisation));
}

LayerDistances content_distance(BackboneImpl& backbone, const at::Tensor& image, const at::Tensor& content,
                                const PerceptualDistanceOptions& options) {
  check_image(image, "the image");
  check_image(content, "the content image");
  if (image.sizes() != content.sizes())
    throw OptionError("images", "the image (" + std::to_string(image.size(3)) + "x" + std::to_string(image.size(2)) +
                                    ") and the content image (" + std::to_string(content.size(3)) + "x" +
                                    std::to_string(content.size(2)) + ") must have the same size");
  const auto taps = names_of(options.content_layers);
  const FeatureMaps maps = extract(backbone, image, taps);
  const FeatureMaps targets = extract(backbone, content, taps);
  return content_distance(maps, targets, options.content_layers, parse_normalisation(options.normalisation));
}

}  // namespace impasto
