#include "impasto/style/adain.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "impasto/core/error.h"
#include "impasto/core/runtime.h"
#include "impasto/core/text.h"
#include "impasto/io/builtin_models.h"
#include "impasto/io/image_ops.h"
#include "impasto/style/color.h"
#include "impasto/style/masks.h"
#include "impasto/style/precision_choice.h"
#include "impasto/style/tiling.h"

namespace impasto {

void to_json(Json& j, const AdainOptions& o) {
  j = Json{{"decoder", o.decoder},
           {"backbone", o.backbone},
           {"weights", o.weights},
           {"alpha", o.alpha},
           {"preserve_colors", o.preserve_colors},
           {"image_size", o.image_size},
           {"style_size", o.style_size},
           {"tile", o.tile},
           {"overlap", o.overlap},
           {"precision", o.precision},
           {"device", o.device}};
}

AdainOptions adain_options_from_json(const Json& j) {
  AdainOptions o;
  JsonReader r(j);
  r.get("decoder", o.decoder).get("backbone", o.backbone).get("weights", o.weights).get("alpha", o.alpha);
  r.get("preserve_colors", o.preserve_colors).get("image_size", o.image_size).get("style_size", o.style_size);
  r.get("tile", o.tile).get("overlap", o.overlap).get("precision", o.precision).get("device", o.device);
  r.reject_unknown();
  return o;
}

std::string builtin_adain_decoder() {
  const std::string path = find_builtin_model(kBuiltinAdainDecoder);
  if (path.empty())
    throw OptionError("decoder", "no decoder given and the built-in one (models/" + std::string(kBuiltinAdainDecoder) +
                                     ") is not in " + join(builtin_model_dirs(), ", ") +
                                     " (--decoder FILE: naoto0804/pytorch-AdaIN's decoder.pth, or `impasto train adain`'s decoder.ckpt)");
  return path;
}

namespace {

AdainOptions with_decoder(AdainOptions o) {
  if (o.decoder.empty()) o.decoder = builtin_adain_decoder();
  return o;
}

// adain_encoder for a decoder file with this metadata ({"encoder", "encoder_seed", "encoder_weights"} in
// a `train adain` decoder.ckpt).
BackboneOptions encoder_named(const AdainOptions& o, const Json& meta) {
  const std::string named = meta.is_object() && meta.contains("encoder") && meta["encoder"].is_string()
                                ? meta["encoder"].get<std::string>() : "";
  BackboneOptions b;
  b.name = o.backbone != "auto" ? o.backbone : !named.empty() ? named : "vgg19-normalised";
  b.weights = o.weights;
  if (b.name == named) {  // the decoder was trained against this encoder: its seed and weights
    b.seed = meta.value("encoder_seed", uint64_t{0});
    if (b.weights.empty()) b.weights = meta.value("encoder_weights", std::string());
  }
  return b;
}

}  // namespace

void check_adain_options(const AdainOptions& options) {
  const AdainOptions o = with_decoder(options);
  if (o.backbone != "auto" && o.backbone != "vgg19-normalised" && o.backbone != "random-vgg19")
    throw OptionError("backbone", "unknown encoder '" + o.backbone + "' for adain; valid: auto, vgg19-normalised, random-vgg19");
  if (!(o.alpha >= 0 && o.alpha <= 1)) throw OptionError("alpha", "must be in [0, 1] (got " + std::to_string(o.alpha) + ")");
  if (o.preserve_colors != "none" && o.preserve_colors != "luminance" && o.preserve_colors != "histogram")
    throw OptionError("preserve_colors", "unknown value '" + o.preserve_colors + "'; valid: none, luminance, histogram");
  if (o.image_size < 0 || o.image_size > 16384) throw OptionError("image_size", "must be in 0..16384 (0 = the photo's size)");
  if (o.image_size > 0 && o.image_size < kAdainMinSide)
    throw OptionError("image_size", "must be 0 or at least " + std::to_string(kAdainMinSide));
  if (o.style_size < 0 || o.style_size > 16384) throw OptionError("style_size", "must be in 0..16384 (0 = the style's own size)");
  if (o.overlap < 0) throw OptionError("overlap", "must be >= 0");
  if (o.tile < 2 * kAdainMinSide || o.tile <= 2 * o.overlap)
    throw OptionError("tile", "must be at least " + std::to_string(2 * kAdainMinSide) + " and more than twice the overlap");
  if (o.style_size > 0 && o.style_size < kAdainMinSide)
    throw OptionError("style_size", "must be 0 or at least " + std::to_string(kAdainMinSide));
  check_precision_option(o.precision, resolve_device(o.device));
  const BackboneOptions encoder = adain_encoder(o);  // FileError for a missing decoder
  if (backbone_info(encoder.name).needs_weights && encoder.weights.empty())
    throw OptionError("weights", "the adain encoder (" + encoder.name + ") needs its weight file (--weights vgg_normalised.pth)");
  if (!encoder.weights.empty() && !std::filesystem::exists(encoder.weights))
    throw FileError(encoder.weights, "weight file of the adain encoder (" + encoder.name + ") not found");
}

// ---- the networks ------------------------------------------------------------------------------------

// The networks take their own precision's input (the encoder converts it itself, nn/vgg.cpp).
at::Tensor AdainModel::encode(const at::Tensor& image) const {
  return to_float32(encoder->extract(image.to(device, torch::kFloat32), {"relu4_1"}).at("relu4_1"));
}

at::Tensor AdainModel::decode(const at::Tensor& target) const {
  return to_float32(decoder->forward(to_precision(target, module_precision(*decoder))));
}

at::Tensor AdainModel::transfer(const at::Tensor& content, const std::vector<ChannelStatistics>& styles,
                                const std::vector<double>& weights, double alpha) const {
  TORCH_CHECK(styles.size() == weights.size() && !styles.empty(), "AdainModel::transfer: one weight per style");
  torch::NoGradGuard no_grad;
  const at::Tensor fc = encode(content);
  return decode(target(fc, channel_statistics(fc), styles, weights, alpha)).cpu();
}

at::Tensor AdainModel::target(const at::Tensor& fc, const ChannelStatistics& cs, const std::vector<ChannelStatistics>& styles,
                              const std::vector<double>& weights, double alpha) const {
  TORCH_CHECK(styles.size() == weights.size() && !styles.empty(), "AdainModel::target: one weight per style");
  double total = 0;
  for (double w : weights) total += w;
  at::Tensor t;
  if (styles.size() == 1) {
    t = adaptive_instance_norm(fc, cs, styles[0]);
  } else {
    t = torch::zeros_like(fc);
    for (size_t i = 0; i < styles.size(); ++i) t = t + (weights[i] / total) * adaptive_instance_norm(fc, cs, styles[i]);
  }
  if (alpha < 1) t = alpha * t + (1 - alpha) * fc;
  return t;
}

ChannelStatistics adain_content_statistics(const AdainModel& model, const at::Tensor& image, const TileOptions& tiles) {
  torch::NoGradGuard no_grad;
  at::Tensor sum, sum_squares;
  int64_t count = 0;
  for_each_tile(image, [&](const at::Tensor& tile, const NormRegion& core) {
    const at::Tensor f = model.encode(tile).to(torch::kFloat64);
    const int64_t fh = f.size(2), fw = f.size(3);
    // Tiles start on multiples of 8 and cores end on them, so the core is whole feature positions.
    const int64_t top = std::llround(core.top * fh), bottom = std::llround(core.bottom * fh);
    const int64_t left = std::llround(core.left * fw), right = std::llround(core.right * fw);
    if (bottom <= top || right <= left) return;
    const at::Tensor part = f.narrow(2, top, bottom - top).narrow(3, left, right - left);
    const at::Tensor s = part.sum({0, 2, 3}), q = part.pow(2).sum({0, 2, 3});
    sum = sum.defined() ? sum + s : s;
    sum_squares = sum_squares.defined() ? sum_squares + q : q;
    count += part.size(2) * part.size(3);
  }, tiles);
  const int64_t c = sum.size(0);
  const at::Tensor mean = sum / static_cast<double>(count);
  // The unbiased variance, as channel_statistics takes it.
  const at::Tensor var = count > 1 ? ((sum_squares - mean.pow(2) * static_cast<double>(count)) / static_cast<double>(count - 1)).clamp_min(0)
                                   : torch::zeros_like(mean);
  ChannelStatistics stats;
  const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(model.device);
  stats.mean = mean.view({1, c, 1, 1}).to(options);
  stats.std = (var + kAdainEps).sqrt().view({1, c, 1, 1}).to(options);
  return stats;
}

std::shared_ptr<AdainModel> load_adain_model(const AdainOptions& options) {
  const AdainOptions o = with_decoder(options);
  auto model = std::make_shared<AdainModel>();
  model->device = resolve_device(o.device);
  model->decoder_source = o.decoder;
  // The decoder file read once: its tensors, and for a decoder.ckpt the encoder it names.
  StateDict dict;
  Json meta = Json::object();
  if (is_impasto_checkpoint(o.decoder)) {
    Checkpoint checkpoint = load_checkpoint(o.decoder);
    dict = std::move(checkpoint.tensors);
    meta = std::move(checkpoint.meta);
  } else {
    dict = load_pth(o.decoder);
  }
  const BackboneOptions b = encoder_named(o, meta);  // make_backbone names a missing weight file
  model->encoder_source = b.weights.empty() ? b.name + " (seed " + std::to_string(b.seed) + ")" : b.weights;
  model->encoder = make_backbone(b);
  model->encoder->to(model->device);
  model->encoder->eval();
  const int64_t decoder_in = infer_adain_decoder_channels(dict, o.decoder);
  const int64_t encoder_out = relu4_1_width(*model->encoder);
  if (decoder_in != encoder_out)
    throw FormatError(o.decoder, "the decoder does not fit the encoder: its '1.weight' has shape " +
                                     c10::str(find_tensor(dict, "1.weight")->sizes()) + " (it takes " + std::to_string(decoder_in) +
                                     " channels) but the encoder " + model->encoder_source + " gives " + std::to_string(encoder_out) +
                                     " channels at relu4_1");
  model->decoder = load_adain_decoder(dict, o.decoder, model->device);
  // The precision gate reconstructs the picture (AdaIN with its own statistics: the decoder's input is
  // the encoder's output), through both networks.
  const PrecisionChoice choice =
      choose_precision(o.precision, model->device, {model->encoder.get(), model->decoder.get()}, [&](const at::Tensor& image) {
        return model->decode(model->encode(image)).cpu();
      });
  model->precision_report = choice.report;
  return model;
}

BackboneOptions adain_encoder(const AdainOptions& options) {
  const AdainOptions o = with_decoder(options);
  if (!std::filesystem::exists(o.decoder)) throw FileError(o.decoder, "no such AdaIN decoder file");
  return encoder_named(o, is_impasto_checkpoint(o.decoder) ? load_checkpoint(o.decoder).meta : Json::object());
}

std::string adain_model_kind(const std::string& path) {
  const StateDict dict = load_weights(path);
  if (!is_adain_decoder(dict)) {
    infer_adain_decoder_channels(dict, path);  // names what is wrong
    throw FormatError(path, "not an AdaIN decoder (expected keys 1.weight .. 28.bias of a 29-module nn.Sequential)");
  }
  return "adain_decoder";
}

// ---- the session -------------------------------------------------------------------------------------

namespace {

int64_t padded_side(int64_t side) { return std::max<int64_t>((side + 7) / 8 * 8, kAdainMinSide); }

// Pads at the bottom and right to padded_side: reflection continues the picture; PyTorch allows it
// only for a padding smaller than the side, so tiny images are replicated instead.
at::Tensor pad_for_encoder(const at::Tensor& x) {
  const int64_t h = x.size(2), w = x.size(3);
  const int64_t ph = padded_side(h) - h, pw = padded_side(w) - w;
  if (ph == 0 && pw == 0) return x;
  return ph < h && pw < w ? at::reflection_pad2d(x, {0, pw, 0, ph}) : at::replication_pad2d(x, {0, pw, 0, ph});
}

}  // namespace

AdainSession::AdainSession(AdainOptions options, StyleSet styles, ResourceCache* cache)
    : options_(with_decoder(std::move(options))), styles_(std::move(styles)) {
  check_adain_options(options_);
  auto load = [&] { return load_adain_model(options_); };
  if (cache) {
    // An encoder without a file (random-vgg19) is fixed by the decoder's metadata.
    const std::string weights = options_.weights.empty() ? "none" : file_version(options_.weights);
    const std::string key = "adain:" + options_.backbone + ":" + weights + ":" +
                            file_version(options_.decoder) + ":" + resolve_device(options_.device).str() + ":" + options_.precision;
    model_ = cache->get<AdainModel>(key, load);
  } else {
    model_ = load();
  }
}

Json AdainSession::options() const {
  Json j;
  to_json(j, options_);
  return j;
}

std::vector<ChannelStatistics> AdainSession::style_statistics(const std::vector<at::Tensor>& styles) {
  torch::NoGradGuard no_grad;
  std::vector<ChannelStatistics> out;
  for (size_t i = 0; i < styles.size(); ++i) {
    at::Tensor s = styles[i];
    if (options_.style_size > 0) {
      const auto [h, w] = fit_longest_side(s.size(2), s.size(3), options_.style_size);
      s = resize_image(s, h, w);
    }
    if (s.size(2) < kAdainMinSide || s.size(3) < kAdainMinSide)
      throw OptionError("style", "style image '" + styles_.styles[i].name + "' is " + std::to_string(s.size(3)) + "x" +
                                     std::to_string(s.size(2)) + " (after style_size); adain needs at least " +
                                     std::to_string(kAdainMinSide) + " px per side");
    out.push_back(channel_statistics(model_->encode(s)));
    ++encodings_;
  }
  return out;
}

StylizeResult AdainSession::stylize(const Image& input, const StylizeHooks& hooks) {
  const auto start = std::chrono::steady_clock::now();
  const AdainOptions& o = options_;
  const auto& styles = styles_.styles;
  if (styles.empty()) throw OptionError("style", "no style image given; method adain needs at least one");
  const at::Tensor photo = input.rgb;
  if (!photo.defined() || photo.dim() != 4 || photo.size(0) != 1 || photo.size(1) != 3)
    throw OptionError("content", "expected one RGB image [1,3,H,W]");
  const int64_t src_h = photo.size(2), src_w = photo.size(3);

  for (const auto& s : styles)
    if (!s.image.defined() || s.image.dim() != 4 || s.image.size(1) != 3)
      throw OptionError("style", "style image '" + s.name + "' is not an RGB image [1,3,H,W]");
  const StyleBlend blend = check_style_blend(styles, src_h, src_w);

  torch::NoGradGuard no_grad;
  const c10::Device device = model_->device;
  // Two variables, not a structured binding: lambdas below capture them (C++17 does not allow that
  // for bindings; clang, which the fuzz build uses, refuses it).
  const std::pair<int64_t, int64_t> out_size =
      o.image_size == 0 ? std::make_pair(src_h, src_w) : fit_longest_side(src_h, src_w, o.image_size);
  const int64_t out_h = out_size.first, out_w = out_size.second;
  const at::Tensor content = resize_image(photo.to(torch::kFloat32), out_h, out_w).to(device);

  // The images the networks see, as preserve_colors says.
  const bool luminance = o.preserve_colors == "luminance";
  const at::Tensor content_work = luminance ? grey_luminance(content) : content;
  std::vector<ChannelStatistics> stats;
  if (o.preserve_colors == "none") {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_.empty()) {
      std::vector<at::Tensor> images;
      for (const auto& s : styles) images.push_back(s.image.to(device, torch::kFloat32));
      cached_ = style_statistics(images);
    }
    stats = cached_;
  } else {
    std::vector<at::Tensor> images;
    for (const auto& s : styles) {
      at::Tensor img = s.image.to(device, torch::kFloat32);
      img = luminance ? matched_luminance(img, content) : match_color_statistics(img, content);
      images.push_back(img);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    stats = style_statistics(images);
  }

  const at::Tensor padded = pad_for_encoder(content_work);
  at::Tensor raw;
  bool masked = false;
  for (const auto& s : styles) masked = masked || s.mask.defined();
  int64_t tile_count = 1;
  if (!masked) {
    std::vector<double> weights;
    for (const auto& s : styles) weights.push_back(s.weight);
    if (std::max(padded.size(2), padded.size(3)) <= o.tile) {
      raw = model_->transfer(padded, stats, weights, o.alpha);
    } else {
      // In tiles, every one normalised with the whole image's content statistics.
      TileOptions tiles;
      tiles.tile = o.tile;
      tiles.overlap = o.overlap;
      tiles.multiple = 8;
      tiles.align = 8;
      tile_count = static_cast<int64_t>(plan_tiles(content_work.size(2), content_work.size(3), tiles).size());
      const ChannelStatistics whole = adain_content_statistics(*model_, content_work, tiles);
      auto on_tile = [&](int64_t done, int64_t total) {
        if (!hooks.callbacks.progress) return;
        ProgressEvent e;
        e.stage = "adain (" + std::to_string(out_w) + "x" + std::to_string(out_h) + ", tiles)";
        e.step = done;
        e.total = total;
        e.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        hooks.callbacks.progress(e);
      };
      raw = apply_tiled(content_work, [&](const at::Tensor& tile) {
        const at::Tensor fc = model_->encode(tile);
        return model_->decode(model_->target(fc, whole, stats, weights, o.alpha));
      }, tiles, on_tile).cpu();
    }
  } else {
    // Regions at the features' size: each position to the style whose mask is largest there when it
    // is at least 1/2, else to the unmasked styles (or, with none, to the photo).
    const at::Tensor fc = model_->encode(padded);
    const int64_t fh = fc.size(2), fw = fc.size(3);
    std::vector<size_t> masked_index;
    std::vector<at::Tensor> masks;
    for (size_t i = 0; i < styles.size(); ++i) {
      if (!styles[i].mask.defined()) continue;
      at::Tensor m = resize_image(styles[i].mask.to(device, torch::kFloat32).clamp(0, 1), out_h, out_w);
      m = at::adaptive_avg_pool2d(pad_for_encoder(m), {fh, fw});
      masks.push_back(m);
      masked_index.push_back(i);
    }
    const auto [best, which] = torch::cat(masks, 1).max(1, /*keepdim=*/true);  // [1,1,fh,fw]
    const at::Tensor inside = best >= 0.5;
    at::Tensor t = fc.clone();
    if (blend.any_unmasked) {
      const at::Tensor outside = inside.logical_not();
      const ChannelStatistics cs = channel_statistics(fc, outside);
      at::Tensor mixed = torch::zeros_like(fc);
      for (size_t i = 0; i < styles.size(); ++i)
        if (!styles[i].mask.defined()) mixed = mixed + (styles[i].weight / blend.unmasked_weight) * adaptive_instance_norm(fc, cs, stats[i]);
      t = torch::where(outside, mixed, t);
    }
    for (size_t k = 0; k < masked_index.size(); ++k) {
      const at::Tensor region = inside.logical_and(which == static_cast<int64_t>(k));
      const ChannelStatistics cs = channel_statistics(fc, region);
      t = torch::where(region, adaptive_instance_norm(fc, cs, stats[masked_index[k]]), t);
    }
    if (o.alpha < 1) t = o.alpha * t + (1 - o.alpha) * fc;
    raw = model_->decode(t).cpu();
  }

  at::Tensor out = raw.narrow(2, 0, out_h).narrow(3, 0, out_w).clamp(0, 1);
  const at::Tensor content_cpu = content.cpu();
  if (luminance) out = combine_luminance(out, content_cpu).clamp(0, 1);
  if (!blend.any_unmasked) out = keep_photo_outside_masks(out, content_cpu, styles);

  StylizeResult result;
  result.image.rgb = out.contiguous();
  if (input.alpha.defined()) result.image.alpha = resize_image(input.alpha.to(torch::kFloat32), out_h, out_w).clamp(0, 1).contiguous();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.detail = "one AdaIN pass with " + std::to_string(styles.size()) + (styles.size() == 1 ? " style" : " styles") +
                  (tile_count > 1 ? ", " + std::to_string(tile_count) + " tiles" : "");
  result.summary = Json{{"method", "adain"},  {"options", options()}, {"width", out_w},
                        {"height", out_h},    {"device", device.str()}, {"styles", styles.size()},
                        {"tiles", tile_count}, {"precision", model_->precision_report}, {"seconds", result.seconds}};
  if (hooks.callbacks.progress) {
    ProgressEvent e;
    e.stage = "adain (" + std::to_string(out_w) + "x" + std::to_string(out_h) + ")";
    e.step = 1;
    e.total = 1;
    e.elapsed_s = result.seconds;
    hooks.callbacks.progress(e);
  }
  return result;
}

// ---- the method ------------------------------------------------------------------------------------

namespace {

OptionSchema adain_schema() {
  std::vector<std::pair<Json, std::string>> sizes;
  for (int64_t side : {256, 384, 512, 768, 1024}) sizes.emplace_back(side, std::to_string(side) + " px");
  const WebControl colours{"select", "Colours", {{"none", "the painting's"}, {"luminance", "the photo's (luminance transfer)"},
                                                 {"histogram", "the photo's (matched palette)"}}, Json(), 0};
  return OptionSchema{
      string_option("decoder", "", "AdaIN decoder (default: the built-in one; naoto0804/pytorch-AdaIN decoder.pth, one of its layout, or `train adain`'s decoder.ckpt); implies --method adain")
          .with_role(OptionRole::model),
      string_option("backbone", "auto",
                    "encoder up to relu4_1: auto (default: the one a `train adain` decoder names, else vgg19-normalised), "
                    "vgg19-normalised, random-vgg19")
          .with_choices({"auto", "vgg19-normalised", "random-vgg19"})
          .with_role(OptionRole::backbone),
      string_option("weights", "", "the encoder's weight file (vgg_normalised.pth) where it needs one")
          .with_role(OptionRole::backbone_weights)
          .operator_only(),
      number_option("alpha", 1.0, "content-style trade-off: 0 = the photo's features .. 1 = the full style (default 1)")
          .with_range(0, 1)
          .on_page(WebControl{"range", "Style strength (alpha)", {}, Json(), 0.05}),
      string_option("preserve_colors", "none", "none (default), luminance or histogram")
          .with_choices({"none", "luminance", "histogram"})
          .on_page(colours),
      integer_option("image_size", 512, "longest side of the output in pixels (default 512; 0 = content size)")
          .with_range(0, 16384)
          .with_role(OptionRole::output_side)
          .limited_by("max_side", 1024)
          .on_page(WebControl{"select", "Size (longest side)", sizes, 512, 0}),
      integer_option("style_size", 512, "longest side of each style image in pixels (default 512; 0 = its own size)")
          .with_range(0, 16384)
          .limited_by("max_side", 1024),
      integer_option("tile", 1024, "photos whose padded longest side is larger go through in tiles of this side, with the "
                                   "whole image's AdaIN statistics (default 1024)")
          .with_range(32, 65536)
          .operator_only(),
      integer_option("overlap", 64, "pixels blended between tiles (default 64)").with_range(0, 65536).operator_only(),
      string_option("precision", "auto",
                    "auto (default: bf16 on a CPU with native bf16 when the networks' output stays within 40 dB of fp32, "
                    "else fp32), fp32 or bf16")
          .with_choices(precision_names()),
      string_option("device", "auto", "auto (default), cpu, cuda or cuda:N").with_role(OptionRole::device).operator_only(),
  };
}

MethodDescription adain_description() {
  MethodCapabilities can;  // 1..16 style images
  can.iterative = false;
  can.masks = true;
  can.explain_sections = {"adain"};  // explain/: channel statistics target vs achieved, the alpha sweep
  return MethodDescription{"adain", "arbitrary style in one pass: AdaIN encoder-decoder (Huang & Belongie 2017; --decoder)",
                           adain_schema(), can};
}

class AdainMethod : public Method {
 public:
  AdainMethod() : Method(adain_description()) {}

  Json check(const Json& options) const override {
    const AdainOptions o = adain_options_from_json(Method::check(options));
    check_adain_options(o);
    Json j;
    to_json(j, o);
    return j;
  }

  std::string model_kind(const std::string& path) const override { return adain_model_kind(path); }

  std::string backbone(const Json& options) const override {
    const std::string chosen = Method::backbone(options);
    if (chosen != "auto") return chosen;
    const Json given = options.value("decoder", Json());
    AdainOptions o;
    o.decoder = given.is_string() && !given.get<std::string>().empty() ? given.get<std::string>()
                                                                       : find_builtin_model(kBuiltinAdainDecoder);
    // Without a decoder file there is nothing to read: the check names the missing file.
    if (o.decoder.empty() || !std::filesystem::exists(o.decoder)) return "vgg19-normalised";
    return adain_encoder(o).name;
  }

  std::unique_ptr<Session> open(const Json& options, const StyleSet& styles, ResourceCache* cache) const override {
    check_style_count(description(), styles.styles.size());
    return std::make_unique<AdainSession>(adain_options_from_json(Method::check(options)), styles, cache);
  }
};

}  // namespace

void register_adain_method(MethodRegistry& registry) { registry.add(std::make_shared<AdainMethod>()); }

}  // namespace impasto
