// impasto train: `train <recipe>` trains into a run folder (config.json, checkpoints, log.jsonl,
// samples, report.html) or resumes one; `train --resume DIR` resumes any run by the recipe its
// config.json records. This file holds the flags and the callback every recipe shares, and the gan
// recipe's flags; the other recipes' live in cmd_train_<recipe>.cpp.
#include <cstdio>

#include "commands.h"
#include "impasto/core/error.h"
#include "impasto/core/runtime.h"
#include "impasto/style/method.h"
#include "impasto/train/gan_trainer.h"
#include "impasto/train/loop.h"

namespace impasto::cli {

namespace {

CLI::App* add_gan_command(CLI::App& train, Context& context) {
  struct GanFlags {
    GanTrainOptions o;
    RunFlags run;
  };
  auto f = std::make_shared<GanFlags>();
  GanTrainOptions& o = f->o;
  CLI::App* cmd = train.add_subcommand("gan", "Train a GAN (generator vs discriminator) on an image folder or a synthetic set");
  cmd->add_option("--data", o.data.folder, "image folder (recursive: jpg, png, webp)");
  cmd->add_option("--synthetic", o.data.synthetic, "built-in data instead: ring8 (2-D points), digits, digits-paper, digits-neon, digits-ttf, textures");
  cmd->add_option("--size", o.data.size, "image side in pixels: 32, 64, 128 or 256")->capture_default_str();
  cmd->add_option("--channels", o.data.channels, "image channels: 3 (RGB) or 1 (grey)")->capture_default_str();
  cmd->add_option("--crop", o.data.crop, "center or random crop after resizing the shorter side")->capture_default_str();
  cmd->add_flag("--flip", o.data.flip, "random horizontal flips");
  cmd->add_option("--batch-size", o.data.batch_size, "images per step (per process; 0 = by preset: classic 64, small 32)")->capture_default_str();
  cmd->add_option("--workers", o.data.workers, "image decoding threads")->capture_default_str();
  cmd->add_option("--preset", o.preset, "defaults for what is left unset: classic (DCGAN), small (small collections: fastgan, hinge, "
                  "DiffAugment), auto (small for a folder of at most " + std::to_string(kSmallCollectionImages) + " images)")->capture_default_str();
  cmd->add_option("--loss", o.loss, "objective: minimax, nonsaturating, lsgan, wgan, wgangp, hinge, auto (by preset)")->capture_default_str();
  cmd->add_option("--steps", o.steps, "generator updates (with --resume: the new total)")->capture_default_str();
  cmd->add_option("--n-critic", o.n_critic, "discriminator updates per generator update (0 = 5 for wgan/wgangp, else 1)");
  cmd->add_option("--arch", o.nets.arch, "networks: dcgan (images), fastgan (images, small collections), mlp (points) or auto")->capture_default_str();
  cmd->add_option("--z-dim", o.nets.z_dim, "latent dimension")->capture_default_str();
  cmd->add_option("--g-width", o.nets.g_width, "generator channels at the image end (ngf; 0 = by preset)")->capture_default_str();
  cmd->add_option("--d-width", o.nets.d_width, "discriminator channels at the image end (ndf; 0 = by preset)")->capture_default_str();
  cmd->add_option("--d-norm", o.nets.d_norm, "discriminator normalisation: batch, layer, instance, none, auto")->capture_default_str();
  cmd->add_flag("--spectral-norm", o.nets.spectral_norm, "spectral normalisation in every discriminator layer");
  cmd->add_flag("--minibatch-stddev", o.nets.minibatch_stddev, "dcgan: batch-variety channel in D against mode collapse");
  cmd->add_option("--pack", o.nets.pack, "dcgan: samples the discriminator judges together (PacGAN; 1 = off)")->capture_default_str();
  cmd->add_option("--g-norm", o.nets.g_norm, "generator normalisation: batch, pixel, none, auto (by preset)")->capture_default_str();
  cmd->add_option("--g-upsample", o.nets.g_upsample, "dcgan generator upsampling: transposed, nearest (+ 3x3 conv)")->capture_default_str();
  cmd->add_option("--mlp-hidden", o.nets.mlp_hidden, "mlp: hidden units")->capture_default_str();
  cmd->add_option("--mlp-layers", o.nets.mlp_layers, "mlp: hidden layers")->capture_default_str();
  cmd->add_option("--lr-g", o.lr_g, "generator learning rate (0 = 1e-4 wgangp, 5e-5 wgan, else 2e-4)");
  cmd->add_option("--lr-d", o.lr_d, "discriminator learning rate (0 = as --lr-g)");
  cmd->add_option("--beta1", o.beta1, "Adam beta1 (default 0 for wgangp, else 0.5)");
  cmd->add_option("--beta2", o.beta2, "Adam beta2 (default 0.9 for wgangp, else 0.999)");
  cmd->add_option("--schedule", o.schedule, "learning-rate schedule: constant, linear, cosine")->capture_default_str();
  cmd->add_option("--decay-start", o.decay_start, "step where linear/cosine decay begins")->capture_default_str();
  cmd->add_option("--ema", o.ema, "EMA decay of the generator's weights (0 = off)")->capture_default_str();
  cmd->add_option("--grad-clip", o.grad_clip, "clip gradient norms to this (0 = off)")->capture_default_str();
  cmd->add_option("--weight-clip", o.weight_clip, "wgan: clip critic weights to [-c, c]")->capture_default_str();
  cmd->add_option("--gp-lambda", o.gp_lambda, "wgangp: gradient-penalty weight")->capture_default_str();
  cmd->add_option("--r1-gamma", o.r1_gamma, "R1 penalty on D's gradient at real data, any objective (0 = off)")->capture_default_str();
  cmd->add_option("--r1-every", o.r1_every, "lazy R1: only on every N-th D update, weighted N times")->capture_default_str();
  cmd->add_option("--diff-augment", o.diff_augment, "differentiable augmentation, e.g. color,translation,cutout; \"\" = none; auto = by preset");
  cmd->add_option("--ada-target", o.ada_target, "adaptive augmentation: keep E[sign D(real)] at this (0.6 in the paper; 0 = off)")->capture_default_str();
  cmd->add_option("--ada-images", o.ada_images, "adaptive augmentation: images for p to move from 0 to 1")->capture_default_str();
  cmd->add_option("--categories", o.nets.categories,
                  "latent categories (InfoGAN; fastgan nets): K one-hot latent coordinates that D must read back from "
                  "the image, so G makes K kinds of image (0 = off)")->capture_default_str();
  cmd->add_option("--info-weight", o.info_weight, "latent categories: weight of D's read-back loss (InfoGAN's lambda)")->capture_default_str();
  cmd->add_option("--info-augment", o.info_augment,
                  "latent categories: augmentations the codes must survive, e.g. hue,invert (so categories are not colours)");
  cmd->add_option("--num-samples", o.num_samples, "images in each sample grid")->capture_default_str();
  cmd->add_option("--hold-out", o.data.hold_out, "folder: files kept out of training, the real images of --eval-every")->capture_default_str();
  cmd->add_option("--eval-every", o.eval_every, "FID/KID of samples against real images every N steps, logged with the training time (0 = off)")->capture_default_str();
  cmd->add_option("--eval-images", o.eval_images, "samples (and real images) per evaluation")->capture_default_str();
  cmd->add_option("--eval-classifier", o.eval_classifier, "also judge samples with a digit classifier: digits or digits-ttf");
  cmd->add_option("--eval-features", o.eval_features, "feature network of the evaluation's FID/KID: random-multiscale (no download), inception (with --eval-weights), or a backbone")->capture_default_str();
  cmd->add_option("--eval-weights", o.eval_weights, "its weight file (inception: pt_inception-2015-12-05-6726825d.pth)");
  add_run_flags(*cmd, f->run, o);
  cmd->callback([f, cmd, &context] {
    run_recipe_command(*cmd, context, "gan", f->run, f->o.steps,
                       [f](const std::string& out, const Callbacks& callbacks) { return train_gan(f->o, out, callbacks); });
  });
  return cmd;
}

// What a finished, interrupted or resumed run tells the user.
// How to stylize with a trained model: the flags of the method whose model option takes the file
// ("" when none does, e.g. a GAN's generator).
std::string stylize_usage(const std::string& file) {
  for (const auto& m : method_registry().methods()) {
    const OptionSpec* spec = m->description().options.find_role(OptionRole::model);
    if (!spec) continue;
    try {
      m->model_kind(file);
    } catch (const Error&) {
      continue;
    }
    return "impasto stylize " + flag_name(spec->name) + " " + file + " -c photo.jpg" +
           (m->description().capabilities.takes_styles() ? " -s painting.jpg" : "") + " -o out.png";
  }
  return "";
}

void report_training(const TrainResult& result, const std::string& run, const std::string& command, Context& context) {
  if (result.interrupted) {
    std::fprintf(stderr, "interrupted: checkpoint of step %lld written to %s/checkpoints/; continue with "
                 "`impasto %s --resume %s`\n", static_cast<long long>(result.step), run.c_str(), command.c_str(), run.c_str());
    context.exit_code = 130;
    return;
  }
  std::printf("trained %lld steps in %.1f s: %s/report.html, samples/, checkpoints/latest.ckpt%s\n",
              static_cast<long long>(result.step), result.seconds, run.c_str(),
              result.skipped_files ? (" (" + std::to_string(result.skipped_files) + " unreadable files skipped)").c_str() : "");
  if (result.models.empty()) return;
  std::string models;
  for (const ExportedModel& m : result.models) models += (models.empty() ? "" : ", ") + m.file + (m.what.empty() ? "" : " (" + m.what + ")");
  const std::string usage = stylize_usage(result.models[0].file);
  std::printf("%s %s%s\n", result.models.size() == 1 ? "model:" : "models:", models.c_str(),
              usage.empty() ? "" : ("; apply " + std::string(result.models.size() == 1 ? "it" : "one") + " with `" + usage + "`").c_str());
}

}  // namespace

void add_run_flags(CLI::App& command, RunFlags& run, LoopOptions& o) {
  command.add_option("-o,--out", run.out, "run folder to create");
  command.add_option("--resume", run.resume, "continue the run in this folder exactly where its last checkpoint left off");
  command.add_option("--seed", o.seed, "random seed")->capture_default_str();
  command.add_option("--device", o.device, "auto, cpu or cuda")->capture_default_str();
  command.add_option("--log-every", o.log_every, "log.jsonl line every N steps")->capture_default_str();
  command.add_option("--sample-every", o.sample_every, "samples every N steps")->capture_default_str();
  command.add_option("--checkpoint-every", o.checkpoint_every, "checkpoint, exported model and report every N steps")->capture_default_str();
  command.add_option("--keep-checkpoints", o.keep_checkpoints, "keep only the newest N step checkpoints (0 = all)")->capture_default_str();
  add_threads_flag(command, run.threads);
}

void run_recipe_command(const CLI::App& command, Context& context, const std::string& recipe, const RunFlags& run,
                        int64_t steps, const std::function<TrainResult(const std::string&, const Callbacks&)>& train) {
  const Callbacks callbacks = context.callbacks();
  if (!run.resume.empty()) {
    reject_options_besides_resume(command);
    report_training(resume_run(run.resume, command.count("--steps") ? steps : 0, callbacks, recipe), run.resume,
                    "train " + recipe, context);
    return;
  }
  if (run.out.empty()) throw OptionError("out", "give the run folder to create (--out runs/x), or --resume runs/x");
  report_training(train(run.out, callbacks), run.out, "train " + recipe, context);
}

void reject_options_besides_resume(const CLI::App& command) {
  // Everything but the total comes from the run's config.json: a resumed run must not drift.
  for (const CLI::Option* option : command.get_options())
    if (option->count() > 0 && option->get_name() != "--resume" && option->get_name() != "--steps" &&
        option->get_name() != "--threads")
      throw OptionError("resume", "takes its options from the run's config.json; " + option->get_name() +
                                      " cannot be combined with it (only --steps and --threads)");
}

CLI::App* add_train_command(CLI::App& app, Context& context) {
  struct ResumeFlags {
    std::string resume;
    int64_t steps = 0;
    int threads = 0;
  };
  auto f = std::make_shared<ResumeFlags>();
  CLI::App* train = app.add_subcommand("train", "Train a model into a run folder (train <recipe>), or continue any run (train --resume DIR)");
  train->require_subcommand(0, 1);
  train->add_option("--resume", f->resume, "continue the run in this folder, whatever its recipe, where its last checkpoint left off");
  train->add_option("--steps", f->steps, "with --resume: the new total of steps");
  train->add_option("--threads", f->threads, "CPU threads (0 = number of cores)")->check(CLI::NonNegativeNumber);
  add_gan_command(*train, context);
  add_feedforward_command(*train, context);
  add_cyclegan_command(*train, context);
  add_adain_train_command(*train, context);
  train->callback([train, f, &context] {
    if (!train->get_subcommands().empty()) return;  // `train <recipe>` ran
    if (f->resume.empty()) {
      std::string recipes;
      for (const std::string& name : recipe_registry().names()) recipes += (recipes.empty() ? "" : ", ") + name;
      throw OptionError("resume", "give a recipe to train (" + recipes + "), or --resume RUN to continue a run");
    }
    configure_runtime(RuntimeOptions{f->threads});
    const TrainResult result = resume_run(f->resume, train->count("--steps") ? f->steps : 0, context.callbacks());
    report_training(result, f->resume, "train", context);
  });
  return train;
}

}  // namespace impasto::cli
