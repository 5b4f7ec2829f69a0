#include "impasto/train/feedforward_trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "impasto/core/error.h"
#include "impasto/core/runtime.h"
#include "impasto/io/grid.h"
#include "impasto/io/image.h"
#include "impasto/io/image_ops.h"
#include "impasto/losses/gan_losses.h"
#include "impasto/losses/perceptual.h"
#include "impasto/nn/gan_model.h"
#include "impasto/train/optimizer_support.h"
#include "impasto/io/run_dir.h"

namespace impasto {
namespace {

using Clock = std::chrono::steady_clock;

void check(bool ok, const std::string& option, const std::string& message) {
  if (!ok) throw OptionError(option, message);
}

void check_weight(double w, const std::string& option) {
  check(std::isfinite(w) && w >= 0, option, "must be a finite number >= 0");
}

// The style image as the Grams see it: longest side `style_size`.
at::Tensor load_style_image(const FeedforwardTrainOptions& o) {
  const at::Tensor image = read_image(o.style).rgb;
  const auto [h, w] = fit_longest_side(image.size(2), image.size(3), o.style_size);
  return resize_image(image, h, w);
}

struct Session {
  FeedforwardTrainOptions options;
  c10::Device device = c10::kCPU;
  std::unique_ptr<Dataset> dataset;
  TransformerNet net;
  CycleGanDiscriminator D;  // only with an adversarial term
  std::unique_ptr<torch::optim::Adam> opt_net, opt_d;
  std::unique_ptr<PerceptualLoss> loss;
  at::Tensor style_image;        // [1,3,h,w] on the device
  at::Tensor style_for_patches;  // the style image, at least data.size on each side
  at::Tensor validation;         // [num_samples,3,S,S] content images never trained on
  std::unique_ptr<RunDirectory> run;
  int64_t step = 0;
};

Checkpoint make_checkpoint(Session& s) {
  Checkpoint c;
  c.arch = "feedforward";
  c.meta = Json{{"kind", "feedforward-run"}, {"step", s.step}, {"config", to_json(s.options)}};
  add_module_state(c.tensors, "net", *s.net);
  add_adam_state(c.tensors, "optimizer.net", *s.opt_net);
  if (s.D) {
    add_module_state(c.tensors, "D", *s.D);
    add_adam_state(c.tensors, "optimizer.D", *s.opt_d);
  }
  return c;
}

void restore_checkpoint(Session& s, const std::string& file) {
  Checkpoint c = load_checkpoint(file);
  if (c.arch != "feedforward") throw FormatError(file, "not a feed-forward training checkpoint (architecture '" + c.arch + "')");
  load_transformer_net_weights(*s.net, sub_state_dict(c.tensors, "net"), file);
  load_adam_state(c.tensors, "optimizer.net", *s.opt_net, file);
  if (s.D) {
    load_state_dict(*s.D, sub_state_dict(c.tensors, "D"), file);
    load_adam_state(c.tensors, "optimizer.D", *s.opt_d, file);
  }
  s.step = c.meta.value("step", int64_t{0});
}

// The trained network alone, with the keys pytorch/examples' TransformerNet has and its [0,255]
// convention. Training uses a [0,1] parametrisation instead: the same network maps [0,1] images to
// [0,1] images. Both are one network up to a rescaling: conv1 is followed by an instance norm, which
// removes the input's scale (and conv1's per-channel bias), so only the last conv differs: its
// weight and bias times 255 give the [0,255] output. In the [0,255] parametrisation the last conv's
// weights would have to grow 255-fold from their initial scale at Adam's fixed step size, which
// takes thousands of steps before the output even reaches the image's range.
void write_model(Session& s) {
  Checkpoint model;
  model.arch = "transformer_net";
  model.meta = Json{{"kind", "transformer_net"}, {"style", s.options.style}, {"step", s.step},
                    {"width", s.options.net.width}, {"residual_blocks", s.options.net.residual_blocks}};
  for (auto& [name, t] : module_state_dict(*s.net))
    model.tensors.emplace_back(name, name.rfind("deconv3.", 0) == 0 ? t.cpu() * 255.0 : t.cpu());
  const std::string path = s.run->file("model.ckpt");
  save_checkpoint(path + ".tmp", model);
  std::filesystem::rename(path + ".tmp", path);
}

// Validation content images (top row) and their stylizations (bottom row).
void write_samples(Session& s) {
  at::Tensor out;
  {
    torch::NoGradGuard no_grad;
    s.net->eval();
    out = s.net->forward_raw(s.validation).clamp(0, 1).cpu();  // the [0,1] parametrisation
    s.net->train();
  }
  std::vector<at::Tensor> cells;
  for (int64_t i = 0; i < s.validation.size(0); ++i) cells.push_back(s.validation[i].unsqueeze(0).cpu());
  for (int64_t i = 0; i < out.size(0); ++i) cells.push_back(out[i].unsqueeze(0));
  write_image(s.run->sample_path(s.step), make_grid(cells, s.validation.size(0), std::max<int64_t>(s.options.data.size, 96), 2));
}

RunReport make_report(const Session& s, double seconds) {
  const FeedforwardTrainOptions& o = s.options;
  RunReport r;
  r.title = "Feed-forward style network " + s.run->path();
  r.summary = {{"style", o.style},
               {"content", s.dataset->describe()},
               {"network", "TransformerNet width " + std::to_string(o.net.width) + ", " +
                               std::to_string(o.net.residual_blocks) + " residual blocks"},
               {"backbone", o.backbone.name},
               {"weights", "content " + std::to_string(*o.content_weight) + ", style " + std::to_string(*o.style_weight) +
                               ", tv " + std::to_string(*o.tv_weight) + ", adversarial " + std::to_string(o.adversarial_weight)},
               {"steps", std::to_string(s.step) + " of " + std::to_string(o.steps)},
               {"batch", std::to_string(o.data.batch_size) + " images of " + std::to_string(o.data.size) + " px"},
               {"skipped files", std::to_string(s.dataset->stats().skipped)},
               {"training time (this session)", std::to_string(static_cast<int64_t>(seconds)) + " s"},
               {"model", "model.ckpt (impasto stylize --model " + s.run->file("model.ckpt") + " photo.jpg)"}};
  std::vector<std::string> style_keys;
  for (const auto& [name, w] : o.style_layers) style_keys.push_back("style/" + name);
  r.charts = {{"weighted loss terms", {"content", "style", "tv", "adversarial"}, true},
              {"style loss per layer (weighted)", style_keys, true},
              {"discriminator", {"loss_d", "d_real", "d_fake"}, false},
              {"images per second", {"images_per_s"}, false}};
  r.samples_caption = o.data.folder.empty() || o.hold_out > 0
                          ? "Top: fixed validation content images the network never trains on (" +
                                (o.data.folder.empty() ? std::string("another stream of the synthetic set")
                                                       : std::to_string(o.hold_out) + " files held out of the folder") +
                                "); bottom: its output. samples/real.png is the style image."
                          : "Top: fixed content images (training images: the folder is too small to hold any out); "
                            "bottom: its output. samples/real.png is the style image.";
  return r;
}

// `count` random crops of `side` x `side` from the style image, for the discriminator's real patches.
at::Tensor style_patches(const Session& s, int64_t count, int64_t side, at::Generator& generator) {
  const at::Tensor& style = s.style_for_patches;
  const int64_t h = style.size(2), w = style.size(3);
  const at::Tensor offsets = at::rand({count, 2}, generator);
  std::vector<at::Tensor> patches;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t y = static_cast<int64_t>(offsets[i][0].item<double>() * static_cast<double>(h - side + 1));
    const int64_t x = static_cast<int64_t>(offsets[i][1].item<double>() * static_cast<double>(w - side + 1));
    patches.push_back(style.narrow(2, std::min(y, h - side), side).narrow(3, std::min(x, w - side), side));
  }
  return at::cat(patches);
}

FeedforwardTrainResult run_training(Session& s, const Callbacks& callbacks) {
  const FeedforwardTrainOptions& o = s.options;
  const int64_t first_step = s.step;
  s.dataset->start(s.step);
  const auto session_start = Clock::now();
  auto interval_start = session_start;
  int64_t interval_images = 0;
  FeedforwardTrainResult result;
  bool stop = false;

  auto save = [&]() {
    s.run->write_checkpoint(make_checkpoint(s), s.step, o.keep_checkpoints);
    write_model(s);
    write_run_report(*s.run, make_report(s, std::chrono::duration<double>(Clock::now() - session_start).count()));
  };

  while (s.step < o.steps && !stop) {
    const int64_t step = s.step + 1;
    auto generator = at::make_generator<at::CPUGeneratorImpl>(sample_seed(o.seed ^ 0xfeedf0f0ULL, step));
    Batch batch = s.dataset->next();
    const at::Tensor content = batch.samples.to(s.device);
    // Trained in the [0,1] parametrisation (see write_model) on the unclamped output: a clamp would
    // stop the gradient of every saturated pixel.
    const at::Tensor output = s.net->forward_raw(content);
    PerceptualTerms terms = (*s.loss)(output, s.loss->content_targets(content));
    at::Tensor total = terms.total;

    double loss_d = 0, d_real = 0, d_fake = 0, adversarial = 0;
    if (s.D) {
      // Least-squares PatchGAN (pix2pix): D step on style patches vs the detached outputs, then the
      // network's term pushes every output patch towards "style".
      const at::Tensor real = to_gan_range(style_patches(s, content.size(0), o.data.size, generator).to(s.device));
      const at::Tensor fake = to_gan_range(output.detach().clamp(0, 1));
      const at::Tensor out_real = s.D->forward(real), out_fake = s.D->forward(fake);
      const at::Tensor objective_d = discriminator_loss(GanLoss::lsgan, out_real, out_fake);
      s.opt_d->zero_grad();
      objective_d.backward();
      s.opt_d->step();
      loss_d = objective_d.item<double>();
      d_real = out_real.mean().item<double>();
      d_fake = out_fake.mean().item<double>();
      const at::Tensor adv = o.adversarial_weight * generator_loss(GanLoss::lsgan, s.D->forward(to_gan_range(output)));
      adversarial = adv.item<double>();
      total = total + adv;
    }
    s.opt_net->zero_grad();
    total.backward();
    s.opt_net->step();
    s.step = step;
    interval_images += content.size(0);

    const double loss = total.item<double>();
    if (!std::isfinite(loss))
      throw Error("training diverged at step " + std::to_string(step) + "; try a lower --lr or smaller weights");
    const double elapsed = std::chrono::duration<double>(Clock::now() - session_start).count();
    if (step % o.log_every == 0 || step == o.steps) {
      const double interval = std::chrono::duration<double>(Clock::now() - interval_start).count();
      Json record{{"step", step}, {"loss", loss}, {"content", terms.content}, {"style", terms.style},
                  {"tv", terms.tv}, {"lr", o.lr}, {"images_per_s", interval > 0 ? interval_images / interval : 0.0},
                  {"skipped_files", s.dataset->stats().skipped}};
      for (const auto& [name, value] : terms.style_layers) record["style/" + name] = value;
      if (s.D) {
        record["adversarial"] = adversarial;
        record["loss_d"] = loss_d;
        record["d_real"] = d_real;
        record["d_fake"] = d_fake;
      }
      s.run->append_log(record);
      result.last_metrics = record;
      interval_start = Clock::now();
      interval_images = 0;
    }
    if (step % o.sample_every == 0 || step == o.steps) write_samples(s);

    ProgressEvent event{"train feedforward", step, o.steps, elapsed, {}};
    event.metrics = {{"content", terms.content}, {"style", terms.style}};
    if (o.tv_weight > 0) event.metrics.emplace_back("tv", terms.tv);
    if (s.D) {
      event.metrics.emplace_back("adv", adversarial);
      event.metrics.emplace_back("D", loss_d);
    }
    event.metrics.emplace_back("img/s", (step - first_step) * o.data.batch_size / std::max(elapsed, 1e-9));
    callbacks.report(event);

    if (callbacks.stop_requested() && step < o.steps) {
      stop = true;
      result.interrupted = true;
      callbacks.info("interrupted at step " + std::to_string(step) + "; writing a checkpoint");
    }
    if (!stop && step < o.steps && step % o.checkpoint_every == 0) save();
  }
  save();
  if (result.interrupted) write_samples(s);
  result.step = s.step;
  result.skipped_files = s.dataset->stats().skipped;
  result.seconds = std::chrono::duration<double>(Clock::now() - session_start).count();
  result.model = s.run->file("model.ckpt");
  return result;
}

PerceptualWeights weights_of(const FeedforwardTrainOptions& o) {
  PerceptualWeights w;
  w.content_layers = o.content_layers;
  w.style_layers = o.style_layers;
  w.content_weight = *o.content_weight;
  w.style_weight = *o.style_weight;
  w.tv_weight = *o.tv_weight;
  w.normalisation = parse_normalisation(o.normalisation);
  return w;
}

Session make_session(const FeedforwardTrainOptions& options, const std::string& run_dir, const Callbacks& callbacks) {
  Session s;
  s.options = options;
  const FeedforwardTrainOptions& o = s.options;
  s.device = resolve_device(o.device);
  s.dataset = make_dataset(o.data, callbacks);
  {
    // Images never trained on: the held-out files of a folder (centre crops), or another stream of
    // the synthetic set.
    DatasetOptions v = o.data;
    v.seed = sample_seed(o.seed, 0x7a11d);
    v.batch_size = o.num_samples;
    v.workers = 0;
    v.flip = false;
    if (!o.data.folder.empty() && o.data.hold_out > 0) {
      v.held_out_only = true;
      v.crop = "center";
      v.batch_size = std::min(o.num_samples, o.data.hold_out);
    } else if (!o.data.folder.empty()) {
      callbacks.warn("the content folder has too few images to hold any out: the samples show training images");
    }
    auto validation = make_dataset(v, callbacks);
    validation->start(0);
    s.validation = validation->next().samples.to(s.device);
  }
  Backbone backbone = make_backbone(o.backbone);
  backbone->to(s.device);
  backbone->eval();
  for (auto& p : backbone->parameters()) p.set_requires_grad(false);
  s.loss = std::make_unique<PerceptualLoss>(backbone, weights_of(o));
  s.style_image = load_style_image(o).to(s.device);
  s.loss->set_style(s.style_image);

  seed_everything(o.seed);
  s.net = make_transformer_net(o.net);
  s.net->to(s.device);
  s.net->train();
  s.opt_net = std::make_unique<torch::optim::Adam>(s.net->parameters(), torch::optim::AdamOptions(o.lr));
  if (o.adversarial_weight > 0) {
    s.D = make_cyclegan_discriminator(o.discriminator);
    s.D->to(s.device);
    s.D->train();
    s.opt_d = std::make_unique<torch::optim::Adam>(s.D->parameters(), torch::optim::AdamOptions(o.lr_d).betas({0.5, 0.999}));
    // Patches of the training size must fit: upscale a style image smaller than that.
    at::Tensor style = s.style_image;
    const int64_t shortest = std::min(style.size(2), style.size(3));
    if (shortest < o.data.size) {
      const double scale = static_cast<double>(o.data.size) / static_cast<double>(shortest);
      style = resize_image(style, std::max<int64_t>(o.data.size, std::llround(style.size(2) * scale)),
                           std::max<int64_t>(o.data.size, std::llround(style.size(3) * scale)));
    }
    s.style_for_patches = style;
  }
  s.run = std::make_unique<RunDirectory>(run_dir);
  return s;
}

}  // namespace

FeedforwardTrainOptions resolve(FeedforwardTrainOptions o) {
  check(!o.style.empty(), "style", "give the style image (--style painting.jpg)");
  if (!std::filesystem::exists(o.style)) throw FileError(o.style, "style image not found");
  check(o.data.size >= 16 && o.data.size <= 2048 && o.data.size % 4 == 0, "image_size",
        "must be a multiple of 4 in 16..2048 (the network halves the image twice)");
  o.data.channels = 3;
  if (o.style_size == 0) o.style_size = 2 * o.data.size;
  check(o.style_size >= 16 && o.style_size <= 4096, "style_size", "must be in 16..4096 (0 = twice the image size)");
  check(o.data.batch_size >= 1 && o.data.batch_size <= 1024, "batch_size", "must be in 1..1024");
  check(o.net.width >= 1 && o.net.width <= 512, "width", "must be in 1..512");
  check(o.net.residual_blocks >= 0 && o.net.residual_blocks <= 64, "residual_blocks", "must be in 0..64");
  check(o.lr > 0 && o.lr < 1, "lr", "must be in (0, 1)");
  check(o.lr_d > 0 && o.lr_d < 1, "lr_d", "must be in (0, 1)");
  check_weight(o.adversarial_weight, "adversarial_weight");
  check(o.log_every >= 1, "log_every", "must be at least 1");
  check(o.sample_every >= 1, "sample_every", "must be at least 1");
  check(o.checkpoint_every >= 1, "checkpoint_every", "must be at least 1");
  check(o.keep_checkpoints >= 0, "keep_checkpoints", "must be >= 0 (0 = keep all)");
  check(o.num_samples >= 1 && o.num_samples <= 64, "num_samples", "must be in 1..64");
  resolve_device(o.device);
  if (o.adversarial_weight > 0) make_cyclegan_discriminator(o.discriminator);  // checks its options

  // The backbone's recipe fills what the user left unset; every name is checked now.
  Backbone backbone = make_backbone(o.backbone);
  const PerceptualWeights recipe = recipe_weights(*backbone);
  if (!o.content_weight) o.content_weight = recipe.content_weight;
  if (!o.style_weight) o.style_weight = recipe.style_weight;
  if (!o.tv_weight) o.tv_weight = recipe.tv_weight;
  if (o.content_layers.empty()) o.content_layers = recipe.content_layers;
  if (o.style_layers.empty()) o.style_layers = recipe.style_layers;
  if (o.normalisation.empty()) o.normalisation = to_string(recipe.normalisation);
  check_weight(*o.content_weight, "content_weight");
  check_weight(*o.style_weight, "style_weight");
  check_weight(*o.tv_weight, "tv_weight");
  PerceptualLoss(backbone, weights_of(o));  // checks layer names and the normalisation

  check(o.hold_out >= -1 && o.hold_out <= 4096, "hold_out", "must be -1 (auto) or in 0..4096");
  o.data.hold_out = 0;
  int64_t files = 0;  // training files of a folder
  if (!o.data.folder.empty()) {
    auto counting = make_dataset([&] { DatasetOptions d = o.data; d.workers = 0; return d; }());
    const int64_t all = counting->stats().files;
    if (o.hold_out == -1) o.hold_out = std::min(o.num_samples, all / 4);
    check(o.hold_out < all, "hold_out", "cannot hold out " + std::to_string(o.hold_out) + " of the " +
                                            std::to_string(all) + " images of " + o.data.folder + ": none would be left");
    o.data.hold_out = o.hold_out;
    files = all - o.hold_out;
  } else {
    check(o.hold_out <= 0, "hold_out", "only a content folder holds images out (synthetic validation images are never trained on)");
    o.hold_out = 0;
  }
  if (o.steps == 0) {
    check(!o.data.folder.empty(), "steps", "synthetic content has no epochs: give --steps");
    check(o.epochs >= 1, "epochs", "must be at least 1");
    o.steps = std::max<int64_t>(1, (o.epochs * files + o.data.batch_size - 1) / o.data.batch_size);
  }
  check(o.steps >= 1, "steps", "must be at least 1");
  read_image(o.style);  // a corrupt style image fails now, not after the set-up
  o.data.seed = o.seed;
  return o;
}

Json to_json(const FeedforwardTrainOptions& o) {
  return Json{{"style", o.style},
              {"content_dir", o.data.folder},
              {"synthetic", o.data.synthetic},
              {"image_size", o.data.size},
              {"crop", o.data.crop},
              {"flip", o.data.flip},
              {"batch_size", o.data.batch_size},
              {"workers", o.data.workers},
              {"style_size", o.style_size},
              {"width", o.net.width},
              {"residual_blocks", o.net.residual_blocks},
              {"backbone", o.backbone.name},
              {"backbone_weights", o.backbone.weights},
              {"backbone_seed", o.backbone.seed},
              {"pooling", o.backbone.pooling},
              {"content_weight", o.content_weight ? Json(*o.content_weight) : Json()},
              {"style_weight", o.style_weight ? Json(*o.style_weight) : Json()},
              {"tv_weight", o.tv_weight ? Json(*o.tv_weight) : Json()},
              {"content_layers", layer_weights_to_json(o.content_layers)},
              {"style_layers", layer_weights_to_json(o.style_layers)},
              {"normalisation", o.normalisation},
              {"steps", o.steps},
              {"epochs", o.epochs},
              {"lr", o.lr},
              {"adversarial_weight", o.adversarial_weight},
              {"netD", o.discriminator.arch},
              {"ndf", o.discriminator.ndf},
              {"n_layers_D", o.discriminator.n_layers},
              {"norm_D", o.discriminator.norm},
              {"lr_d", o.lr_d},
              {"seed", o.seed},
              {"device", o.device},
              {"log_every", o.log_every},
              {"sample_every", o.sample_every},
              {"checkpoint_every", o.checkpoint_every},
              {"keep_checkpoints", o.keep_checkpoints},
              {"num_samples", o.num_samples},
              {"hold_out", o.hold_out}};
}

FeedforwardTrainOptions feedforward_train_options_from_json(const Json& j) {
  FeedforwardTrainOptions o;
  JsonReader r(j);
  r.get("style", o.style).get("content_dir", o.data.folder).get("synthetic", o.data.synthetic);
  r.get("image_size", o.data.size).get("crop", o.data.crop).get("flip", o.data.flip);
  r.get("batch_size", o.data.batch_size).get("workers", o.data.workers).get("style_size", o.style_size);
  r.get("width", o.net.width).get("residual_blocks", o.net.residual_blocks);
  r.get("backbone", o.backbone.name).get("backbone_weights", o.backbone.weights);
  r.get("backbone_seed", o.backbone.seed).get("pooling", o.backbone.pooling);
  for (auto [key, field] : {std::pair<const char*, std::optional<double>*>{"content_weight", &o.content_weight},
                            {"style_weight", &o.style_weight},
                            {"tv_weight", &o.tv_weight}}) {
    double value = 0;
    r.get(key, value);  // also marks the key as known
    if (j.contains(key) && !j[key].is_null()) *field = value;
  }
  Json layers;
  r.get("content_layers", layers);
  o.content_layers = layer_weights_from_json(layers, "content_layers");
  layers = Json();
  r.get("style_layers", layers);
  o.style_layers = layer_weights_from_json(layers, "style_layers");
  r.get("normalisation", o.normalisation).get("steps", o.steps).get("epochs", o.epochs).get("lr", o.lr);
  r.get("adversarial_weight", o.adversarial_weight).get("netD", o.discriminator.arch).get("ndf", o.discriminator.ndf);
  r.get("n_layers_D", o.discriminator.n_layers).get("norm_D", o.discriminator.norm).get("lr_d", o.lr_d);
  r.get("seed", o.seed).get("device", o.device).get("log_every", o.log_every).get("sample_every", o.sample_every);
  r.get("checkpoint_every", o.checkpoint_every).get("keep_checkpoints", o.keep_checkpoints).get("num_samples", o.num_samples);
  // Runs from before hold_out existed trained on every file; resuming them must not change that.
  o.hold_out = 0;
  r.get("hold_out", o.hold_out);
  r.reject_unknown();
  return o;
}

FeedforwardTrainResult train_feedforward(const FeedforwardTrainOptions& options, const std::string& run_dir,
                                         const Callbacks& callbacks) {
  const FeedforwardTrainOptions resolved = resolve(options);
  if (std::filesystem::exists(run_dir + "/config.json"))
    throw FileError(run_dir, "already holds a run; continue it with --resume, or choose another --out");
  Session s = make_session(resolved, run_dir, callbacks);
  s.run->write_config(to_json(s.options));
  write_image(s.run->real_samples_path(), s.style_image.cpu());
  write_samples(s);  // step 0: the untrained network
  callbacks.info("training a feed-forward network for " + s.options.style + " on " + s.dataset->describe() +
                 " into " + run_dir);
  return run_training(s, callbacks);
}

FeedforwardTrainResult resume_feedforward(const std::string& run_dir, int64_t steps, const Callbacks& callbacks) {
  if (!std::filesystem::exists(run_dir + "/config.json")) throw FileError(run_dir, "not a training run (no config.json)");
  FeedforwardTrainOptions options = feedforward_train_options_from_json(RunDirectory(run_dir).read_config());
  if (steps > 0) options.steps = steps;
  options = resolve(options);
  Session s = make_session(options, run_dir, callbacks);
  const std::string latest = run_dir + "/checkpoints/latest.ckpt";
  if (!std::filesystem::exists(latest)) throw FileError(latest, "no checkpoint to resume from");
  restore_checkpoint(s, latest);
  if (s.step >= options.steps)
    callbacks.info("the run already has " + std::to_string(s.step) + " steps; pass more --steps to continue");
  s.run->truncate_log_after(s.step);
  if (steps > 0) s.run->write_config(to_json(s.options));
  callbacks.info("resuming " + run_dir + " at step " + std::to_string(s.step));
  return run_training(s, callbacks);
}

}  // namespace impasto
