#pragma once
// The GAN recipe of the training loop (train/loop.h): a generator G against a discriminator
// (critic) D on a dataset, into a run folder (io/run_dir.h). One training step = `n_critic` D
// updates (each on a fresh real batch and fresh noise) followed by one G update; G's weights are
// also tracked by an exponential moving average (Karras et al. 2018 / Yazici et al. 2019), which is
// what samples and generation use when enabled.
//
// Exactness (train/loop.h): all randomness of step s (noise, gradient-penalty mixing, augmentation)
// is drawn from the loop's generator for (seed, s), each process taking its rows of every global
// draw, and data batches are pure functions of their index. So a resumed run reproduces the
// uninterrupted one, and W data-parallel processes with batch B train like one process with batch
// W*B (when nothing in the nets depends on batch statistics across the split, i.e. no batch norm).
#include <cstdint>
#include <string>

#include "impasto/core/json_options.h"
#include "impasto/core/log.h"
#include "impasto/data/dataset.h"
#include "impasto/nn/gan_nets.h"
#include "impasto/train/loop.h"

namespace impasto {

// seed, device and the cadence (log_every, sample_every, checkpoint_every, keep_checkpoints) are
// LoopOptions'.
struct GanTrainOptions : LoopOptions {
  DatasetOptions data;       // folder or synthetic; size/channels follow the nets
  GanNetOptions nets = GanNetOptions{"auto"};  // arch auto: mlp for ring8, dcgan for images
  std::string loss = "nonsaturating";  // losses/gan_losses.h
  int64_t steps = 10000;     // G updates
  int64_t n_critic = 0;      // D updates per G update; 0 = auto: 5 for wgan/wgangp, else 1
  double lr_g = 0;           // 0 = auto: 1e-4 for wgangp, 5e-5 for wgan, else 2e-4
  double lr_d = 0;           // 0 = auto: as lr_g
  double beta1 = -1;         // -1 = auto: 0 for wgangp (Gulrajani et al.), else 0.5 (Radford et al.)
  double beta2 = -1;         // -1 = auto: 0.9 for wgangp, else 0.999
  std::string schedule = "constant";  // constant | linear (to 0 at the end) | cosine (to 0)
  int64_t decay_start = 0;   // step where linear/cosine decay begins
  double ema = 0.999;        // EMA decay of G's weights (ramped up from 0.1 early on); 0 = off
  double grad_clip = 0;      // clip G's and D's gradient norms to this; 0 = off
  double weight_clip = 0.01; // wgan: critic weights clipped to [-c, c]
  double gp_lambda = 10;     // wgangp
  double r1_gamma = 0;       // R1 penalty gamma/2 E||grad_x D(x)||^2 on real data (Mescheder et al.
                             // 2018), any objective; 0 = off
  std::string diff_augment;  // "" or e.g. "color,translation,cutout" (data/diff_augment.h)
  int64_t num_samples = 64;  // size of the fixed noise batch for sample grids
};

// Resolves every `auto` and checks everything (OptionError naming the option). Size, channels and
// data dimension of the nets are taken from the dataset where it knows them.
GanTrainOptions resolve(GanTrainOptions options);

Json to_json(const GanTrainOptions& options);
// Strict: unknown keys are OptionErrors.
GanTrainOptions gan_train_options_from_json(const Json& json);

using GanTrainResult = TrainResult;

// Trains into `run_dir` (created; must not already hold a run). With several processes (see
// train/distributed.h) only rank 0 writes files.
GanTrainResult train_gan(const GanTrainOptions& options, const std::string& run_dir, const Callbacks& callbacks);

// Continues the GAN run in `run_dir` (train/loop.h resume_run); `steps` > 0 changes the total. The
// steps after the checkpoint repeat the uninterrupted run exactly.
GanTrainResult resume_gan(const std::string& run_dir, int64_t steps, const Callbacks& callbacks);

// "gan": the recipe from config.json's options (train/loop.h RecipeRegistry).
void register_builtin_gan_recipe(RecipeRegistry& registry);

}  // namespace impasto
