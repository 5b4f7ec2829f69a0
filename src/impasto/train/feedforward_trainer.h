#pragma once
// The feed-forward recipe of the training loop (train/loop.h): a style network for one style (Johnson, Alahi, Fei-Fei 2016, "Perceptual
// Losses for Real-Time Style Transfer and Super-Resolution"): the TransformerNet of nn/transformer_net.h
// learns to map any content image to its stylization in one pass, by minimising the perceptual
// objective of losses/perceptual.h (content + Gram style + total variation through a backbone) over
// a set of content images.
//
// Optionally adversarial: a PatchGAN discriminator (Isola et al. 2017; nn/cyclegan_nets.h) learns
// to tell patches of the output from patches of the style image (random crops of it), and the
// network is also trained to fool it (least-squares GAN objective, Mao et al. 2017), weighted by
// `adversarial_weight`. 0 (the default) is the pure perceptual recipe.
//
// Runs are folders as for every recipe (io/run_dir.h); the trained network is also written as
// `model.ckpt` (the TransformerNet's own keys, as pytorch/examples saves them) for
// `impasto stylize --model runs/x/model.ckpt`. Every random draw of step s comes from the loop's
// generator for (seed, s) and batches are pure functions of their index, so --resume is exact, and
// W data-parallel processes with batch B train like one with batch W*B up to float rounding (the
// TransformerNet has instance norms only; the content term under the `energy` normalisation is a
// ratio of sums over the batch, so there the split differs slightly).
#include <cstdint>
#include <optional>
#include <string>

#include "impasto/core/json_options.h"
#include "impasto/core/log.h"
#include "impasto/data/dataset.h"
#include "impasto/nn/backbone.h"
#include "impasto/nn/cyclegan_nets.h"
#include "impasto/nn/transformer_net.h"
#include "impasto/train/loop.h"

namespace impasto {

// seed, device and the cadence are LoopOptions' (samples every 200 steps here).
struct FeedforwardTrainOptions : LoopOptions {
  FeedforwardTrainOptions() { sample_every = 200; }

  std::string style;            // the style image (required)
  // Content images: folder or synthetic; data.size is the training image side (256) and batches
  // hold 4 images, as fast-neural-style trains.
  DatasetOptions data = [] {
    DatasetOptions d;
    d.size = 256;
    d.batch_size = 4;
    return d;
  }();
  int64_t style_size = 0;       // longest side of the style image for its Grams; 0 = data.size * 2
  TransformerNetOptions net;    // width 32, 5 residual blocks: the published nets
  BackboneOptions backbone;     // random-multiscale (no download) or vgg16/vgg19 with --weights
  // Unset: the backbone's recipe (nn/backbone.h).
  std::optional<double> content_weight, style_weight, tv_weight;
  LayerWeights content_layers, style_layers;
  std::string normalisation;    // "" = the recipe's
  int64_t steps = 0;            // network updates; 0 = from epochs (folders only)
  int64_t epochs = 2;           // passes over a folder when steps is 0 (fast-neural-style's default)
  double lr = 1e-3;             // Adam, as fast-neural-style
  // Adversarial term (0 = off) and its discriminator.
  double adversarial_weight = 0;
  CycleGanDiscriminatorOptions discriminator;  // basic PatchGAN, ndf 64, instance norm
  double lr_d = 2e-4;           // Adam(0.5, 0.999) as pix2pix
  int64_t num_samples = 8;      // fixed validation content images shown in the samples
  // Folders: content files kept out of training, shown (centre crops) in the samples. -1 = auto:
  // num_samples, but at most a quarter of the folder (none for folders of fewer than 4 images, whose
  // samples then show training images). Synthetic content: a separate stream, never trained on.
  int64_t hold_out = -1;
};

// Resolves every default (the recipe's weights and layers, steps from epochs) and checks every
// option and the style image (OptionError naming the option, FileError/FormatError for the file).
FeedforwardTrainOptions resolve(FeedforwardTrainOptions options);
Json to_json(const FeedforwardTrainOptions& options);
FeedforwardTrainOptions feedforward_train_options_from_json(const Json& json);  // strict

struct FeedforwardTrainResult : TrainResult {
  FeedforwardTrainResult() = default;
  explicit FeedforwardTrainResult(TrainResult result) : TrainResult(std::move(result)), model(models.at(0).file) {}
  std::string model;  // path of model.ckpt
};

FeedforwardTrainResult train_feedforward(const FeedforwardTrainOptions& options, const std::string& run_dir,
                                         const Callbacks& callbacks);
// Continues the feed-forward run in `run_dir` (train/loop.h resume_run); `steps` > 0 changes the total.
FeedforwardTrainResult resume_feedforward(const std::string& run_dir, int64_t steps, const Callbacks& callbacks);

// "feedforward": the recipe from config.json's options (train/loop.h RecipeRegistry).
void register_builtin_feedforward_recipe(RecipeRegistry& registry);

}  // namespace impasto
