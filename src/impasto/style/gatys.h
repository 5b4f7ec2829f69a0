#pragma once
// Style transfer by optimisation (Gatys, Ecker, Bethge 2015): minimise
//     content_weight * sum_l w_l L_content^l + style_weight * sum_l w_l L_style^l + tv_weight * L_tv
// over the output image, with the controls of jcjohnson/neural-style: per-layer weights, L-BFGS or
// Adam, init from content / noise / an image, several styles with blend weights, style scale,
// colour preservation (luminance-only transfer or colour histogram matching, Gatys et al. 2016),
// spatial masks (a style per region, or style only inside a region) and coarse-to-fine
// optimisation over several scales.
#include <c10/core/Device.h>

#include <map>
#include <optional>
#include <set>

#include "impasto/losses/losses.h"
#include "impasto/nn/backbone.h"
#include "impasto/style/method.h"

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
  // auto | fp32 | bf16. With bf16 (auto: on a CPU with native bf16), L-BFGS evaluates the objective
  // with a bf16 copy of the backbone (features, then Grams and losses in fp32) while that makes
  // progress, then goes on in fp32 from where it is: bf16's rounding stops the line search long
  // before the optimum, fp32 finishes. The targets are always computed in fp32. Adam runs in fp32.
  std::string precision = "auto";
  // Video (Ruder et al. 2016): frames after the first start from the previous result warped onto
  // them and add temporal_weight * temporal_loss (losses/temporal.h); they run frame_iterations
  // (at most `iterations`) at the output size only.
  double temporal_weight = 200;
  int64_t frame_iterations = 100;
};

void to_json(Json& json, const GatysOptions& options);
GatysOptions gatys_options_from_json(const Json& json);  // strict: unknown keys throw

// The options with the backbone's recipe filled in (every optional set) and every value checked,
// layer names included, without loading the backbone (nn/backbone.h backbone_info). OptionError
// naming the option; FileError for a weight file that does not exist.
GatysOptions resolve_gatys_options(GatysOptions options);

// Method "gatys" (its option schema and capabilities: gatys.cpp).
void register_gatys_method(MethodRegistry& registry);

// A gatys session: the backbone built once and, for the style set it was opened with, the style
// Grams of every output size it has met (unless preserve_colors recolours the styles per photo).
class GatysSession : public Session {
 public:
  // Builds the backbone (reads its weights) itself.
  explicit GatysSession(GatysOptions options, StyleSet styles = {});
  // With a backbone already built for options.backbone (shared, e.g. from a ResourceCache).
  // `reduced`: the same backbone in bf16 for the reduced-precision phase (made here when needed and
  // not given).
  GatysSession(GatysOptions options, StyleSet styles, Backbone backbone, Backbone reduced = nullptr);
  StylizeResult stylize(const Image& content, const StylizeHooks& hooks) override;
  void guide_next(const TemporalGuide& guide) override { guide_ = guide; }
  void reset() override { guide_ = TemporalGuide{}; }
  Json options() const override;
  // The resolved options and the backbone, for evaluating the objective outside stylize() (explain/).
  const GatysOptions& resolved_options() const { return options_; }
  const Backbone& backbone() const { return backbone_; }

 private:
  struct StyleCache;
  GatysOptions options_;
  StyleSet styles_;
  Backbone backbone_;
  Backbone reduced_backbone_;  // bf16 copy, when L-BFGS starts in bf16
  Json precision_report_;
  std::shared_ptr<StyleCache> cache_;
  TemporalGuide guide_;  // for the next stylize() only
};

// ---- The objective, as stylize() builds and minimises it (also used by explain/) -----------------
// With `o` resolved (GatysStylizer::resolved_options()) these give exactly the numbers of the
// StepRecords: the final level works at the output size, earlier levels at fractions of it.

// The images the optimisation compares with, at the output size: `content` (the resized content
// image), `content_work` (its grey luminance with preserve_colors = luminance, else the same) and
// the style images recoloured as preserve_colors says (histogram matching or matched luminance),
// still at their own sizes.
struct GatysWorkImages {
  at::Tensor content, content_work;
  std::vector<at::Tensor> styles;
};
GatysWorkImages gatys_work_images(const GatysOptions& o, const StylizeInputs& inputs, int64_t out_h, int64_t out_w,
                                  c10::Device device);

// Style Gram matrices of one image region (or of the whole image when `mask` is undefined).
struct GatysStyleGroup {
  at::Tensor mask;                         // [1,1,h,w] or undefined
  std::map<std::string, at::Tensor> grams;  // per style layer, per-location Grams [1,C,C]
};

// What one optimisation level compares against: the content features at the content layers, and
// the blended Grams of the unmasked styles (first group, weighted by their blend weights) followed by
// one group per masked style. Each style image is resized so that its longest side is
// style_scale times the level's (Grams are per location, so any size compares).
struct GatysTargets {
  FeatureMaps content;
  std::vector<GatysStyleGroup> groups;
};
GatysTargets gatys_targets(BackboneImpl& backbone, const GatysOptions& o, const at::Tensor& content_work,
                           const std::vector<StyleInput>& styles, const std::vector<at::Tensor>& style_work,
                           int64_t h, int64_t w);

// The weighted terms of alpha * content + beta * style + tv of `image` (whose features at
// gatys_taps(o) are `features`), each layer's entry its weighted share. Scalars that keep the
// autograd graph when `image` requires grad; tv is 0 (not part of `total`) when tv_weight is 0.
struct GatysTerms {
  at::Tensor total, content, style, tv;
  std::vector<std::pair<std::string, at::Tensor>> content_layers, style_layers;
};
GatysTerms gatys_terms(const FeatureMaps& features, const at::Tensor& image, const GatysTargets& targets,
                       const GatysOptions& o, LossNormalisation norm);

// Whether L-BFGS starts in bf16 (see GatysOptions::precision) with options `o` resolved, and why, as
// the summary's `precision` JSON (requested, used, reason, cpu_flags).
bool gatys_starts_in_bf16(const GatysOptions& o, Json* report = nullptr);

// The layers the objective taps: the content layers and the style layers.
std::set<std::string> gatys_taps(const GatysOptions& o);

}  // namespace impasto
