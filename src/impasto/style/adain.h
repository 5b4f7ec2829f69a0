#pragma once
// Method "adain": arbitrary style transfer in one pass (Huang & Belongie 2017, "Arbitrary Style
// Transfer in Real-time with Adaptive Instance Normalization"), with naoto0804/pytorch-AdaIN's
// networks: the normalised VGG19 up to relu4_1 as encoder (`vgg19-normalised` backbone,
// vgg_normalised.pth) and its decoder (nn/adain.h, decoder.pth, the `decoder` option); or a decoder
// trained by `impasto train adain` (train/adain_trainer.h), whose file names the encoder it was
// trained against (e.g. `random-vgg19` with its seed: no encoder file at all).
//
//   f_c = E(photo), t = sum_i w_i AdaIN(f_c, E(style_i)), t = alpha t + (1 - alpha) f_c, out = D(t)
//
// with the blend weights w_i of the unmasked styles normalised to sum 1 (the reference's
// interpolation weights). Masked styles (a mask per style, white = this style here) each act in their
// region: every feature position belongs to the style whose mask is largest there when that mask is at
// least 1/2 (else to the unmasked styles), and the content statistics of a region are taken over that
// region only (as in the original Lua test script). When every style is masked, the features outside
// the masks are the photo's and the output there is the photo itself.
//
// Sizes: the output has the photo's aspect ratio at `image_size` (longest side; 0 keeps the photo's
// size); the encoder's three pools need a multiple of 8, so the photo is padded at the bottom and right
// by reflection (by replication where a side is too small to reflect) to a multiple of 8 and at least
// 16 (the decoder's reflection pads need relu4_1 features of 2x2), and the result is cropped back:
// never resized to fit. Style images are resized to `style_size` (longest side; 0 keeps theirs) and
// must then be at least 16 px per side.
//
// Large photos (a side over `tile` once padded) go through the networks in overlapping tiles
// (style/tiling.h, tiles aligned to the encoder's stride of 8) so memory stays bounded; the content
// statistics AdaIN normalises with are the whole image's, measured first from every tile's core
// (adain_content_statistics), so each tile is shifted by the same statistics and no seam shows. With
// masks, the image is stylized in one piece.
//
// Colours (style/color.h): `luminance` stylizes the luminance of the photo with the style's luminance
// matched to it and puts the photo's chroma back; `histogram` first matches the style image's colour
// mean and covariance to the photo's (as the reference's preserve_color does with its coral()).
//
// The session encodes each style once (its relu4_1 mean and std) and reuses the statistics for every
// image; with preserve_colors the styles depend on the photo and are encoded per image.
#include <c10/core/Device.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "impasto/nn/adain.h"
#include "impasto/nn/backbone.h"
#include "impasto/style/method.h"

namespace impasto {

struct AdainOptions {
  std::string decoder;                   // decoder.pth or a `train adain` decoder.ckpt; "" = the built-in one
  // The encoder: "auto" = the one a decoder.ckpt names in its metadata, else vgg19-normalised;
  // or vgg19-normalised, random-vgg19.
  std::string backbone = "auto";
  std::string weights;                   // the encoder's weight file (vgg_normalised.pth) where it needs one
  double alpha = 1.0;                    // 0 = the photo's features .. 1 = the full style
  std::string preserve_colors = "none";  // none | luminance | histogram
  int64_t image_size = 512;              // longest side of the output; 0 = the photo's size
  int64_t style_size = 512;              // longest side of each style image; 0 = its own size
  int64_t tile = 1024;                   // photos with a longer padded side go through in tiles of this side
  int64_t overlap = 64;                  // pixels blended between neighbouring tiles
  std::string precision = "auto";        // auto | fp32 | bf16 (style/precision_choice.h)
  std::string device = "auto";
};

void to_json(Json& json, const AdainOptions& options);
AdainOptions adain_options_from_json(const Json& json);  // strict: unknown keys throw

// The built-in decoder impasto trains itself (models/adain/decoder.ckpt, found by io/builtin_models.h;
// its encoder is random-vgg19, so it needs no file at all): its path, or OptionError("decoder") naming
// the folders searched when it is missing.
inline const char* const kBuiltinAdainDecoder = "adain/decoder.ckpt";
std::string builtin_adain_decoder();

// Every check that needs no weight file read: OptionError naming the option; FileError for a decoder
// or encoder file that does not exist.
void check_adain_options(const AdainOptions& options);

// The smallest side the encoder and decoder take (relu4_1 of 2x2).
constexpr int64_t kAdainMinSide = 16;

// The encoder and decoder, loaded and checked to fit each other.
struct AdainModel {
  Backbone encoder;
  AdainDecoder decoder;
  c10::Device device = c10::kCPU;
  std::string encoder_source, decoder_source;
  // Both networks run in one precision (style/precision_choice.h: how it was chosen); features,
  // statistics and the AdaIN targets between them stay float32.
  Json precision_report = Json::object();

  // relu4_1 of a canonical image (any size of at least 16 px per side), on the model's device, float32.
  at::Tensor encode(const at::Tensor& image) const;
  // The decoder's output for a target (float32 in, float32 out, on the model's device).
  at::Tensor decode(const at::Tensor& target) const;
  // The reference's style_transfer on an image whose sides are multiples of 8 (at least 16): the
  // decoder's raw output (unclamped) for the styles' statistics, blended with `weights` (normalised
  // to sum 1 here), at `alpha`. On the CPU.
  at::Tensor transfer(const at::Tensor& content, const std::vector<ChannelStatistics>& styles,
                      const std::vector<double>& weights, double alpha) const;
  // The decoder's input for content features `fc` whose statistics are `content` (fc's own, or the
  // whole image's for a tile): the styles' AdaIN targets blended with `weights` (normalised to sum
  // 1), mixed with fc at `alpha`.
  at::Tensor target(const at::Tensor& fc, const ChannelStatistics& content, const std::vector<ChannelStatistics>& styles,
                    const std::vector<double>& weights, double alpha) const;
};

struct TileOptions;
// relu4_1's channel statistics of `image` ([1,3,H,W], any size) measured tile by tile: every tile
// encoded on its own (padded to a multiple of 8), the features of its core summed (in double) into
// the mean and unbiased variance of the whole image. Equal to channel_statistics(encode(padded
// image)) up to the tiles' border effects on the features near their edges.
ChannelStatistics adain_content_statistics(const AdainModel& model, const at::Tensor& image, const TileOptions& tiles);

// Loads both networks (the encoder as options.backbone resolves, with options.weights, or for a
// decoder.ckpt the weight file its metadata names) and checks that the
// decoder takes the encoder's relu4_1 width: FormatError naming the decoder's `1.weight` and its shape
// and the encoder's width otherwise.
std::shared_ptr<AdainModel> load_adain_model(const AdainOptions& options);

// The encoder these options load, the decoder being options.decoder or (when "") the built-in one:
// options.backbone, or for "auto" the encoder a `train adain` decoder.ckpt names in its metadata (with
// the seed and weight file it was trained with), else vgg19-normalised; options.weights when given.
// Reads the decoder file; FileError when it is missing.
BackboneOptions adain_encoder(const AdainOptions& options);

// "adain_decoder" for an AdaIN decoder file; FormatError naming the file otherwise.
std::string adain_model_kind(const std::string& path);

// Method "adain" (its option schema and capabilities: adain.cpp).
void register_adain_method(MethodRegistry& registry);

class AdainSession : public Session {
 public:
  // Loads the networks (through `cache` when given); throws on bad options.
  AdainSession(AdainOptions options, StyleSet styles, ResourceCache* cache = nullptr);
  StylizeResult stylize(const Image& content, const StylizeHooks& hooks) override;
  Json options() const override;
  const AdainModel& model() const { return *model_; }
  // How many times style statistics were computed (each style once per session without
  // preserve_colors): for tests of the cache.
  int64_t style_encodings() const { return encodings_; }

 private:
  std::vector<ChannelStatistics> style_statistics(const std::vector<at::Tensor>& styles);

  AdainOptions options_;
  StyleSet styles_;
  std::shared_ptr<AdainModel> model_;
  std::mutex mutex_;
  std::vector<ChannelStatistics> cached_;  // per style, when they do not depend on the photo
  int64_t encodings_ = 0;
};

}  // namespace impasto
