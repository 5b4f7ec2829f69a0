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
#include <memory>
#include <string>

#include "impasto/io/weights.h"
#include "impasto/style/stylizer.h"
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
  std::string device = "auto";
};

void to_json(Json& json, const NetworkStylizerOptions& options);
NetworkStylizerOptions network_stylizer_options_from_json(const Json& json);  // strict

// "transformer_net" or "cyclegan_generator" for the weights in `path` (or a state dict read from
// `source`); FormatError naming the file when they are neither (FileError when missing).
std::string style_network_kind(const std::string& path);
std::string style_network_kind(const StateDict& dict, const std::string& source);

class NetworkStylizer : public Stylizer {
 public:
  explicit NetworkStylizer(NetworkStylizerOptions options);  // loads the network; throws on bad options
  // A stylizer with other options (strength, colours, size, tiles) on the network `loaded` has
  // read already, sharing its weights: a server keeps each model loaded once. `options.model` must
  // name the same file. Stylizers sharing a network may run at the same time on several threads.
  NetworkStylizer(const NetworkStylizer& loaded, NetworkStylizerOptions options);
  ~NetworkStylizer() override;
  StylizeResult stylize(const StylizeInputs& inputs, const StylizeHooks& hooks) override;
  Json options() const override;
  bool uses_style_images() const override { return false; }
  bool reports_steps() const override { return false; }

 private:
  struct Net;
  void check_options() const;
  NetworkStylizerOptions options_;
  std::shared_ptr<Net> net_;
};

}  // namespace impasto
