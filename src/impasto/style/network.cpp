#include "impasto/style/network.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <optional>
#include <shared_mutex>

#include "impasto/core/error.h"
#include "impasto/core/runtime.h"
#include "impasto/io/image_ops.h"
#include "impasto/io/weights.h"
#include "impasto/nn/cyclegan_nets.h"
#include "impasto/nn/instance_norm.h"
#include "impasto/nn/transformer_net.h"
#include "impasto/style/color.h"
#include "impasto/style/int8_calibration.h"
#include "impasto/style/precision_choice.h"

#include <filesystem>

namespace impasto {

void to_json(Json& j, const NetworkStylizerOptions& o) {
  j = Json{{"model", o.model},
           {"strength", o.strength},
           {"preserve_colors", o.preserve_colors},
           {"image_size", o.image_size},
           {"tile", o.tile},
           {"overlap", o.overlap},
           {"tile_statistics", o.tile_statistics},
           {"precision", o.precision},
           {"device", o.device}};
}

NetworkStylizerOptions network_stylizer_options_from_json(const Json& j) {
  NetworkStylizerOptions o;
  JsonReader r(j);
  r.get("model", o.model).get("strength", o.strength).get("preserve_colors", o.preserve_colors);
  r.get("image_size", o.image_size).get("tile", o.tile).get("overlap", o.overlap).get("device", o.device);
  r.get("tile_statistics", o.tile_statistics).get("precision", o.precision);
  r.reject_unknown();
  return o;
}

std::string style_network_kind(const std::string& path) { return style_network_kind(load_weights(path), path); }

std::string style_network_kind(const StateDict& dict, const std::string& source) {
  if (find_tensor(dict, "conv1.conv2d.weight")) return "transformer_net";
  if (find_tensor(dict, "model.1.weight") || find_tensor(dict, "model.model.0.weight")) return "cyclegan_generator";
  throw FormatError(source, "not a style network: expected a fast_neural_style TransformerNet (conv1.conv2d.weight) "
                          "or a CycleGAN/pix2pix generator (model.1.weight or model.model.0.weight)");
}

at::Tensor StyleNetwork::operator()(const at::Tensor& image, Activations* features) const {
  const at::Tensor x = image.to(device);
  at::Tensor y;
  if (transformer) {
    y = features ? transformer->forward_with_features(x, *features) : transformer->forward(x);
  } else {
    y = translate(*cyclegan, x, features);
  }
  if (features)
    for (auto& [name, a] : *features) a = to_float32(a).to(torch::kCPU);
  return y.to(torch::kCPU);
}

int64_t StyleNetwork::num_blocks() const {
  if (transformer) return transformer->options().residual_blocks;
  if (auto resnet = std::dynamic_pointer_cast<ResnetGeneratorImpl>(cyclegan)) return resnet->num_blocks();
  return 0;
}

torch::nn::Module& StyleNetwork::module() const {
  return transformer ? static_cast<torch::nn::Module&>(*transformer) : static_cast<torch::nn::Module&>(*cyclegan);
}

void StyleNetwork::set_block_enabled(int64_t block, bool enabled) const {
  if (transformer) return transformer->set_block_enabled(block, enabled);
  auto resnet = std::dynamic_pointer_cast<ResnetGeneratorImpl>(cyclegan);
  if (!resnet) throw OptionError("block", "a U-Net generator has no residual blocks");
  resnet->set_block_enabled(block, enabled);
}

StyleNetwork load_style_network(const std::string& path, c10::Device device) {
  StyleNetwork net;
  net.device = device;
  const StateDict weights = load_weights(path);  // read once: kind, then the network
  net.kind = style_network_kind(weights, path);
  if (net.kind == "transformer_net")
    net.transformer = load_transformer_net(weights, path, device);
  else
    net.cyclegan = load_cyclegan_generator(weights, path, device);
  return net;
}

void set_style_network_precision(StyleNetwork& net, const std::string& requested, const std::string& model_path) {
  const PrecisionChoice choice = choose_precision(requested, net.device, {&net.module()},
                                                  [&net](const at::Tensor& image) { return net(image); },
                                                  model_path.empty() ? "" : int8_statistics_path(model_path));
  net.precision = choice.precision;
  net.precision_report = choice.report;
}

at::Tensor finish_network_output(const at::Tensor& stylized, const at::Tensor& content, double strength,
                                 const std::string& preserve_colors) {
  at::Tensor out = stylized.clamp(0, 1);
  if (preserve_colors == "luminance") out = combine_luminance(out, content);
  if (preserve_colors == "histogram") out = match_color_statistics(out, content);
  // strength s: content + s * (stylized - content), a straight line from the photo to the result.
  if (strength < 1) out = content + strength * (out - content);
  return out.clamp(0, 1);
}

struct SharedStyleNetwork {
  StyleNetwork net;
  std::shared_mutex in_use;
};

void check_network_options(const NetworkStylizerOptions& o) {
  if (o.model.empty()) throw OptionError("model", "no network given (a .pth or impasto checkpoint)");
  if (!(o.strength >= 0 && o.strength <= 1)) throw OptionError("strength", "must be in 0..1");
  if (o.preserve_colors != "none" && o.preserve_colors != "luminance" && o.preserve_colors != "histogram")
    throw OptionError("preserve_colors", "unknown value '" + o.preserve_colors + "'; valid: none, luminance, histogram");
  if (o.image_size < 0 || o.image_size > 65536) throw OptionError("image_size", "must be in 0..65536 (0 = content size)");
  if (o.overlap < 0) throw OptionError("overlap", "must be >= 0");
  if (o.tile <= 2 * o.overlap) throw OptionError("tile", "must be more than twice the overlap");
  if (o.tile_statistics != "image" && o.tile_statistics != "exact" && o.tile_statistics != "tile")
    throw OptionError("tile_statistics", "unknown value '" + o.tile_statistics + "'; valid: image, exact, tile");
  check_precision_option(o.precision, resolve_device(o.device));
}

NetworkSession::NetworkSession(NetworkStylizerOptions o, ResourceCache* cache) : options_(std::move(o)) {
  check_network_options(options_);
  const c10::Device device = resolve_device(options_.device);
  auto load = [&] {
    auto shared = std::make_shared<SharedStyleNetwork>();
    shared->net = load_style_network(options_.model, device);
    set_style_network_precision(shared->net, options_.precision, options_.model);
    return shared;
  };
  // A statistics file beside the model (int8) is part of what was loaded.
  const std::string statistics = int8_statistics_path(options_.model);
  const std::string statistics_version = std::filesystem::exists(statistics) ? ":" + file_version(statistics) : "";
  net_ = cache ? cache->get<SharedStyleNetwork>("style-network:" + file_version(options_.model) + ":" + device.str() + ":" +
                                                    options_.precision + statistics_version,
                                                load)
               : load();
}

NetworkSession::~NetworkSession() = default;

const StyleNetwork* NetworkSession::network() const { return &net_->net; }

Json NetworkSession::options() const {
  Json j;
  to_json(j, options_);
  return j;
}

StylizeResult NetworkSession::stylize(const Image& input, const StylizeHooks& hooks) {
  const auto start = std::chrono::steady_clock::now();
  at::Tensor content = input.rgb;
  if (!content.defined() || content.dim() != 4 || content.size(0) != 1 || content.size(1) != 3)
    throw OptionError("content", "expected one RGB image [1,3,H,W]");
  if (options_.image_size > 0) {
    const double scale = static_cast<double>(options_.image_size) / std::max(content.size(2), content.size(3));
    content = resize_image(content, std::max<int64_t>(1, std::llround(content.size(2) * scale)),
                           std::max<int64_t>(1, std::llround(content.size(3) * scale)));
  }
  TileOptions tiles;
  tiles.tile = options_.tile;
  tiles.overlap = options_.overlap;
  tiles.multiple = net_->net.multiple();
  tiles.align = net_->net.align();
  const int64_t tile_count = static_cast<int64_t>(plan_tiles(content.size(2), content.size(3), tiles).size());
  // Tiled runs fix statistics inside the network's norms, so they have it to themselves; whole-image
  // runs (the common case) may share it between threads (stylizers built from one loaded network).
  std::shared_lock<std::shared_mutex> shared_use(net_->in_use, std::defer_lock);
  std::unique_lock<std::shared_mutex> sole_use(net_->in_use, std::defer_lock);
  std::optional<WholeImageNorms> norms;  // released when it goes out of scope, also on errors
  if (tile_count > 1) {
    sole_use.lock();
    norms.emplace(net_->net.module());
  } else {
    shared_use.lock();
  }
  const bool tiled_norms = norms && !norms->empty();
  const std::string statistics = tiled_norms ? options_.tile_statistics : "own";
  const int64_t measuring = statistics == "image" ? 1 : statistics == "exact" ? static_cast<int64_t>(norms->size()) * tile_count : 0;
  const int64_t total = measuring + tile_count;
  int64_t done = 0;
  auto progress = [&](const std::string& what) {
    ++done;
    if (!hooks.callbacks.progress) return;
    ProgressEvent e;
    e.stage = "stylize (" + std::to_string(content.size(3)) + "x" + std::to_string(content.size(2)) + what + ")";
    e.step = done;
    e.total = total;
    e.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    hooks.callbacks.progress(e);
  };
  auto net = [this](const at::Tensor& x) { return net_->net(x); };
  if (statistics == "image") {
    // The whole image shrunk to fit one tile, normalised with its own statistics.
    torch::NoGradGuard no_grad;
    const double scale = std::min(1.0, static_cast<double>(options_.tile) / std::max(content.size(2), content.size(3)));
    const at::Tensor small = resize_image(content, std::max<int64_t>(1, std::llround(content.size(2) * scale)),
                                          std::max<int64_t>(1, std::llround(content.size(3) * scale)));
    norms->measure(NormRegion{});
    apply_tiled(small, net, tiles);  // one tile
    norms->fix_measured();
    progress(", statistics");
  } else if (statistics == "exact") {
    // Norm by norm, each measured over every tile's core with the earlier ones fixed at theirs.
    for (size_t k = 0; k < norms->size(); ++k) {
      for_each_tile(content, [&](const at::Tensor& tile, const NormRegion& core) {
        norms->measure_one(k, core);
        try {
          net(tile);
        } catch (const ForwardStopped&) {
        }
      }, tiles, [&](int64_t, int64_t) { progress(", statistics"); });
      norms->fix_measured();
    }
  }
  at::Tensor out = apply_tiled(content, net, tiles, [&](int64_t, int64_t) { progress(""); });
  if (norms) norms->release();
  out = finish_network_output(out, content, options_.strength, options_.preserve_colors);

  StylizeResult result;
  result.image.rgb = out;
  if (input.alpha.defined())
    result.image.alpha = options_.image_size > 0 ? resize_image(input.alpha, out.size(2), out.size(3)) : input.alpha;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.seconds = seconds;
  result.detail = std::string("with the ") + (net_->net.kind == "transformer_net" ? "TransformerNet" : "CycleGAN generator") +
                  " (" + std::to_string(tile_count) + (tile_count == 1 ? " tile)" : " tiles)");
  result.summary = Json{{"method", "network"},   {"network", net_->net.kind},  {"options", options()},
                        {"width", out.size(3)},  {"height", out.size(2)},  {"tiles", tile_count},
                        {"tile_statistics", statistics},
                        {"precision", net_->net.precision_report},
                        {"seconds", seconds}};
  return result;
}

// ---- the method ------------------------------------------------------------------------------------

namespace {

OptionSchema network_schema() {
  std::vector<std::pair<Json, std::string>> sizes;
  for (int64_t side : {256, 384, 512, 768, 1024}) sizes.emplace_back(side, std::to_string(side) + " px");
  sizes.emplace_back(0, "original");
  const WebControl colours{"select", "Colours", {{"none", "the network's"}, {"luminance", "the photo's (luminance transfer)"},
                                                 {"histogram", "the photo's (matched palette)"}}, Json(), 0};
  return OptionSchema{
      string_option("model", "", "trained network (.pth or checkpoint): fast_neural_style TransformerNet or CycleGAN generator; implies --method network")
          .with_role(OptionRole::model),
      number_option("strength", 1.0, "0 = the photo .. 1 = the full style (default 1)")
          .with_range(0, 1)
          .on_page(WebControl{"range", "Strength", {}, Json(), 0.05}),
      string_option("preserve_colors", "none", "none (default), luminance or histogram")
          .with_choices({"none", "luminance", "histogram"})
          .on_page(colours),
      integer_option("image_size", 0, "longest side of the output in pixels (default: the content's size)")
          .with_range(0, 65536)
          .with_role(OptionRole::output_side)
          .on_page(WebControl{"select", "Size (longest side)", sizes, 0, 0}),
      integer_option("tile", 768, "tile side for large images (default 768)").with_range(1, 65536).operator_only(),
      integer_option("overlap", 64, "pixels blended between tiles (default 64)").with_range(0, 65536).operator_only(),
      string_option("tile_statistics", "image",
                    "instance norms of tiles use the statistics of the whole image shrunk to a tile (image, default), of the full "
                    "image measured norm by norm (exact: several times slower), or each tile's own (tile)")
          .with_choices({"image", "exact", "tile"})
          .operator_only(),
      string_option("precision", "auto",
                    "auto (default: int8 when calibrated (impasto calibrate) on a CPU with VNNI and within 30 dB of fp32, "
                    "else bf16 on a CPU with native bf16 when within 40 dB of fp32, else fp32), fp32, bf16 or int8 "
                    "(TransformerNet and ResNet generators)")
          .with_choices(precision_names(/*with_int8=*/true)),
      string_option("device", "auto", "auto (default), cpu, cuda or cuda:N").with_role(OptionRole::device).operator_only(),
  };
}

MethodDescription network_description() {
  MethodCapabilities can;
  can.min_styles = can.max_styles = 0;  // the style is in the weights
  can.iterative = false;
  can.explain_sections = {"network"};
  return MethodDescription{"network", "one pass of a trained network: fast_neural_style TransformerNet or CycleGAN generator (--model)",
                           network_schema(), can};
}

class NetworkMethod : public Method {
 public:
  NetworkMethod() : Method(network_description()) {}

  Json check(const Json& options) const override {
    const NetworkStylizerOptions o = network_stylizer_options_from_json(Method::check(options));
    check_network_options(o);
    if (!std::filesystem::exists(o.model)) throw FileError(o.model, "no such network file");
    Json j;
    to_json(j, o);
    return j;
  }

  std::string model_kind(const std::string& path) const override { return style_network_kind(path); }

  std::unique_ptr<Session> open(const Json& options, const StyleSet& styles, ResourceCache* cache) const override {
    check_style_count(description(), styles.styles.size());
    return std::make_unique<NetworkSession>(network_stylizer_options_from_json(Method::check(options)), cache);
  }
};

}  // namespace

void register_network_method(MethodRegistry& registry) { registry.add(std::make_shared<NetworkMethod>()); }

}  // namespace impasto
