#pragma once
// The AdaIN recipe of the training loop (train/loop.h): a decoder for arbitrary style transfer
// (Huang & Belongie 2017, "Arbitrary Style Transfer in Real-time with Adaptive Instance
// Normalization", section 6 and naoto0804/pytorch-AdaIN's train.py), trained on a folder of content
// images and a folder of style images with a fixed encoder E:
//
//   t = AdaIN(E(c), E(s)),  g = D(t)
//   L = content_weight * ||E(g) - t||^2  +  style_weight * sum_l ( ||mu(phi_l(g)) - mu(phi_l(s))||^2
//                                                                 + ||sigma(phi_l(g)) - sigma(phi_l(s))||^2 )
//
// with E = phi at relu4_1, the style layers relu1_1..relu4_1 of the same encoder, every norm a mean
// squared error (torch's mse_loss), mu and sigma nn/adain.h's channel statistics, the decoder's raw
// (unclamped) output fed back to the encoder. The published recipe: Adam at 1e-4 with the learning
// rate lr / (1 + lr_decay * i) before update i (i from 0, lr_decay 5e-5), batches of 8, random
// 256-px crops of images whose shorter side is resized to 512, style weight 10, 160000 updates.
//
// Optionally an identity term (0 by default): the decoder also reconstructs each photo from its own
// features, identity_weight * (||D(E(c)) - c||^2 + ||E(D(E(c))) - E(c)||^2), the pixel and relu4_1
// reconstruction loss of Li et al. 2017 ("Universal Style Transfer via Feature Transforms"; the
// identity loss of Park & Lee 2019, SANet). With content and style weights 0 it is Li et al.'s
// reconstruction-only training; beside them it anchors the decoder's colours and layout early on.
//
// The encoder is any backbone with a relu4_1 tap: `vgg19-normalised` with vgg_normalised.pth as the
// paper's, or `random-vgg19` (seeded, no file: the built-in model's). The decoder (nn/adain.h) is
// sized to the encoder's relu4_1 width. The exported model is `decoder.ckpt`: the decoder under the
// published decoder.pth's keys, with the encoder it was trained against named in its metadata, so
// `impasto stylize --method adain --decoder runs/x/decoder.ckpt` needs nothing else.
#include <cstdint>
#include <string>

#include "impasto/core/json_options.h"
#include "impasto/core/log.h"
#include "impasto/data/dataset.h"
#include "impasto/nn/adain.h"
#include "impasto/nn/backbone.h"
#include "impasto/train/loop.h"

namespace impasto {

// seed, device and the cadence are LoopOptions' (samples every 500 steps here).
struct AdainTrainOptions : LoopOptions {
  AdainTrainOptions() { sample_every = 500; }

  // The published data: 8 random 256-px crops per step from images scaled to a shorter side of 512.
  static DatasetOptions published_data() {
    DatasetOptions d;
    d.size = 256;
    d.load_size = 512;
    d.crop = "random";
    d.batch_size = 8;
    return d;
  }
  // Content and style images: a folder each, or synthetic sets. The style set's size, load size,
  // crop, flip and batch size are the content set's (each content image meets one style image).
  DatasetOptions content = published_data();
  DatasetOptions style = published_data();
  BackboneOptions encoder = [] {
    BackboneOptions b;
    b.name = "random-vgg19";
    return b;
  }();
  LayerWeights style_layers = {{"relu1_1", 1.0}, {"relu2_1", 1.0}, {"relu3_1", 1.0}, {"relu4_1", 1.0}};
  double content_weight = 1.0;
  double style_weight = 10.0;
  double identity_weight = 0.0;
  // Start from this decoder (a `train adain` decoder.ckpt for the same encoder, or a decoder.pth of
  // the encoder's width) instead of random weights: fine-tuning, e.g. a reconstruction-only decoder
  // with the style objective. "" = random (the published start).
  std::string init_decoder;
  double lr = 1e-4;
  double lr_decay = 5e-5;      // lr / (1 + lr_decay * i) before update i
  int64_t steps = 160000;
  int64_t num_samples = 4;     // fixed content and style images: the samples show every pairing
  // Folders: files of each folder kept out of training for the samples. -1 = auto: num_samples, but
  // at most a quarter of the folder (none for folders of fewer than 4 images, whose samples then show
  // training images). Synthetic sets: a separate stream, never trained on.
  int64_t hold_out = -1;
};

// Resolves the defaults and checks every option (OptionError naming it; FileError for a missing
// folder or encoder weight file).
AdainTrainOptions resolve(AdainTrainOptions options);
Json to_json(const AdainTrainOptions& options);
AdainTrainOptions adain_train_options_from_json(const Json& json);  // strict

struct AdainTrainResult : TrainResult {
  AdainTrainResult() = default;
  explicit AdainTrainResult(TrainResult result) : TrainResult(std::move(result)), decoder(models.at(0).file) {}
  std::string decoder;  // path of decoder.ckpt
};

AdainTrainResult train_adain(const AdainTrainOptions& options, const std::string& run_dir, const Callbacks& callbacks);
// Continues the AdaIN run in `run_dir` (train/loop.h resume_run); `steps` > 0 changes the total.
AdainTrainResult resume_adain(const std::string& run_dir, int64_t steps, const Callbacks& callbacks);

// The recipe's objective for one batch of content and style images (canonical [N,3,H,W] on the
// networks' device): the weighted content and style terms, their sum, and each style layer's weighted
// term. Gradients flow to the decoder only.
struct AdainObjective {
  at::Tensor total;
  double content = 0, style = 0, identity = 0;
  std::vector<std::pair<std::string, double>> style_layers;
};
AdainObjective adain_objective(BackboneImpl& encoder, AdainDecoderImpl& decoder, const at::Tensor& content,
                               const at::Tensor& style, const AdainTrainOptions& options);

// The learning rate before update `step` (1-based): lr / (1 + lr_decay * (step - 1)).
double adain_learning_rate(double lr, double lr_decay, int64_t step);

// "adain": the recipe from config.json's options (train/loop.h RecipeRegistry).
void register_builtin_adain_recipe(RecipeRegistry& registry);

}  // namespace impasto
