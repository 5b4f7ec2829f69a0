#pragma once
// The CycleGAN recipe of the training loop (train/loop.h): unpaired image-to-image translation
// (Zhu, Park, Isola, Efros 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent
// Adversarial Networks") into a run folder (io/run_dir.h). G_A: A -> B and G_B: B -> A are ResNet or U-Net generators; D_A tells real B
// images from G_A's, D_B real A images from G_B's (PatchGANs; nn/cyclegan_nets.h). One training step,
// in the order of the reference's optimize_parameters (junyanz/pytorch-CycleGAN-and-pix2pix):
//
//   fake_B = G_A(real_A), rec_A = G_B(fake_B), fake_A = G_B(real_B), rec_B = G_A(fake_A)
//   G update (D frozen), minimising
//       L_GAN(D_A(fake_B)) + L_GAN(D_B(fake_A))                        adversarial, target "real"
//     + lambda_A |rec_A - real_A|_1 + lambda_B |rec_B - real_B|_1        cycle consistency (eq. 2)
//     + lambda_identity (lambda_B |G_A(real_B) - real_B|_1 + lambda_A |G_B(real_A) - real_A|_1)
//                                                                      identity (sec. 5.2, Taigman et al. 2017)
//   D update on D_A(real_B) vs D_A(pool_B(fake_B)) and D_B(real_A) vs D_B(pool_A(fake_A)), each
//   objective halved ("we divide the objective by 2 while optimizing D, which slows down the rate at
//   which D learns relative to G", sec. 4); pools of past fakes: train/image_pool.h.
//
// L1 terms are means over pixels, as torch.nn.L1Loss. Objectives (gan_mode: lsgan, vanilla, wgangp)
// as the reference's GANLoss, with D's halved objective (losses/gan_losses.h cyclegan_*_loss); with
// wgangp also the gradient penalty (gp_lambda, on each D), which the reference's CycleGAN model
// leaves out. Adam for both pairs of nets (one optimizer over G_A and G_B,
// one over D_A and D_B); the learning rate is constant until decay_start and then falls linearly to 0
// at `steps` (the reference's n_epochs / n_epochs_decay in steps).
//
// Exactness (train/loop.h): the pools' draws and the penalty's mixing weights of step s come from
// the loop's generator for (seed, s); batch b of each domain is a pure function of b; checkpoints
// hold the pools and the CPU generator (dropout). A resumed run repeats the uninterrupted one
// exactly. Data-parallel processes each keep their own pools (of their own fakes; a checkpoint holds
// rank 0's), so W processes with batch B equal one with batch W*B only without pools (pool_size 0)
// and batch norm. Beside the run's checkpoints, the two generators are written as `G_A.ckpt` and
// `G_B.ckpt` in the run folder: their state dicts with the reference's `model.N` keys, which
// `impasto stylize --model` and load_cyclegan_generator read like the reference's latest_net_G_A.pth.
#include <cstdint>
#include <string>

#include "impasto/core/json_options.h"
#include "impasto/core/log.h"
#include "impasto/train/loop.h"

namespace impasto {

// seed, device and the cadence are LoopOptions'.
struct CycleGanTrainOptions : LoopOptions {
  // Data: each domain an image folder or a synthetic set (data/dataset.h), drawn at the same size.
  std::string domain_a, synthetic_a;  // domain A: folder, or synthetic set name
  std::string domain_b, synthetic_b;
  int64_t size = 256;                 // side of the training images (square): the reference's crop_size
  // Folders: the reference's --preprocess and --load_size (data/dataset.h): resize_and_crop (the
  // reference's default: L x L, then a crop), scale_width_and_crop, scale_shortside_and_crop, crop.
  std::string preprocess = "resize_and_crop";
  int64_t load_size = 0;              // L; 0 = the reference's ratio: size * 286 / 256 (286 for 256)
  std::string crop = "random";        // folders: center | random position of the crop
  bool flip = true;                   // random horizontal flips (the reference's default; --no-flip)
  int64_t batch_size = 1;             // images of each domain per step
  int workers = 2;                    // decoding threads per domain
  int64_t input_nc = 3;               // channels of domain A (1 or 3)
  int64_t output_nc = 3;              // channels of domain B
  // Networks (the reference's names).
  std::string netG = "resnet_9blocks";  // resnet_9blocks | resnet_6blocks | unet_256 | unet_128 | resnet_<n>blocks | unet_<2^k>
  int64_t ngf = 64;
  std::string netD = "basic";           // basic | n_layers | pixel
  int64_t ndf = 64;
  int64_t n_layers_D = 3;               // netD n_layers
  std::string norm = "instance";        // instance | batch
  bool no_dropout = true;               // the reference's CycleGAN default: no dropout in G
  // Objective.
  std::string gan_mode = "lsgan";       // lsgan | vanilla | wgangp
  double lambda_A = 10;                 // cycle A -> B -> A
  double lambda_B = 10;                 // cycle B -> A -> B
  double lambda_identity = 0.5;         // identity weight relative to lambda_A / lambda_B; 0 = off
  double gp_lambda = 10;                // wgangp only
  int64_t pool_size = 50;               // image history per D; 0 = none
  // Optimisation.
  double lr = 2e-4;
  double beta1 = 0.5;
  double beta2 = 0.999;
  int64_t steps = 200000;               // training steps (each: one G and one D update)
  int64_t decay_start = -1;             // step after which lr falls linearly to 0; -1 = steps / 2
  int64_t num_samples = 4;              // validation images of each domain in the sample grids
};

// Resolves `auto` values and checks everything (OptionError naming the option: the size against the
// nets, identity only with equal channel counts, ...). Data folders are opened only by training.
CycleGanTrainOptions resolve(CycleGanTrainOptions options);

Json to_json(const CycleGanTrainOptions& options);
// Strict: unknown keys are OptionErrors.
CycleGanTrainOptions cyclegan_train_options_from_json(const Json& json);

struct CycleGanTrainResult : TrainResult {
  CycleGanTrainResult() = default;
  explicit CycleGanTrainResult(TrainResult result)
      : TrainResult(std::move(result)), generator_a(models.at(0).file), generator_b(models.at(1).file) {}
  std::string generator_a;   // <run>/G_A.ckpt (A -> B)
  std::string generator_b;   // <run>/G_B.ckpt (B -> A)
};

// Trains into `run_dir` (created; must not already hold a run).
CycleGanTrainResult train_cyclegan(const CycleGanTrainOptions& options, const std::string& run_dir,
                                   const Callbacks& callbacks);

// Continues the CycleGAN run in `run_dir` (train/loop.h resume_run); `steps` > 0 changes the total;
// decay_start stays where config.json has it, so the new total must be at least that
// (OptionError("steps") otherwise).
CycleGanTrainResult resume_cyclegan(const std::string& run_dir, int64_t steps, const Callbacks& callbacks);

// "cyclegan": the recipe from config.json's options (train/loop.h RecipeRegistry).
void register_builtin_cyclegan_recipe(RecipeRegistry& registry);

}  // namespace impasto
