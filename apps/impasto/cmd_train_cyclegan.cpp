// impasto train cyclegan: unpaired translation between two image domains (Zhu et al. 2017) into a run
// folder (config.json, checkpoints, log.jsonl, samples, report.html, G_A.ckpt and G_B.ckpt), or
// --resume of such a folder. Flags keep the reference implementation's names where they exist
// (--netG, --ngf, --netD, --n-layers-D, --gan-mode, --lambda-A, --lambda-identity, --pool-size ...).
#include <cstdio>

#include "commands.h"
#include "impasto/core/error.h"
#include "impasto/train/cyclegan_trainer.h"

namespace impasto::cli {

CLI::App* add_cyclegan_command(CLI::App& train, Context& context) {
  struct CycleGanFlags {
    CycleGanTrainOptions o;
    std::string out;
    std::string resume;
    int threads = 0;
  };
  auto f = std::make_shared<CycleGanFlags>();
  CycleGanTrainOptions& o = f->o;
  CLI::App* cmd = train.add_subcommand("cyclegan", "Train CycleGAN: unpaired translation between two image domains (A <-> B)");
  cmd->add_option("--domain-a", o.domain_a, "image folder of domain A (recursive: jpg, png, webp)");
  cmd->add_option("--synthetic-a", o.synthetic_a, "built-in domain A instead: digits-paper, digits-neon, digits, textures");
  cmd->add_option("--domain-b", o.domain_b, "image folder of domain B");
  cmd->add_option("--synthetic-b", o.synthetic_b, "built-in domain B instead");
  cmd->add_option("-o,--out", f->out, "run folder to create");
  cmd->add_option("--resume", f->resume, "continue the run in this folder exactly where its last checkpoint left off");
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
  cmd->add_option("--seed", o.seed, "random seed")->capture_default_str();
  cmd->add_option("--device", o.device, "auto, cpu or cuda")->capture_default_str();
  cmd->add_option("--log-every", o.log_every, "log.jsonl line every N steps")->capture_default_str();
  cmd->add_option("--sample-every", o.sample_every, "sample grid every N steps")->capture_default_str();
  cmd->add_option("--checkpoint-every", o.checkpoint_every, "checkpoint, G_A/G_B and report every N steps")->capture_default_str();
  cmd->add_option("--keep-checkpoints", o.keep_checkpoints, "keep only the newest N step checkpoints (0 = all)")->capture_default_str();
  cmd->add_option("--num-samples", o.num_samples, "validation images of each domain in the sample grids")->capture_default_str();
  add_threads_flag(*cmd, f->threads);
  cmd->callback([f, cmd, &context] {
    CycleGanTrainResult result;
    const Callbacks callbacks = context.callbacks();
    std::string run = f->out;
    if (!f->resume.empty()) {
      reject_options_besides_resume(*cmd);
      run = f->resume;
      result = resume_cyclegan(run, cmd->count("--steps") ? f->o.steps : 0, callbacks);
    } else {
      if (run.empty()) throw OptionError("out", "give the run folder to create (--out runs/x), or --resume runs/x");
      result = train_cyclegan(f->o, run, callbacks);
    }
    if (result.interrupted) {
      std::fprintf(stderr, "interrupted: checkpoint of step %lld written to %s/checkpoints/; continue with "
                   "`impasto train cyclegan --resume %s`\n", static_cast<long long>(result.step), run.c_str(), run.c_str());
      context.exit_code = 130;
      return;
    }
    std::printf("trained %lld steps in %.1f s: %s/report.html, samples/, checkpoints/latest.ckpt%s\n"
                "generators: %s (A -> B), %s (B -> A); apply one with `impasto stylize --model %s -c photo.jpg -o out.png`\n",
                static_cast<long long>(result.step), result.seconds, run.c_str(),
                result.skipped_files ? (" (" + std::to_string(result.skipped_files) + " unreadable files skipped)").c_str() : "",
                result.generator_a.c_str(), result.generator_b.c_str(), result.generator_a.c_str());
  });
  return cmd;
}

}  // namespace impasto::cli
