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
// Presets fill the options left at `auto` (arch, loss, g_width/d_width 0, diff_augment "auto"):
//   classic  DCGAN (Radford et al. 2015): dcgan nets of width 64, batches of 64, the nonsaturating
//            objective, no augmentation (mlp nets for ring8)
//   small    for collections of tens to a few thousand images on a CPU (docs/gan-small-collections.md):
//            fastgan nets (nn/fastgan.h) of width 8 with pixel norm in G, batches of 32, the hinge objective,
//            DiffAugment color,translation,cutout on real and fake images (Zhao et al. 2020), EMA
//   auto     small for an image folder of at most kSmallCollectionImages images, else classic
inline constexpr int64_t kSmallCollectionImages = 5000;

// GanNetOptions with what the preset decides left open: arch "auto", g_width = d_width = 0, g_norm
// "auto" (classic: batch; small: pixel, so that the EMA generator needs no batch statistics).
// DatasetOptions with batch_size 0: by preset (classic 64, small 32).
inline DatasetOptions preset_data_defaults() {
  DatasetOptions data;
  data.batch_size = 0;
  return data;
}

inline GanNetOptions preset_net_defaults() {
  GanNetOptions nets;
  nets.arch = "auto";
  nets.g_width = 0;
  nets.d_width = 0;
  nets.g_norm = "auto";
  return nets;
}

struct GanTrainOptions : LoopOptions {
  DatasetOptions data = preset_data_defaults();  // folder or synthetic; size/channels follow the nets
  std::string preset = "auto";  // auto | classic | small (above)
  GanNetOptions nets = preset_net_defaults();  // arch, widths and g_norm by preset; mlp for ring8
  std::string loss = "auto";  // losses/gan_losses.h; auto: by preset
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
  int64_t r1_every = 1;      // lazy R1: on every N-th D update only, weighted N times (Karras et al. 2020)
  // Adaptive augmentation (Karras et al. 2020, "Training Generative Adversarial Networks with Limited
  // Data", sec. 3): each image is augmented by the diff_augment policy (color,translation,cutout when
  // none is given) with probability p, and every 4 D updates p moves by 4 * batch / ada_images
  // towards keeping r_t = E[sign(D(real))] at ada_target: up when D grows sure of the real images
  // (overfitting), down otherwise. 0 = off (then diff_augment applies to every image).
  double ada_target = 0;
  int64_t ada_images = 100000;  // images for p to move from 0 to 1 (the paper: 500k on GPUs)
  // Latent categories (nets.categories, nn/gan_nets.h; InfoGAN, Chen et al. 2016): the weight of
  // the cross-entropy of D's read-back of the code, added to D's loss on generated images and to G's
  // (the paper's lambda; it uses 1 for discrete codes, but with the small preset on the TrueType
  // digits 1 never started to learn the code in 3000 steps and 2 did from ~1000:
  // docs/gan-small-collections.md).
  double info_weight = 2.0;
  // Augmentations (data/diff_augment.h, e.g. "hue,invert") of the generated images D's category head
  // reads (in a second pass of D), on top of diff_augment: the codes must then survive them, so G
  // cannot tell its categories apart by colour alone (as in Invariant Information Clustering, Ji,
  // Henriques, Vedaldi 2019). "" = the head reads the images D scores.
  std::string info_augment;
  std::string diff_augment = "auto";  // "" or e.g. "color,translation,cutout" (data/diff_augment.h); auto: by preset
  int64_t num_samples = 64;  // size of the fixed noise batch for sample grids
  // Measurement while training (image generators): every `eval_every` steps (0 = off) and at the
  // last, `eval_images` samples of the EMA generator from fixed latents against as many real images:
  // FID and KID on `eval_features` (metrics/fid.h: random-multiscale with one fixed seed, so runs
  // compare and nothing is downloaded; inception with its weights in `eval_weights`, the published
  // FID's network; or a backbone), and
  // with `eval_classifier` (digits | digits-ttf: a digit classifier trained on that set) the mean top-1
  // confidence, the class shares and exp(E KL(p(y|x) || p(y))). The real images are the folder's
  // held-out files (data.hold_out > 0), else the training images themselves (the few-shot papers'
  // convention for small collections), or other samples of a synthetic set.
  int64_t eval_every = 0;
  int64_t eval_images = 500;
  std::string eval_classifier;
  std::string eval_features = "random-multiscale";
  std::string eval_weights;  // the feature network's weight file (inception: pt_inception-2015-12-05-6726825d.pth)
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
