#pragma once
// Training a feed-forward style network for one style (Johnson, Alahi, Fei-Fei 2016, "Perceptual
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
// Runs are folders as for GANs (io/run_dir.h); the trained network is also written as
// `model.ckpt` (the TransformerNet's own keys, as pytorch/examples saves them) for
// `impasto stylize --model runs/x/model.ckpt`. Every random draw of step s comes from a generator
// seeded with (seed, s) and batches are pure functions of their index, so --resume is exact.
#include <cstdint>
#include <optional>
#include <string>

#include "impasto/core/json_options.h"
#include "impasto/core/log.h"
#include "impasto/data/dataset.h"
#include "impasto/nn/backbone.h"
#include "impasto/nn/cyclegan_nets.h"
#include "impasto/nn/transformer_net.h"

namespace impasto {

struct FeedforwardTrainOptions {
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
  uint64_t seed = 0;
  std::string device = "auto";
  int64_t log_every = 10;
  int64_t sample_every = 200;
  int64_t checkpoint_every = 1000;
  int keep_checkpoints = 0;
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

struct FeedforwardTrainResult {
  int64_t step = 0;
  bool interrupted = false;
  Json last_metrics;
  int64_t skipped_files = 0;
  double seconds = 0;
  std::string model;  // path of model.ckpt
};

FeedforwardTrainResult train_feedforward(const FeedforwardTrainOptions& options, const std::string& run_dir,
                                         const Callbacks& callbacks);
// Continues from checkpoints/latest.ckpt with the run's config.json; `steps` > 0 changes the total.
FeedforwardTrainResult resume_feedforward(const std::string& run_dir, int64_t steps, const Callbacks& callbacks);

}  // namespace impasto
