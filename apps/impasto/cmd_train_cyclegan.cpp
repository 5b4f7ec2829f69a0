// impasto train cyclegan: unpaired translation between two image domains (Zhu et al. 2017) into a run
// folder (config.json, checkpoints, log.jsonl, samples, report.html, G_A.ckpt and G_B.ckpt), or
// --resume of such a folder. Flags keep the reference implementation's names where they exist
// (--netG, --ngf, --netD, --n-layers-D, --gan-mode, --lambda-A, --lambda-identity, --pool-size ...).
#include "commands.h"
#include "impasto/core/error.h"
#include "impasto/train/cyclegan_trainer.h"

namespace impasto::cli {

CLI::App* add_cyclegan_command(CLI::App& train, Context& context) {
  struct CycleGanFlags {
    CycleGanTrainOptions o;
    RunFlags run;
  };
  auto f = std::make_shared<CycleGanFlags>();
  CycleGanTrainOptions& o = f->o;
  CLI::App* cmd = train.add_subcommand("cyclegan", "Train CycleGAN: unpaired translation between two image domains (A <-> B)");
  cmd->add_option("--domain-a", o.domain_a, "image folder of domain A (recursive: jpg, png, webp)");
  cmd->add_option("--synthetic-a", o.synthetic_a, "built-in domain A instead: digits-paper, digits-neon, digits, textures");
  cmd->add_option("--domain-b", o.domain_b, "image folder of domain B");
  cmd->add_option("--synthetic-b", o.synthetic_b, "built-in domain B instead");
  cmd->add_option("--size,--crop-size", o.size, "training image side in pixels, the crop (a multiple of 4 for resnet G, 2^levels for unet)")->capture_default_str();
  cmd->add_option("--load-size", o.load_size, "folders: images are scaled to this before the crop (0 = size * 286 / 256, the reference's 286 for 256)")->capture_default_str();
  cmd->add_option("--preprocess", o.preprocess, "folders: resize_and_crop (load-size square, then crop), scale_width_and_crop, scale_shortside_and_crop, crop")->capture_default_str();
  cmd->add_option("--crop", o.crop, "position of the crop: random or center")->capture_default_str();
  cmd->add_flag("--flip,!--no-flip", o.flip, "random horizontal flips (on by default; --no-flip turns them off)");
  cmd->add_option("--batch-size", o.batch_size, "images of each domain per step")->capture_default_str();
  cmd->add_option("--workers", o.workers, "image decoding threads per domain")->capture_default_str();
  cmd->add_option("--input-nc", o.input_nc, "channels of domain A: 3 (RGB) or 1 (grey)")->capture_default_str();
  cmd->add_option("--output-nc", o.output_nc, "channels of domain B: 3 (RGB) or 1 (grey)")->capture_default_str();
  cmd->add_option("--netG", o.netG, "generators: resnet_9blocks, resnet_6blocks, unet_256, unet_128 (or resnet_<n>blocks)")->capture_default_str();
  cmd->add_option("--ngf", o.ngf, "generator channels after the first conv")->capture_default_str();
  cmd->add_option("--netD", o.netD, "discriminators: basic (70x70 PatchGAN), n_layers, pixel")->capture_default_str();
  cmd->add_option("--ndf", o.ndf, "discriminator channels after the first conv")->capture_default_str();
  cmd->add_option("--n-layers-D", o.n_layers_D, "stride-2 layers of --netD n_layers")->capture_default_str();
  cmd->add_option("--norm", o.norm, "normalisation: instance or batch")->capture_default_str();
  cmd->add_flag("--no-dropout,!--dropout", o.no_dropout, "no dropout in the generators (CycleGAN's default; --dropout adds it)");
  cmd->add_option("--gan-mode", o.gan_mode, "objective: lsgan, vanilla (cross-entropy), wgangp")->capture_default_str();
  cmd->add_option("--lambda-A", o.lambda_A, "weight of the cycle loss A -> B -> A")->capture_default_str();
  cmd->add_option("--lambda-B", o.lambda_B, "weight of the cycle loss B -> A -> B")->capture_default_str();
  cmd->add_option("--lambda-identity", o.lambda_identity, "identity loss weight relative to --lambda-A/-B (0 = off)")->capture_default_str();
  cmd->add_option("--gp-lambda", o.gp_lambda, "wgangp: gradient-penalty weight")->capture_default_str();
  cmd->add_option("--pool-size", o.pool_size, "generated images kept for the discriminators (0 = none)")->capture_default_str();
  cmd->add_option("--lr", o.lr, "Adam learning rate")->capture_default_str();
  cmd->add_option("--beta1", o.beta1, "Adam beta1")->capture_default_str();
  cmd->add_option("--beta2", o.beta2, "Adam beta2")->capture_default_str();
  cmd->add_option("--steps", o.steps, "training steps (with --resume: the new total)")->capture_default_str();
  cmd->add_option("--decay-start", o.decay_start, "step after which the learning rate falls linearly to 0 (-1 = half of --steps)")->capture_default_str();
  cmd->add_option("--num-samples", o.num_samples, "validation images of each domain in the sample grids")->capture_default_str();
  add_run_flags(*cmd, f->run, o);
  cmd->callback([f, cmd, &context] {
    run_recipe_command(*cmd, context, "cyclegan", f->run, f->o.steps, [f](const std::string& out, const Callbacks& callbacks) {
      return TrainResult(train_cyclegan(f->o, out, callbacks));
    });
  });
  return cmd;
}

}  // namespace impasto::cli
