// impasto train feedforward: a fast style-transfer network for one style image (Johnson et al.
// 2016), optionally with a PatchGAN term, into a run folder; or --resume of such a folder.
#include "commands.h"
#include "impasto/core/error.h"
#include "impasto/train/feedforward_trainer.h"

namespace impasto::cli {

CLI::App* add_feedforward_command(CLI::App& train, Context& context) {
  struct Flags {
    FeedforwardTrainOptions o;
    RunFlags run;
    std::string normalisation;
    double content_weight = 0, style_weight = 0, tv_weight = 0;
    std::vector<std::string> content_layers, style_layers;
  };
  auto f = std::make_shared<Flags>();
  FeedforwardTrainOptions& o = f->o;
  CLI::App* cmd = train.add_subcommand(
      "feedforward", "Train a feed-forward style network for one style (perceptual losses, optional PatchGAN term)");
  cmd->add_option("--style", o.style, "the style image");
  cmd->add_option("--content-dir", o.data.folder, "folder of content images (recursive: jpg, png, webp), e.g. COCO");
  cmd->add_option("--synthetic", o.data.synthetic, "built-in content images instead: textures, digits");
  cmd->add_option("--image-size", o.data.size, "training image side (a multiple of 4)")->capture_default_str();
  cmd->add_option("--style-size", o.style_size, "longest side of the style image for its Grams (0 = twice --image-size)")->capture_default_str();
  cmd->add_option("--crop", o.data.crop, "center or random crop after resizing the shorter side")->capture_default_str();
  cmd->add_flag("--flip", o.data.flip, "random horizontal flips");
  cmd->add_option("--batch-size", o.data.batch_size, "images per step")->capture_default_str();
  cmd->add_option("--workers", o.data.workers, "image decoding threads")->capture_default_str();
  cmd->add_option("--epochs", o.epochs, "passes over --content-dir (when --steps is not given)")->capture_default_str();
  cmd->add_option("--steps", o.steps, "network updates (with --resume: the new total)");
  cmd->add_option("--lr", o.lr, "Adam learning rate")->capture_default_str();
  cmd->add_option("--content-weight", f->content_weight, "weight of the content loss (default: the backbone's recipe)");
  cmd->add_option("--style-weight", f->style_weight, "weight of the style loss (default: the backbone's recipe)");
  cmd->add_option("--tv-weight", f->tv_weight, "weight of the total-variation loss (default: the backbone's recipe)");
  cmd->add_option("--content-layers", f->content_layers, "content layers, name or name:weight, comma separated")->delimiter(',');
  cmd->add_option("--style-layers", f->style_layers, "style layers, name or name:weight, comma separated")->delimiter(',');
  cmd->add_option("--normalisation", f->normalisation, "loss normalisation: energy, gatys, mse (default: the recipe's)");
  cmd->add_option("--backbone", o.backbone.name, "feature network: random-multiscale (no download), vgg16, vgg19, vgg19-normalised")->capture_default_str();
  cmd->add_option("--weights", o.backbone.weights, "weight file for the backbone (.pth or impasto checkpoint)");
  cmd->add_option("--backbone-seed", o.backbone.seed, "seed of the random-multiscale weights")->capture_default_str();
  cmd->add_option("--width", o.net.width, "TransformerNet channels after the first conv (32 in the published nets)")->capture_default_str();
  cmd->add_option("--residual-blocks", o.net.residual_blocks, "TransformerNet residual blocks")->capture_default_str();
  cmd->add_option("--adversarial-weight", o.adversarial_weight, "weight of the PatchGAN term against style-image patches (0 = off)")->capture_default_str();
  cmd->add_option("--netD", o.discriminator.arch, "discriminator: basic, n_layers, pixel")->capture_default_str();
  cmd->add_option("--ndf", o.discriminator.ndf, "discriminator channels of the first conv")->capture_default_str();
  cmd->add_option("--n-layers-D", o.discriminator.n_layers, "stride-2 convs of an n_layers discriminator")->capture_default_str();
  cmd->add_option("--lr-d", o.lr_d, "discriminator learning rate")->capture_default_str();
  cmd->add_option("--num-samples", o.num_samples, "validation images in the samples")->capture_default_str();
  cmd->add_option("--hold-out", o.hold_out, "content files kept out of training for the samples (-1 = --num-samples, at most a quarter of the folder)")->capture_default_str();
  add_run_flags(*cmd, f->run, o);
  cmd->callback([f, cmd, &context] {
    run_recipe_command(*cmd, context, "feedforward", f->run, f->o.steps, [f, cmd](const std::string& out, const Callbacks& callbacks) {
      FeedforwardTrainOptions o = f->o;
      if (cmd->count("--content-weight")) o.content_weight = f->content_weight;
      if (cmd->count("--style-weight")) o.style_weight = f->style_weight;
      if (cmd->count("--tv-weight")) o.tv_weight = f->tv_weight;
      o.content_layers = layer_weights_from_json(Json(f->content_layers), "content_layers");
      o.style_layers = layer_weights_from_json(Json(f->style_layers), "style_layers");
      o.normalisation = f->normalisation;
      return TrainResult(train_feedforward(o, out, callbacks));
    });
  });
  return cmd;
}

}  // namespace impasto::cli
