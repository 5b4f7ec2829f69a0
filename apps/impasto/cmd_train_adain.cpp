// impasto train adain: a decoder for arbitrary style transfer (Huang & Belongie 2017) on a folder of
// content images and a folder of style images, into a run folder (config.json, checkpoints, log.jsonl,
// samples, report.html, decoder.ckpt), or --resume of such a folder. Flags keep the names of
// naoto0804/pytorch-AdaIN's train.py where they exist (--content-dir, --style-dir, --lr, --lr-decay,
// --batch-size, --style-weight, --content-weight).
#include "commands.h"
#include "impasto/core/error.h"
#include "impasto/train/adain_trainer.h"

namespace impasto::cli {

CLI::App* add_adain_train_command(CLI::App& train, Context& context) {
  struct Flags {
    AdainTrainOptions o;
    RunFlags run;
    std::vector<std::string> style_layers;
  };
  auto f = std::make_shared<Flags>();
  AdainTrainOptions& o = f->o;
  CLI::App* cmd = train.add_subcommand("adain", "Train an AdaIN decoder for arbitrary style transfer (any style image, one pass)");
  cmd->add_option("--content-dir", o.content.folder, "folder of content images (recursive: jpg, png, webp), e.g. photographs");
  cmd->add_option("--content-synthetic", o.content.synthetic, "built-in content images instead: textures, digits");
  cmd->add_option("--style-dir", o.style.folder, "folder of style images, e.g. paintings");
  cmd->add_option("--style-synthetic", o.style.synthetic, "built-in style images instead: textures");
  cmd->add_option("--image-size,--crop-size", o.content.size, "side of the random crops trained on (a multiple of 8)")->capture_default_str();
  cmd->add_option("--load-size", o.content.load_size, "images' shorter side is scaled to this before the crop (0 = --image-size)")->capture_default_str();
  cmd->add_option("--crop", o.content.crop, "position of the crop: random or center")->capture_default_str();
  cmd->add_flag("--flip", o.content.flip, "random horizontal flips");
  cmd->add_option("--batch-size", o.content.batch_size, "content/style pairs per step")->capture_default_str();
  cmd->add_option("--workers", o.content.workers, "image decoding threads per folder")->capture_default_str();
  cmd->add_option("--encoder", o.encoder.name, "fixed encoder with a relu4_1 layer: random-vgg19 (no file) or vgg19-normalised (--weights vgg_normalised.pth)")->capture_default_str();
  cmd->add_option("--weights", o.encoder.weights, "the encoder's weight file (vgg19-normalised)");
  cmd->add_option("--encoder-seed", o.encoder.seed, "seed of random-vgg19's weights")->capture_default_str();
  cmd->add_option("--style-layers", f->style_layers, "layers of the style statistics loss, name or name:weight, comma separated (default relu1_1..relu4_1)")->delimiter(',');
  cmd->add_option("--content-weight", o.content_weight, "weight of the content loss at relu4_1 against the AdaIN target")->capture_default_str();
  cmd->add_option("--style-weight", o.style_weight, "weight of the style loss (channel means and standard deviations)")->capture_default_str();
  cmd->add_option("--identity-weight", o.identity_weight, "weight of the photo's own reconstruction, pixels and relu4_1 (Li et al. 2017; 0 = off)")->capture_default_str();
  cmd->add_option("--init-decoder", o.init_decoder, "start from this decoder (decoder.ckpt of the same encoder) instead of random weights: fine-tuning");
  cmd->add_option("--lr", o.lr, "Adam learning rate")->capture_default_str();
  cmd->add_option("--lr-decay", o.lr_decay, "the rate before update i is lr / (1 + lr_decay * i)")->capture_default_str();
  cmd->add_option("--steps,--max-iter", o.steps, "decoder updates (with --resume: the new total)")->capture_default_str();
  cmd->add_option("--num-samples", o.num_samples, "fixed content and style images in the sample grids")->capture_default_str();
  cmd->add_option("--hold-out", o.hold_out, "files of each folder kept out of training for the samples (-1 = --num-samples, at most a quarter of the folder)")->capture_default_str();
  add_run_flags(*cmd, f->run, o);
  cmd->callback([f, cmd, &context] {
    run_recipe_command(*cmd, context, "adain", f->run, f->o.steps, [f](const std::string& out, const Callbacks& callbacks) {
      AdainTrainOptions o = f->o;
      if (!f->style_layers.empty()) o.style_layers = layer_weights_from_json(Json(f->style_layers), "style_layers");
      return TrainResult(train_adain(o, out, callbacks));
    });
  });
  return cmd;
}

}  // namespace impasto::cli
