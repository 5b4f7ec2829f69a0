#pragma once
// Stylization by a trained image-to-image network in one forward pass (method "network"): a
// fast_neural_style TransformerNet (Johnson et al. 2016) or a CycleGAN/pix2pix generator (Zhu et al.
// 2017), read from its .pth or an impasto checkpoint, the kind told apart by its keys. The photo is
// processed at its full resolution (or `image_size`), in overlapping tiles when it is larger than
// `tile` (style/tiling.h), so memory stays bounded. `strength` blends the result with the photo
// (0 = the photo, 1 = the network's output, linearly in between); `preserve_colors` keeps the
// photo's colours as for optimisation (style/color.h). No style image is used: the style is in the
// weights.
//
// Tiles and instance normalisation: each instance norm of these networks normalises with the mean
// and variance of its whole input, so a tile normalised with its own statistics comes out in
// another level and contrast than the same region of the whole image, and neighbouring tiles
// disagree. `tile_statistics` chooses what the tiles' norms use (nn/instance_norm.h WholeImageNorms):
//   image   (the default) the statistics of the whole image shrunk to fit one tile: one extra pass
//           of one tile's size; every tile is normalised alike, so no seams, and the picture is
//           close to the untiled one (a shrunk image has somewhat other statistics, mostly in the
//           early, fine-scale layers);
//   exact   the statistics of the full-resolution image, measured norm by norm over the tiles'
//           cores, each pass ending at its norm (for TransformerNet 15 passes costing about 6
//           forward passes in all; resnet_9blocks 23 costing about 10);
//   tile    each tile its own (one pass; the behaviour before whole-image statistics).
// Tiles start on the network's stride (4), so with exact statistics a tile computes what the whole
// image computes, except within the network's reach of the tile's edge, which the blending fades out.
//
// Precision (`precision`, style/precision_choice.h): fp32, or bf16 with the whole network in
// bfloat16 and channels-last (nn/precision.h), about twice as fast on a CPU with native bf16; `auto`
// (the default) takes bf16 where the CPU has it and the network passes a quality gate when loaded.
// int8 (TransformerNet; nn/int8.h) quantises it after calibration: by `<model>.int8.json` beside the
// model (impasto calibrate, style/int8_calibration.h), else on built-in pictures; auto takes int8
// only for a calibrated model on a CPU with VNNI whose output stays within 30 dB of fp32.
#include <memory>
#include <string>

#include "impasto/io/weights.h"
#include "impasto/nn/activations.h"
#include "impasto/nn/cyclegan_nets.h"
#include "impasto/nn/precision.h"
#include "impasto/nn/transformer_net.h"
#include "impasto/style/method.h"
#include "impasto/style/tiling.h"

namespace impasto {

struct NetworkStylizerOptions {
  std::string model;                     // path of the network's weights (required)
  double strength = 1.0;                 // 0..1
  std::string preserve_colors = "none";  // none | luminance | histogram
  int64_t image_size = 0;                // longest side of the output; 0 = the content's size
  int64_t tile = 768;                    // tile side; larger images are processed in tiles
  int64_t overlap = 64;                  // pixels blended between neighbouring tiles
  std::string tile_statistics = "image"; // instance norms of tiles: image | exact | tile (see above)
  std::string precision = "auto";        // auto | fp32 | bf16 | int8 (see above)
  std::string device = "auto";
};

void to_json(Json& json, const NetworkStylizerOptions& options);
NetworkStylizerOptions network_stylizer_options_from_json(const Json& json);  // strict

// "transformer_net" or "cyclegan_generator" for the weights in `path` (or a state dict read from
// `source`); FormatError naming the file when they are neither (FileError when missing).
std::string style_network_kind(const std::string& path);
std::string style_network_kind(const StateDict& dict, const std::string& source);

// A loaded style network of either kind as one function on canonical images (the part of the
// method that explain/ also drives: activations, residual blocks switched off).
struct StyleNetwork {
  std::string kind;              // "transformer_net" | "cyclegan_generator"
  TransformerNet transformer;    // set for transformer_net
  CycleGanGenerator cyclegan;    // set for cyclegan_generator
  c10::Device device = c10::kCPU;
  Precision precision = Precision::fp32;  // what the network runs in (set_style_network_precision)
  Json precision_report = Json::object();  // how it was chosen: requested, used, reason, gate PSNR

  // Canonical image in (any size: the networks pad and crop) -> canonical image out, on the CPU.
  // `features`, when given, receives the residual blocks' activations: a TransformerNet's "conv3",
  // "res1".."resN", a ResNet generator's "down", "block1".."blockN" (none for a U-Net).
  at::Tensor operator()(const at::Tensor& image, Activations* features = nullptr) const;
  // Residual blocks (0 for a U-Net) and switching one off (1-based; OptionError("block") outside).
  int64_t num_blocks() const;
  void set_block_enabled(int64_t block, bool enabled) const;
  torch::nn::Module& module() const;
  // The side every input is padded to a multiple of, and the stride tiles start on: 4 for
  // TransformerNet and the ResNet generators (two stride-2 stages); a U-Net reaches across the whole
  // image anyway, so its tiles are not aligned.
  int64_t multiple() const { return transformer ? 4 : cyclegan->size_multiple(); }
  int64_t align() const { return multiple() <= 4 ? multiple() : 1; }
};

// Reads the weights once, tells the kind by the keys and builds the network in eval mode (fp32).
StyleNetwork load_style_network(const std::string& path, c10::Device device = c10::kCPU);

// Puts a loaded (fp32) network into the precision `requested` names (auto | fp32 | bf16 | int8:
// style/precision_choice.h) and records the decision in net.precision_report. `model_path` locates
// the int8 statistics file beside the model (style/int8_calibration.h; "" = none).
void set_style_network_precision(StyleNetwork& net, const std::string& requested, const std::string& model_path = "");

// What the method does to the network's output `stylized` (same size as `content`): colour
// preservation, then strength s: content + s * (stylized - content), clamped to [0,1].
at::Tensor finish_network_output(const at::Tensor& stylized, const at::Tensor& content, double strength,
                                 const std::string& preserve_colors);

// The checks of every option that need no file: OptionError naming the option.
void check_network_options(const NetworkStylizerOptions& options);

// Method "network" (its option schema and capabilities: network.cpp).
void register_network_method(MethodRegistry& registry);

// A loaded style network as sessions share it (through a ResourceCache): the network and who is
// using it. Sessions on one network may stylize at the same time on several threads; a tiled run
// fixes statistics inside the network's norms and has it to itself meanwhile.
struct SharedStyleNetwork;

class NetworkSession : public Session {
 public:
  // Loads the network of options.model (through `cache` when given); throws on bad options.
  explicit NetworkSession(NetworkStylizerOptions options, ResourceCache* cache = nullptr);
  ~NetworkSession() override;
  StylizeResult stylize(const Image& content, const StylizeHooks& hooks) override;
  Json options() const override;
  // The loaded network, shared with other sessions on the same file: switching blocks off there
  // (explain/) must not overlap their stylize calls.
  const StyleNetwork* network() const override;

 private:
  NetworkStylizerOptions options_;
  std::shared_ptr<SharedStyleNetwork> net_;
};

}  // namespace impasto
