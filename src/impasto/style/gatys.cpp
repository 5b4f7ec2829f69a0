#include "impasto/style/gatys.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>

#include "impasto/core/cpu_features.h"
#include "impasto/core/runtime.h"
#include "impasto/io/image_ops.h"
#include "impasto/losses/temporal.h"
#include "impasto/nn/precision.h"
#include "impasto/style/color.h"
#include "impasto/nn/winograd.h"
#include "impasto/style/lbfgs.h"
#include "impasto/style/masks.h"
#include "impasto/style/precision_choice.h"

namespace impasto {
namespace {

// L-BFGS leaves bf16 when a step lowers the loss by less than this fraction (see stylize()).
// Measured on Tübingen x Starry Night at 256 px (bench/time_to_quality.py): 1e-3, 3e-4, 1e-4 and 0
// leave bf16 at steps 106, 132, 153, 179 of random-multiscale and reach PyTorch's 300-step loss at
// 39.6, 37.1, 39.5, 40.8 s; bf16 steps progress less than fp32 ones, so a longer bf16 phase costs
// steps in the fp32 one.
constexpr double kBf16MinProgress = 3e-4;

void check_weight(double w, const std::string& option) {
  if (!std::isfinite(w) || w < 0) throw OptionError(option, "must be a finite number >= 0 (got " + std::to_string(w) + ")");
}

void check_one_of(const std::string& value, std::initializer_list<const char*> valid, const std::string& option) {
  std::string list;
  for (const char* v : valid) {
    if (value == v) return;
    list += (list.empty() ? "" : ", ") + std::string(v);
  }
  throw OptionError(option, "unknown value '" + value + "'; valid: " + list);
}

}  // namespace

void to_json(Json& j, const GatysOptions& o) {
  j = Json{{"backbone", o.backbone.name},
           {"weights", o.backbone.weights},
           {"pooling", o.backbone.pooling},
           {"backbone_seed", o.backbone.seed},
           {"optimizer", o.optimizer},
           {"iterations", o.iterations},
           {"learning_rate", o.learning_rate},
           {"lbfgs_history", o.lbfgs_history},
           {"init", o.init},
           {"seed", o.seed},
           {"image_size", o.image_size},
           {"style_scale", o.style_scale},
           {"preserve_colors", o.preserve_colors},
           {"scales", o.scales},
           {"device", o.device},
           {"precision", o.precision},
           {"temporal_weight", o.temporal_weight},
           {"frame_iterations", o.frame_iterations},
           {"content_layers", layer_weights_to_json(o.content_layers)},
           {"style_layers", layer_weights_to_json(o.style_layers)}};
  j["normalisation"] = o.normalisation ? Json(*o.normalisation) : Json();
  j["content_weight"] = o.content_weight ? Json(*o.content_weight) : Json();
  j["style_weight"] = o.style_weight ? Json(*o.style_weight) : Json();
  j["tv_weight"] = o.tv_weight ? Json(*o.tv_weight) : Json();
}

GatysOptions gatys_options_from_json(const Json& j) {
  GatysOptions o;
  JsonReader r(j);
  r.get("backbone", o.backbone.name).get("weights", o.backbone.weights).get("pooling", o.backbone.pooling);
  r.get("backbone_seed", o.backbone.seed);
  r.get("optimizer", o.optimizer).get("iterations", o.iterations).get("learning_rate", o.learning_rate);
  r.get("lbfgs_history", o.lbfgs_history).get("init", o.init).get("seed", o.seed);
  r.get("image_size", o.image_size).get("style_scale", o.style_scale).get("preserve_colors", o.preserve_colors);
  r.get("scales", o.scales).get("device", o.device).get("precision", o.precision);
  r.get("temporal_weight", o.temporal_weight).get("frame_iterations", o.frame_iterations);
  auto optional_number = [&](const char* key, std::optional<double>& out) {
    double v = 0;
    if (j.contains(key) && !j[key].is_null()) {
      r.get(key, v);
      out = v;
    } else {
      r.get(key, v);  // marks the key as known
    }
  };
  optional_number("content_weight", o.content_weight);
  optional_number("style_weight", o.style_weight);
  optional_number("tv_weight", o.tv_weight);
  std::string norm;
  r.get("normalisation", norm);
  if (!norm.empty()) o.normalisation = norm;
  Json layers;
  r.get("content_layers", layers);
  o.content_layers = layer_weights_from_json(layers, "content_layers");
  layers = Json();
  r.get("style_layers", layers);
  o.style_layers = layer_weights_from_json(layers, "style_layers");
  r.reject_unknown();
  return o;
}

GatysOptions resolve_gatys_options(GatysOptions o) {
  check_one_of(o.optimizer, {"lbfgs", "adam"}, "optimizer");
  check_one_of(o.init, {"content", "noise", "image"}, "init");
  check_one_of(o.preserve_colors, {"none", "luminance", "histogram"}, "preserve_colors");
  if (o.iterations < 0) throw OptionError("iterations", "must be >= 0");
  if (!(o.learning_rate >= 0)) throw OptionError("learning_rate", "must be >= 0 (0 = optimizer default)");
  if (o.lbfgs_history < 1) throw OptionError("lbfgs_history", "must be >= 1");
  if (o.image_size < 0 || o.image_size > 16384) throw OptionError("image_size", "must be in 0..16384 (0 = content size)");
  if (!(o.style_scale > 0 && o.style_scale <= 16)) throw OptionError("style_scale", "must be in (0, 16]");
  if (o.scales < 1 || o.scales > 8) throw OptionError("scales", "must be in 1..8");
  if (!(o.temporal_weight >= 0)) throw OptionError("temporal_weight", "must be >= 0");
  if (o.frame_iterations < 1) throw OptionError("frame_iterations", "must be >= 1");
  if (o.backbone.pooling != "max" && o.backbone.pooling != "avg")
    throw OptionError("pooling", "unknown pooling '" + o.backbone.pooling + "'; valid: avg, max");
  // Defaults from the backbone's recipe; every name and weight checked now, before any image is
  // read or any weight file loaded: a typo fails fast and costs nothing.
  check_precision_option(o.precision, resolve_device(o.device));  // also names an unknown precision
  const BackboneInfo& info = backbone_info(o.backbone.name);
  if (info.needs_weights && o.backbone.weights.empty())
    throw OptionError("weights", "backbone " + o.backbone.name + " needs a weight file (--weights FILE: torchvision .pth, or an "
                                 "impasto checkpoint from `impasto weights import`); see README 'Pretrained weights'");
  if (!info.needs_weights && !o.backbone.weights.empty())
    throw OptionError("weights", "backbone " + o.backbone.name + " is generated from --backbone-seed and takes no weight file");
  if (!o.backbone.weights.empty() && !std::filesystem::exists(o.backbone.weights))
    throw FileError(o.backbone.weights, "weight file of backbone " + o.backbone.name + " not found");
  const StyleRecipe& recipe = info.recipe;
  if (!o.normalisation) o.normalisation = recipe.normalisation;
  parse_normalisation(*o.normalisation);
  if (!o.content_weight) o.content_weight = recipe.content_weight;
  if (!o.style_weight) o.style_weight = recipe.style_weight;
  if (!o.tv_weight) o.tv_weight = recipe.tv_weight;
  if (o.content_layers.empty()) o.content_layers = recipe.content_layers;
  if (o.style_layers.empty()) o.style_layers = recipe.style_layers;
  check_weight(*o.content_weight, "content_weight");
  check_weight(*o.style_weight, "style_weight");
  check_weight(*o.tv_weight, "tv_weight");
  for (const auto& [name, w] : o.content_layers) {
    check_backbone_layer(o.backbone.name, name, "content_layers");
    check_weight(w, "content_layers");
  }
  for (const auto& [name, w] : o.style_layers) {
    check_backbone_layer(o.backbone.name, name, "style_layers");
    check_weight(w, "style_layers");
  }
  return o;
}

// Style Grams per output size, for a session whose styles do not depend on the photo.
struct GatysSession::StyleCache {
  std::mutex mutex;
  std::map<std::pair<int64_t, int64_t>, std::vector<GatysStyleGroup>> groups;
};

namespace {

// The backbone `options` names, on `device`, in `precision` (bf16: the reduced-precision phase's copy).
Backbone build_backbone(const BackboneOptions& options, c10::Device device, Precision precision) {
  Backbone built = make_backbone(options);
  built->to(device);
  if (precision != Precision::fp32) set_precision(*built, precision);
  return built;
}

}  // namespace

bool gatys_starts_in_bf16(const GatysOptions& o, Json* report) {
  const c10::Device device = resolve_device(o.device);
  auto decide = [&](bool bf16, const std::string& reason) {
    if (report)
      *report = Json{{"requested", o.precision}, {"used", bf16 ? "bf16, then fp32" : "fp32"}, {"reason", reason},
                     {"cpu_flags", cpu_features().flags()}};
    return bf16;
  };
  if (o.precision == "fp32") return decide(false, "requested");
  if (o.optimizer != "lbfgs") return decide(false, "adam runs in fp32");
  if (o.precision == "bf16") return decide(true, "requested");
  if (!device.is_cpu()) return decide(false, "auto keeps fp32 off the CPU");
  if (!cpu_features().native_bf16()) return decide(false, "this CPU has no native bf16");
  return decide(true, "native bf16: L-BFGS evaluates in bf16 while that makes progress, then in fp32");
}

GatysSession::GatysSession(GatysOptions options, StyleSet styles)
    : GatysSession(resolve_gatys_options(options), std::move(styles), nullptr) {}

GatysSession::GatysSession(GatysOptions options, StyleSet styles, Backbone backbone, Backbone reduced)
    : options_(resolve_gatys_options(std::move(options))),
      styles_(std::move(styles)),
      backbone_(std::move(backbone)),
      reduced_backbone_(std::move(reduced)),
      cache_(std::make_shared<StyleCache>()) {
  const c10::Device device = resolve_device(options_.device);
  if (!backbone_) backbone_ = build_backbone(options_.backbone, device, Precision::fp32);
  if (!gatys_starts_in_bf16(options_, &precision_report_))
    reduced_backbone_ = nullptr;
  else if (!reduced_backbone_)
    reduced_backbone_ = build_backbone(options_.backbone, device, Precision::bf16);
  // The loaded network knows layers its info could not name (inception).
  for (const auto& [name, w] : options_.content_layers) backbone_->check_layer(name, "content_layers");
  for (const auto& [name, w] : options_.style_layers) backbone_->check_layer(name, "style_layers");
}

Json GatysSession::options() const {
  Json j;
  to_json(j, options_);
  return j;
}

namespace {

std::set<std::string> names_of(const LayerWeights& layers) {
  std::set<std::string> names;
  for (const auto& [name, w] : layers) names.insert(name);
  return names;
}

}  // namespace

std::set<std::string> gatys_taps(const GatysOptions& o) {
  std::set<std::string> taps = names_of(o.content_layers);
  for (const auto& name : names_of(o.style_layers)) taps.insert(name);
  return taps;
}

GatysWorkImages gatys_work_images(const GatysOptions& o, const StylizeInputs& inputs, int64_t out_h, int64_t out_w,
                                  c10::Device device) {
  torch::NoGradGuard no_grad;
  GatysWorkImages w;
  w.content = resize_image(inputs.content.rgb.to(device, torch::kFloat32), out_h, out_w);
  const bool luminance = o.preserve_colors == "luminance";
  w.content_work = luminance ? grey_luminance(w.content) : w.content;
  for (const auto& s : inputs.styles) {
    at::Tensor img = s.image.to(device, torch::kFloat32);
    if (o.preserve_colors == "histogram") img = match_color_statistics(img, w.content);
    if (luminance) img = matched_luminance(img, w.content);
    w.styles.push_back(img);
  }
  return w;
}

namespace {

// The style groups of GatysTargets at one level's size.
std::vector<GatysStyleGroup> style_groups(BackboneImpl& backbone, const GatysOptions& o, const std::vector<StyleInput>& styles,
                                          const std::vector<at::Tensor>& style_images, int64_t h, int64_t w, c10::Device device) {
  torch::NoGradGuard no_grad;
  std::vector<GatysStyleGroup> groups;
  double unmasked_weight = 0;
  for (const auto& s : styles)
    if (!s.mask.defined()) unmasked_weight += s.weight;
  GatysStyleGroup blended;
  for (size_t i = 0; i < styles.size(); ++i) {
    const int64_t longest = std::max<int64_t>(16, std::llround(std::max(h, w) * o.style_scale));
    const auto [sh, sw] = fit_longest_side(style_images[i].size(2), style_images[i].size(3), longest);
    const FeatureMaps features = backbone.extract(resize_image(style_images[i], sh, sw), names_of(o.style_layers));
    if (styles[i].mask.defined()) {
      GatysStyleGroup g;
      g.mask = resize_image(styles[i].mask.to(device, torch::kFloat32), h, w);
      for (const auto& [name, f] : features) g.grams[name] = gram_matrix(f);
      groups.push_back(std::move(g));
    } else {
      for (const auto& [name, f] : features) {
        auto gram = gram_matrix(f) * (styles[i].weight / unmasked_weight);
        auto& sum = blended.grams[name];
        sum = sum.defined() ? sum + gram : gram;
      }
    }
  }
  if (!blended.grams.empty()) groups.insert(groups.begin(), std::move(blended));
  return groups;
}

}  // namespace

GatysTargets gatys_targets(BackboneImpl& backbone, const GatysOptions& o, const at::Tensor& content,
                           const std::vector<StyleInput>& styles, const std::vector<at::Tensor>& style_images,
                           int64_t h, int64_t w) {
  torch::NoGradGuard no_grad;
  GatysTargets t;
  t.content = backbone.extract(resize_image(content, h, w), names_of(o.content_layers));
  t.groups = style_groups(backbone, o, styles, style_images, h, w, content.device());
  return t;
}

GatysTerms gatys_terms(const FeatureMaps& features, const at::Tensor& image, const GatysTargets& targets,
                       const GatysOptions& o, LossNormalisation norm) {
  GatysTerms terms;
  terms.content = torch::zeros({}, image.options());
  for (const auto& [name, layer_weight] : o.content_layers) {
    const at::Tensor f = features.at(name).to(torch::kFloat32);  // a bf16 backbone's features in float32
    auto l = *o.content_weight * layer_weight * content_loss(f, targets.content.at(name), norm);
    terms.content_layers.emplace_back(name, l);
    terms.content = terms.content + l;
  }
  terms.style = torch::zeros({}, image.options());
  for (const auto& [name, layer_weight] : o.style_layers) {
    const auto& f = features.at(name);
    at::Tensor l = torch::zeros({}, image.options());
    for (const auto& g : targets.groups) {
      if (!g.mask.defined()) {  // bf16 features too: their Gram is summed in float32
        l = l + fused_style_loss(f, g.grams.at(name), norm);
        continue;
      }
      const at::Tensor mask = torch::adaptive_avg_pool2d(g.mask, {f.size(2), f.size(3)});
      l = l + style_loss(gram_matrix(f.to(torch::kFloat32), mask), g.grams.at(name), norm);
    }
    l = *o.style_weight * layer_weight * l;
    terms.style_layers.emplace_back(name, l);
    terms.style = terms.style + l;
  }
  terms.total = terms.content + terms.style;
  terms.tv = torch::zeros({}, image.options());
  if (*o.tv_weight > 0) {
    terms.tv = *o.tv_weight * tv_loss(image);
    terms.total = terms.total + terms.tv;
  }
  return terms;
}

namespace {

// The objective of `image` as a tensor, its numbers into `record`.
at::Tensor weighted_loss(const FeatureMaps& features, const at::Tensor& image, const GatysTargets& targets,
                         const GatysOptions& o, LossNormalisation norm, StepRecord& record) {
  const GatysTerms terms = gatys_terms(features, image, targets, o, norm);
  for (const auto& [name, l] : terms.content_layers) record.content_layers.emplace_back(name, l.item<double>());
  for (const auto& [name, l] : terms.style_layers) record.style_layers.emplace_back(name, l.item<double>());
  record.content = terms.content.item<double>();
  record.style = terms.style.item<double>();
  record.tv = terms.tv.item<double>();
  record.total = terms.total.item<double>();
  return terms.total;
}

}  // namespace

StylizeResult GatysSession::stylize(const Image& content, const StylizeHooks& hooks) {
  const StylizeInputs inputs{content, styles_.styles, styles_.init};
  const GatysOptions& o = options_;
  const auto device = resolve_device(o.device);
  const auto norm = parse_normalisation(*o.normalisation);
  if (!inputs.content.rgb.defined()) throw OptionError("content", "no content image given");
  if (inputs.styles.empty()) throw OptionError("style", "no style image given; stylize needs at least one");
  if (o.init == "image" && !inputs.init.defined()) throw OptionError("init_image", "init = image needs an init image");

  const int64_t src_h = inputs.content.height(), src_w = inputs.content.width();
  const StyleBlend blend = check_style_blend(inputs.styles, src_h, src_w);

  const auto [out_h, out_w] = o.image_size == 0 ? std::make_pair(src_h, src_w) : fit_longest_side(src_h, src_w, o.image_size);
  const int64_t coarse_factor = int64_t{1} << (o.scales - 1);
  if (std::min(out_h, out_w) / coarse_factor < 16)
    throw OptionError("scales", "the coarsest level would be " + std::to_string(out_w / coarse_factor) + "x" +
                                    std::to_string(out_h / coarse_factor) + " pixels; use fewer scales or a larger image_size (>= 16 px per side)");

  Backbone& backbone = backbone_;

  const std::set<std::string> taps = gatys_taps(o);

  torch::NoGradGuard outer_no_grad;
  const bool luminance = o.preserve_colors == "luminance";
  const GatysWorkImages work = gatys_work_images(o, inputs, out_h, out_w, device);
  const at::Tensor& content_full = work.content;
  const at::Tensor& content_work = work.content_work;
  const std::vector<at::Tensor>& style_work = work.styles;

  // Start image at full output size.
  at::Tensor init;
  if (o.init == "content") {
    init = content_work;
  } else if (o.init == "noise") {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
    init = at::rand({1, 3, out_h, out_w}, gen, torch::kFloat32).to(device);
  } else {
    init = resize_image(inputs.init.to(device, torch::kFloat32), out_h, out_w);
    if (luminance) init = grey_luminance(init);
  }

  // A video frame after the first: start from the previous result warped onto this frame, at the
  // output size only (coarse levels would blur what it carries), and keep to it where reliable.
  TemporalGuide guide = std::move(guide_);
  guide_ = TemporalGuide{};
  const bool guided = guide.previous.defined() && guide.previous.size(2) == out_h && guide.previous.size(3) == out_w;
  if (guide.previous.defined() && !guided)
    hooks.callbacks.warn("the previous frame's result has another size; this frame starts afresh");
  at::Tensor guide_previous, guide_reliability;
  if (guided) {
    guide_previous = guide.previous.to(device, torch::kFloat32);
    guide_reliability = guide.reliability.defined() ? guide.reliability.to(device, torch::kFloat32)
                                                    : at::ones({1, 1, out_h, out_w}, guide_previous.options());
    init = luminance ? grey_luminance(guide_previous) : guide_previous;
  }
  const int first_level = guided ? o.scales - 1 : 0;
  const int64_t iterations = guided ? std::min(o.iterations, o.frame_iterations) : o.iterations;

  at::Tensor current = init;
  StepRecord last;
  int64_t evaluations = 0;  // of the objective, over all levels (L-BFGS's line search may take several a step)
  Json fp32_from = Json::array();  // where each level left bf16 (GatysOptions::precision)
  const auto t_start = std::chrono::steady_clock::now();
  bool stopped = false;

  for (int level = first_level; level < o.scales && !stopped; ++level) {
    const int64_t factor = int64_t{1} << (o.scales - 1 - level);
    const int64_t h = std::max<int64_t>(1, std::llround(static_cast<double>(out_h) / factor));
    const int64_t w = std::max<int64_t>(1, std::llround(static_cast<double>(out_w) / factor));

    // The style Grams at this size are the session's when the styles do not depend on the photo.
    GatysTargets targets;
    if (o.preserve_colors == "none") {
      {
        torch::NoGradGuard no_grad;
        targets.content = backbone->extract(resize_image(content_work, h, w), names_of(o.content_layers));
      }
      std::lock_guard<std::mutex> lock(cache_->mutex);
      auto& groups = cache_->groups[{h, w}];
      if (groups.empty()) groups = style_groups(*backbone, o, inputs.styles, style_work, h, w, device);
      targets.groups = groups;
    } else {
      targets = gatys_targets(*backbone, o, content_work, inputs.styles, style_work, h, w);
    }
    at::Tensor x = resize_image(current, h, w).clone().set_requires_grad(true);
    const bool lbfgs = o.optimizer == "lbfgs";
    bool reduced = reduced_backbone_ != nullptr;  // this level starts in bf16
    double previous_loss = 0;
    StepRecord record;
    // The objective at x: its value, its gradient in x.grad(), its numbers in `record`.
    auto evaluate = [&]() -> at::Tensor {
      torch::AutoGradMode grad_mode(true);
      if (x.grad().defined()) x.mutable_grad().zero_();
      record = StepRecord{};
      record.scale = level;
      record.height = h;
      record.width = w;
      // The bf16 copy's features are bf16 channels-last: the losses read them as they lie (gatys_terms).
      const FeatureMaps features = (reduced ? reduced_backbone_ : backbone)->extract(x, taps);
      at::Tensor total = weighted_loss(features, x, targets, o, norm, record);
      if (guided && o.temporal_weight > 0) {
        const at::Tensor target = luminance ? grey_luminance(guide_previous) : guide_previous;
        const at::Tensor temporal = o.temporal_weight * temporal_loss(x, target, guide_reliability);
        record.temporal = temporal.item<double>();
        record.total += record.temporal;
        total = total + temporal;
      }
      total.backward();
      return total;
    };
    std::unique_ptr<torch::optim::Adam> adam;
    std::unique_ptr<ImageLbfgs> lbfgs_optimizer;
    // L-BFGS evaluates the objective at trial points too: the record reported is the accepted one's.
    std::map<int64_t, StepRecord> records_by_evaluation;
    if (lbfgs) {
      ImageLbfgs::Options lbfgs_options;
      lbfgs_options.history = o.lbfgs_history;
      if (o.learning_rate > 0) lbfgs_options.trial_step = o.learning_rate;
      int64_t evaluation = 0;
      lbfgs_optimizer = std::make_unique<ImageLbfgs>(
          x,
          [&, evaluation](const at::Tensor&, at::Tensor& grad) mutable {
            const double loss = evaluate().item<double>();
            grad.copy_(x.grad());
            records_by_evaluation[++evaluation] = record;
            return loss;
          },
          lbfgs_options);
    } else {
      adam = std::make_unique<torch::optim::Adam>(std::vector<at::Tensor>{x},
                                                  torch::optim::AdamOptions(o.learning_rate > 0 ? o.learning_rate : 0.02));
    }

    const auto t_level = std::chrono::steady_clock::now();
    for (int64_t step = 1; step <= iterations; ++step) {
      if (lbfgs) {
        const ImageLbfgs::Step taken = lbfgs_optimizer->step();
        evaluations += taken.evaluations;
        int64_t accepted = taken.accepted_evaluation;
        if (reduced) {
          // bf16 rounds the loss to about 3 significant digits: once the line search needs more
          // than two trials, finds nothing, or the loss falls by less than kBf16MinProgress, the
          // rounding is as large as the progress. Go on in fp32 from here.
          const int trials = taken.evaluations - (step == 1 ? 1 : 0);
          const double progress = step == 1 ? 1.0 : (previous_loss - taken.loss) / std::abs(previous_loss);
          if (!taken.moved || trials > 2 || progress < kBf16MinProgress) {
            reduced = false;
            fp32_from.push_back(Json{{"level", level}, {"step", step + 1}});
            lbfgs_optimizer->reevaluate();
            ++evaluations;
            accepted = lbfgs_optimizer->evaluations();  // this step reports the point's fp32 numbers
          }
          previous_loss = taken.loss;
        }
        record = records_by_evaluation.at(accepted);
        records_by_evaluation.erase(records_by_evaluation.begin(), records_by_evaluation.find(accepted));
      } else {
        evaluate();
        ++evaluations;
        {
          torch::AutoGradMode grad_mode(true);
          adam->step();
        }
        x.data().clamp_(0.0, 1.0);  // projected Adam: stay a valid image
      }
      record.step = step;
      record.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
      last = record;
      if (hooks.on_step) hooks.on_step(record);
      ProgressEvent ev;
      ev.stage = "level " + std::to_string(level + 1) + "/" + std::to_string(o.scales) + " " + std::to_string(w) + "x" + std::to_string(h);
      ev.step = step;
      ev.total = iterations;
      ev.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_level).count();
      ev.metrics = {{"total", record.total}, {"content", record.content}, {"style", record.style}, {"tv", record.tv}};
      if (guided) ev.metrics.emplace_back("temporal", record.temporal);
      hooks.callbacks.report(ev);
      if (hooks.snapshot_every > 0 && hooks.on_snapshot && step % hooks.snapshot_every == 0) {
        at::Tensor snap = x.detach().clamp(0.0, 1.0);
        if (luminance) snap = combine_luminance(snap, resize_image(content_full, h, w)).clamp(0.0, 1.0);
        hooks.on_snapshot(record, snap.cpu());
      }
      if (hooks.callbacks.stop_requested()) {
        stopped = true;
        break;
      }
    }
    current = x.detach().clamp(0.0, 1.0);
  }

  at::Tensor result = resize_image(current, out_h, out_w);
  if (luminance) result = combine_luminance(result, content_full).clamp(0.0, 1.0);
  if (!blend.any_unmasked) result = keep_photo_outside_masks(result, content_full, inputs.styles);

  Json precision = precision_report_;
  if (reduced_backbone_) precision["fp32_from"] = fp32_from;
  // The float32 evaluations' 3x3 convolutions (nn/winograd.h); the backbone may be shared, so this
  // says how its convolutions run, not how many ran for this picture.
  precision["fp32_convolutions"] = backbone_->convolutions().winograd_calls() > 0
                                       ? "Winograd, " + winograd_report()
                                       : std::string("LibTorch's direct convolution");
  StylizeResult out;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  out.stopped_early = stopped;
  out.steps = last.step;
  char detail[160];
  std::snprintf(detail, sizeof detail, "final loss %.4g (content %.4g, style %.4g, tv %.4g)", last.total, last.content,
                last.style, last.tv);
  out.detail = detail;
  out.image.rgb = result.cpu().contiguous();
  if (inputs.content.alpha.defined()) out.image.alpha = resize_image(inputs.content.alpha.to(torch::kFloat32), out_h, out_w).clamp(0.0, 1.0).contiguous();
  out.image.bit_depth = 8;
  out.summary = Json{{"method", "gatys"},
                     {"options", options()},
                     {"width", out_w},
                     {"height", out_h},
                     {"device", device.str()},
                     {"stopped_early", stopped},
                     {"seconds", out.seconds},
                     {"evaluations", evaluations},
                     {"temporal_guide", guided},
                     {"precision", precision},
                     {"final", to_json(last)}};
  return out;
}

// ---- the method ------------------------------------------------------------------------------------

namespace {

std::vector<std::pair<Json, std::string>> side_choices(std::initializer_list<int64_t> sides) {
  std::vector<std::pair<Json, std::string>> out;
  for (int64_t side : sides) out.emplace_back(side, std::to_string(side) + " px");
  return out;
}

OptionSchema gatys_schema() {
  const WebControl colours{"select", "Colours", {{"none", "the painting's"}, {"luminance", "the photo's (luminance transfer)"},
                                                 {"histogram", "the photo's (matched palette)"}}, Json(), 0};
  return OptionSchema{
      string_option("backbone", "random-multiscale", "feature network: random-multiscale (default, no download), vgg19, vgg16, vgg19-normalised")
          .with_choices(backbone_registry().names())
          .with_role(OptionRole::backbone),
      string_option("weights", "", "weight file for the backbone (.pth or impasto checkpoint)")
          .with_role(OptionRole::backbone_weights)
          .operator_only(),
      string_option("pooling", "max", "VGG pooling: max or avg").with_choices({"max", "avg"}),
      integer_option("backbone_seed", 0, "seed of the random-multiscale weights").with_range(0, std::nullopt),
      number_option("content_weight", Json(), "alpha: weight of the content loss (default: the backbone's recipe)")
          .with_range(0, std::nullopt)
          .on_page(WebControl{"scale", "Content weight", {}, 0, 0.25}),
      number_option("style_weight", Json(), "beta: weight of the style loss (default: the backbone's recipe)")
          .with_range(0, std::nullopt)
          .on_page(WebControl{"scale", "Style weight", {}, 0, 0.25}),
      number_option("tv_weight", Json(), "weight of the total-variation loss (default: the backbone's recipe)").with_range(0, std::nullopt),
      layers_option("content_layers", "content layers, name or name:weight, comma separated (default: the backbone's recipe)"),
      layers_option("style_layers", "style layers, name or name:weight, comma separated (default: the backbone's recipe)"),
      string_option("normalisation", Json(), "loss normalisation: energy, gatys or mse (default: the backbone's recipe)")
          .with_choices({"energy", "gatys", "mse"}),
      string_option("optimizer", "lbfgs", "lbfgs (default) or adam").with_choices({"lbfgs", "adam"}),
      integer_option("iterations", 300, "iterations per scale (default 300)")
          .with_range(0, std::nullopt)
          .limited_by("max_iterations", 1000)
          .on_page(WebControl{"number", "Iterations", {}, 150, 1}),
      number_option("learning_rate", 0, "step size (default: L-BFGS 1, Adam 0.02)").with_range(0, std::nullopt),
      integer_option("lbfgs_history", 100, "L-BFGS history size (default 100)").with_range(1, 10000).operator_only(),
      string_option("init", "content", "start from: content (default), noise or image")
          .with_choices({"content", "noise", "image"})
          .for_clients({"content", "noise"}),
      integer_option("seed", 0, "random seed (noise init)").with_range(0, std::nullopt),
      integer_option("image_size", 512, "longest side of the output in pixels (default 512; 0 = content size)")
          .with_range(0, 16384)
          .with_role(OptionRole::output_side)
          .limited_by("max_side", 1024)
          .on_page(WebControl{"select", "Size (longest side)", side_choices({256, 384, 512, 768, 1024}), 384, 0}),
      number_option("style_scale", 1.0, "style image size relative to the output (default 1)")
          .with_range(0, 16)
          .with_role(OptionRole::output_scale),
      string_option("preserve_colors", "none", "none (default), luminance or histogram")
          .with_choices({"none", "luminance", "histogram"})
          .on_page(colours),
      integer_option("scales", 1, "coarse-to-fine levels, each twice the previous size (default 1)").with_range(1, 8),
      string_option("device", "auto", "auto (default), cpu, cuda or cuda:N").with_role(OptionRole::device).operator_only(),
      string_option("precision", "auto", "L-BFGS's evaluations: bf16 while they make progress, then fp32 (bf16; auto = bf16 on a "
                                         "CPU with native bf16), or fp32 throughout")
          .with_choices({"auto", "fp32", "bf16"}),
      number_option("temporal_weight", 200, "video: weight of the temporal loss keeping a frame to the previous result "
                                            "where the motion is reliable (Ruder et al. 2016; default 200, 0 = off)")
          .with_range(0, std::nullopt),
      integer_option("frame_iterations", 100, "video: iterations for frames after the first, which start from the "
                                              "previous result (default 100, at most --iterations)")
          .with_range(1, std::nullopt)
          .limited_by("max_iterations", 1000),
  };
}

MethodDescription gatys_description() {
  MethodCapabilities can;  // 1..16 style images, iterative
  can.masks = true;
  can.init_image = true;
  can.temporal = true;
  can.explain_sections = {"objective"};
  return MethodDescription{"gatys", "optimisation of the output image (Gatys et al. 2015)", gatys_schema(), can};
}

class GatysMethod : public Method {
 public:
  GatysMethod() : Method(gatys_description()) {}

  Json check(const Json& options) const override {
    Json j;
    to_json(j, resolve_gatys_options(gatys_options_from_json(Method::check(options))));
    return j;
  }

  std::unique_ptr<Session> open(const Json& options, const StyleSet& styles, ResourceCache* cache) const override {
    GatysOptions o = resolve_gatys_options(gatys_options_from_json(Method::check(options)));
    Backbone backbone, reduced;
    if (cache) {
      const BackboneOptions& b = o.backbone;
      const c10::Device device = resolve_device(o.device);
      const std::string key = "backbone:" + b.name + ":" + b.pooling + ":" + std::to_string(b.seed) + ":" +
                              (b.weights.empty() ? "" : file_version(b.weights)) + ":" + device.str();
      backbone = cache->get<BackboneImpl>(key, [&] { return build_backbone(b, device, Precision::fp32); });
      if (gatys_starts_in_bf16(o))
        reduced = cache->get<BackboneImpl>(key + ":bf16", [&] { return build_backbone(b, device, Precision::bf16); });
    }
    return std::make_unique<GatysSession>(std::move(o), styles, std::move(backbone), std::move(reduced));
  }
};

}  // namespace

void register_gatys_method(MethodRegistry& registry) { registry.add(std::make_shared<GatysMethod>()); }

}  // namespace impasto
