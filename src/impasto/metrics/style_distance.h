#pragma once
// Perceptual distances of one image to a style image and to a content image, through a backbone's
// feature maps: the two terms of Gatys, Ecker, Bethge 2015 ("A Neural Algorithm of Artistic Style"),
// measured instead of minimised.
//
// With F^l the features of the image at layer l (C_l channels), P^l those of the content image and
// A^ the per-location Gram of the style image's features (losses/losses.h: G^ = F F^T / M, M the
// number of locations, so the style image may have another size than the image):
//     style distance   D_s = sum_l w_l E_l,   E_l = style_loss(G^(F^l), A^l)   (Gatys et al. eq. 4-5)
//     content distance D_c = sum_l w_l L_l,   L_l = content_loss(F^l, P^l)      (Gatys et al. eq. 1)
// under the chosen normalisation (`gatys`, `mse` or `energy`, see losses/losses.h). The layers, their
// weights w_l and the normalisation default to the backbone's recipe (nn/backbone.h), so a distance
// measures what `impasto stylize` with the same backbone minimises. Per-layer values are reported
// with w_l applied (they add up to the total); the recipe's content_weight and style_weight (alpha
// and beta, which balance the two terms of an objective) are not applied: each distance stands alone.
// With `energy` (the default of random-multiscale) both are relative squared errors: 0 for identical
// features, about 1 when the image shares nothing with the target. Distances are comparable only
// for the same backbone, layers, normalisation and image sizes.
#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

#include "impasto/losses/losses.h"
#include "impasto/nn/backbone.h"

namespace impasto {

struct PerceptualDistanceOptions {
  LayerWeights style_layers;    // empty: the backbone recipe's style layers
  LayerWeights content_layers;  // empty: the recipe's content layers
  std::string normalisation;    // empty: the recipe's; else gatys | mse | energy
};

// The options with every empty field taken from the backbone's recipe, checked: unknown layers throw
// OptionError("style_layers"/"content_layers") listing the valid ones, a negative or non-finite
// weight OptionError naming the list, an unknown normalisation OptionError("normalisation").
PerceptualDistanceOptions resolve_distance_options(const BackboneImpl& backbone, PerceptualDistanceOptions options);

// A distance split by layer: per-layer values with the layer weights applied, and their sum.
struct LayerDistances {
  std::vector<std::pair<std::string, double>> layers;
  double total = 0;
};

// Per-location Gram matrices [1,C,C] of one image [1,3,H,W] at `layers`, without gradients, on the
// backbone's device: the targets of style_distance, computed once per style image (and size).
std::map<std::string, at::Tensor> style_grams(BackboneImpl& backbone, const at::Tensor& image, const LayerWeights& layers);

// From feature maps already extracted (so one forward pass serves both distances). `features` must
// hold every layer of `layers`, as must `target_grams` (from style_grams) / `content_features`.
LayerDistances style_distance(const FeatureMaps& features, const std::map<std::string, at::Tensor>& target_grams,
                              const LayerWeights& layers, LossNormalisation normalisation);
LayerDistances content_distance(const FeatureMaps& features, const FeatureMaps& content_features,
                                const LayerWeights& layers, LossNormalisation normalisation);

// Style distance of `image` to `style` (canonical [1,3,H,W] images in [0,1]; sizes may differ).
// `options` must be resolved (resolve_distance_options). OptionError("images") for other shapes.
LayerDistances style_distance(BackboneImpl& backbone, const at::Tensor& image, const at::Tensor& style,
                              const PerceptualDistanceOptions& options);

// Content distance of `image` to `content` (canonical [1,3,H,W] images of the same size; resize the
// content image first when it differs). OptionError("images") for other or different shapes.
LayerDistances content_distance(BackboneImpl& backbone, const at::Tensor& image, const at::Tensor& content,
                                const PerceptualDistanceOptions& options);

}  // namespace impasto
