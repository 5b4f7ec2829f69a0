#pragma once
// Style transfer by optimisation (Gatys, Ecker, Bethge 2015): minimise
//     content_weight * sum_l w_l L_content^l + style_weight * sum_l w_l L_style^l + tv_weight * L_tv
// over the output image, with the controls of jcjohnson/neural-style: per-layer weights, L-BFGS or
// Adam, init from content / noise / an image, several styles with blend weights, style scale,
// colour preservation (luminance-only transfer or colour histogram matching, Gatys et al. 2016),
// spatial masks (a style per region, or style only inside a region) and coarse-to-fine
// optimisation over several scales.
#include <optional>

#include "impasto/losses/losses.h"
#include "impasto/nn/backbone.h"
#include "impasto/style/stylizer.h"

namespace impasto {

struct GatysOptions {
  BackboneOptions backbone;
  // Unset values and empty layer lists take the backbone's recipe (see nn/backbone.h).
  std::optional<std::string> normalisation;
  std::optional<double> content_weight, style_weight, tv_weight;
  LayerWeights content_layers, style_layers;

  std::string optimizer = "lbfgs";  // lbfgs | adam
  int64_t iterations = 300;          // per scale
  double learning_rate = 0;          // 0 = the optimizer's default (L-BFGS 1, Adam 0.02)
  int64_t lbfgs_history = 100;
  std::string init = "content";      // content | noise | image
  uint64_t seed = 0;

  int64_t image_size = 512;  // longest side of the output; 0 = the content image's size
  double style_scale = 1.0;  // style image's longest side relative to the output's
  std::string preserve_colors = "none";  // none | luminance | histogram
  int64_t scales = 1;        // coarse-to-fine levels, each twice the size of the previous
  std::string device = "auto";
};

void to_json(Json& json, const GatysOptions& options);
GatysOptions gatys_options_from_json(const Json& json);  // strict: unknown keys throw

class GatysStylizer : public Stylizer {
 public:
  explicit GatysStylizer(GatysOptions options);
  StylizeResult stylize(const StylizeInputs& inputs, const StylizeHooks& hooks) override;
  Json options() const override;

 private:
  GatysOptions options_;
  Backbone backbone_;  // built (weights loaded) once, in the constructor
};

}  // namespace impasto
