#include "impasto/train/feedforward_trainer.h"

#include <torch/torch.h>

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

namespace impasto {
namespace {

void check_weight(double w, const std::string& option) {
  check_option(std::isfinite(w) && w >= 0, option, "must be a finite number >= 0");
}

// The style image as the Grams see it: longest side `style_size`.
at::Tensor load_style_image(const FeedforwardTrainOptions& o) {
  const at::Tensor image = read_image(o.style).rgb;
  const auto [h, w] = fit_longest_side(image.size(2), image.size(3), o.style_size);
  return resize_image(image, h, w);
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

// Draws of step s come from the loop's generator seeded with (seed ^ this, s).
constexpr uint64_t kStepSeedSalt = 0xfeedf0f0ULL;

class FeedforwardRecipe final : public Recipe {
 public:
  explicit FeedforwardRecipe(const FeedforwardTrainOptions& options) : o_(resolve(options)) {}

  std::string name() const override { return "feedforward"; }
  Json config() const override { return to_json(o_); }
  LoopSettings settings() const override { return {o_, o_.steps, kStepSeedSalt}; }

  void setup(const SetupContext& context) override {
    world_ = context.world_size;
    o_.data.rank = context.rank;
    o_.data.world_size = context.world_size;
    device_ = resolve_device(o_.device);
    dataset_ = make_dataset(o_.data, context.callbacks);
    {
      // Images never trained on: the held-out files of a folder (centre crops), or another stream of
      // the synthetic set; the same in every process.
      DatasetOptions v = o_.data;
      v.seed = sample_seed(o_.seed, 0x7a11d);
      v.batch_size = o_.num_samples;
      v.workers = 0;
      v.flip = false;
      v.rank = 0;
      v.world_size = 1;
      if (!o_.data.folder.empty() && o_.data.hold_out > 0) {
        v.held_out_only = true;
        v.crop = "center";
        v.batch_size = std::min(o_.num_samples, o_.data.hold_out);
      } else if (!o_.data.folder.empty()) {
        context.callbacks.warn("the content folder has too few images to hold any out: the samples show training images");
      }
      auto validation = make_dataset(v, context.callbacks);
      validation->start(0);
      validation_ = validation->next().samples.to(device_);
    }
    Backbone backbone = make_backbone(o_.backbone);
    backbone->to(device_);
    backbone->eval();
    for (auto& p : backbone->parameters()) p.set_requires_grad(false);
    loss_ = std::make_unique<PerceptualLoss>(backbone, weights_of(o_));
    style_image_ = load_style_image(o_).to(device_);
    loss_->set_style(style_image_);

    seed_everything(o_.seed);
    net_ = make_transformer_net(o_.net);
    net_->to(device_);
    net_->train();
    net_params_ = net_->parameters();
    opt_net_ = std::make_unique<torch::optim::Adam>(net_params_, torch::optim::AdamOptions(o_.lr));
    if (o_.adversarial_weight > 0) {
      D_ = make_cyclegan_discriminator(o_.discriminator);
      D_->to(device_);
      D_->train();
      D_params_ = D_->parameters();
      opt_d_ = std::make_unique<torch::optim::Adam>(D_params_, torch::optim::AdamOptions(o_.lr_d).betas({0.5, 0.999}));
      // Patches of the training size must fit: upscale a style image smaller than that.
      at::Tensor style = style_image_;
      const int64_t shortest = std::min(style.size(2), style.size(3));
      if (shortest < o_.data.size) {
        const double scale = static_cast<double>(o_.data.size) / static_cast<double>(shortest);
        style = resize_image(style, std::max<int64_t>(o_.data.size, std::llround(style.size(2) * scale)),
                             std::max<int64_t>(o_.data.size, std::llround(style.size(3) * scale)));
      }
      style_for_patches_ = style;
    }
  }

  std::string describe() const override {
    return "a feed-forward network for " + o_.style + " on " + dataset_->describe();
  }

  std::vector<torch::nn::Module*> replicated_modules() override {
    std::vector<torch::nn::Module*> modules = {net_.get()};
    if (D_) modules.push_back(D_.get());
    return modules;
  }

  void start(int64_t step) override { dataset_->start(step); }

  StepResult step(StepContext& context) override {
    Batch batch = dataset_->next();
    const at::Tensor content = batch.samples.to(device_);
    // Trained in the [0,1] parametrisation (see export_models) on the unclamped output: a clamp would
    // stop the gradient of every saturated pixel.
    const at::Tensor output = net_->forward_raw(content);
    PerceptualTerms terms = (*loss_)(output, loss_->content_targets(content));
    at::Tensor total = terms.total;

    double loss_d = 0, d_real = 0, d_fake = 0, adversarial = 0;
    if (D_) {
      // Least-squares PatchGAN (pix2pix): D step on style patches vs the detached outputs, then the
      // network's term pushes every output patch towards "style".
      const at::Tensor real = to_gan_range(style_patches(content.size(0), context).to(device_));
      const at::Tensor fake = to_gan_range(output.detach().clamp(0, 1));
      const at::Tensor out_real = D_->forward(real), out_fake = D_->forward(fake);
      const at::Tensor objective_d = discriminator_loss(GanLoss::lsgan, out_real, out_fake);
      opt_d_->zero_grad();
      objective_d.backward();
      context.average_gradients(D_params_);
      opt_d_->step();
      loss_d = objective_d.item<double>();
      d_real = out_real.mean().item<double>();
      d_fake = out_fake.mean().item<double>();
      const at::Tensor adv = o_.adversarial_weight * generator_loss(GanLoss::lsgan, D_->forward(to_gan_range(output)));
      adversarial = adv.item<double>();
      total = total + adv;
    }
    opt_net_->zero_grad();
    total.backward();
    context.average_gradients(net_params_);
    opt_net_->step();

    const double loss = total.item<double>();
    if (!std::isfinite(loss))
      throw Error("training diverged at step " + std::to_string(context.step()) + "; try a lower --lr or smaller weights");
    StepResult out;
    out.metrics = Json{{"loss", loss}, {"content", terms.content}, {"style", terms.style}, {"tv", terms.tv}, {"lr", o_.lr}};
    for (const auto& [name, value] : terms.style_layers) out.metrics["style/" + name] = value;
    if (D_) {
      out.metrics["adversarial"] = adversarial;
      out.metrics["loss_d"] = loss_d;
      out.metrics["d_real"] = d_real;
      out.metrics["d_fake"] = d_fake;
    }
    out.progress = {{"content", terms.content}, {"style", terms.style}};
    if (o_.tv_weight > 0) out.progress.emplace_back("tv", terms.tv);
    if (D_) {
      out.progress.emplace_back("adv", adversarial);
      out.progress.emplace_back("D", loss_d);
    }
    out.images = content.size(0) * world_;
    return out;
  }

  Checkpoint checkpoint(int64_t step) override {
    Checkpoint c;
    c.arch = "feedforward";
    c.meta = Json{{"kind", "feedforward-run"}, {"step", step}, {"config", to_json(o_)}};
    state().add_to(c.tensors);
    return c;
  }

  void restore(const Checkpoint& c, const std::string& file) override { state().load_from(c.tensors, file); }

  // Validation content images (top row) and their stylizations (bottom row).
  at::Tensor samples() override {
    at::Tensor out;
    {
      torch::NoGradGuard no_grad;
      net_->eval();
      out = net_->forward_raw(validation_).clamp(0, 1).cpu();  // the [0,1] parametrisation
      net_->train();
    }
    std::vector<at::Tensor> cells;
    for (int64_t i = 0; i < validation_.size(0); ++i) cells.push_back(validation_[i].unsqueeze(0).cpu());
    for (int64_t i = 0; i < out.size(0); ++i) cells.push_back(out[i].unsqueeze(0));
    return make_grid(cells, validation_.size(0), std::max<int64_t>(o_.data.size, 96), 2);
  }

  at::Tensor real_samples() override { return style_image_.cpu(); }  // the style image

  RunReport report(const RunFolder& run, int64_t step, double seconds) const override {
    const FeedforwardTrainOptions& o = o_;
    RunReport r;
    r.title = "Feed-forward style network " + run.path();
    r.summary = {{"style", o.style},
                 {"content", dataset_->describe()},
                 {"network", "TransformerNet width " + std::to_string(o.net.width) + ", " +
                                 std::to_string(o.net.residual_blocks) + " residual blocks"},
                 {"backbone", o.backbone.name},
                 {"weights", "content " + std::to_string(*o.content_weight) + ", style " + std::to_string(*o.style_weight) +
                                 ", tv " + std::to_string(*o.tv_weight) + ", adversarial " + std::to_string(o.adversarial_weight)},
                 {"steps", std::to_string(step) + " of " + std::to_string(o.steps)},
                 {"batch", std::to_string(o.data.batch_size) + " images of " + std::to_string(o.data.size) + " px x " +
                               std::to_string(world_) + " process(es)"},
                 {"skipped files", std::to_string(skipped_files())},
                 {"training time (this session)", std::to_string(static_cast<int64_t>(seconds)) + " s"},
                 {"model", "model.ckpt (impasto stylize --model " + run.file("model.ckpt") + " photo.jpg)"}};
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

  std::vector<ExportedModel> exported_models() const override { return {{"model.ckpt", ""}}; }

  // The trained network alone, with the keys pytorch/examples' TransformerNet has and its [0,255]
  // convention. Training uses a [0,1] parametrisation instead: the same network maps [0,1] images to
  // [0,1] images. Both are one network up to a rescaling: conv1 is followed by an instance norm, which
  // removes the input's scale (and conv1's per-channel bias), so only the last conv differs: its
  // weight and bias times 255 give the [0,255] output. In the [0,255] parametrisation the last conv's
  // weights would have to grow 255-fold from their initial scale at Adam's fixed step size, which
  // takes thousands of steps before the output even reaches the image's range.
  void export_models(const RunDirectory& run, int64_t step) override {
    Checkpoint model;
    model.arch = "transformer_net";
    model.meta = Json{{"kind", "transformer_net"}, {"style", o_.style}, {"step", step},
                      {"width", o_.net.width}, {"residual_blocks", o_.net.residual_blocks}};
    for (auto& [name, t] : module_state_dict(*net_))
      model.tensors.emplace_back(name, name.rfind("deconv3.", 0) == 0 ? t.cpu() * 255.0 : t.cpu());
    run.write_model("model.ckpt", model);
  }

  int64_t skipped_files() const override { return dataset_->stats().skipped; }

 private:
  TrainingState state() const {
    TrainingState state{{{"net", net_.get()}}, {{"net", opt_net_.get()}}};
    if (D_) {
      state.modules.emplace_back("D", D_.get());
      state.optimizers.emplace_back("D", opt_d_.get());
    }
    return state;
  }

  // `count` random crops of data.size x data.size from the style image, for the discriminator's real
  // patches: this process's rows of the global draw of crop positions.
  at::Tensor style_patches(int64_t count, StepContext& context) const {
    const at::Tensor& style = style_for_patches_;
    const int64_t side = o_.data.size, h = style.size(2), w = style.size(3);
    const at::Tensor offsets = context.uniform_rows(count, {2});
    std::vector<at::Tensor> patches;
    for (int64_t i = 0; i < count; ++i) {
      const int64_t y = static_cast<int64_t>(offsets[i][0].item<double>() * static_cast<double>(h - side + 1));
      const int64_t x = static_cast<int64_t>(offsets[i][1].item<double>() * static_cast<double>(w - side + 1));
      patches.push_back(style.narrow(2, std::min(y, h - side), side).narrow(3, std::min(x, w - side), side));
    }
    return at::cat(patches);
  }

  FeedforwardTrainOptions o_;
  int world_ = 1;
  c10::Device device_ = c10::kCPU;
  std::unique_ptr<Dataset> dataset_;
  TransformerNet net_{nullptr};
  CycleGanDiscriminator D_{nullptr};  // only with an adversarial term
  std::vector<at::Tensor> net_params_, D_params_;
  std::unique_ptr<torch::optim::Adam> opt_net_, opt_d_;
  std::unique_ptr<PerceptualLoss> loss_;
  at::Tensor style_image_;        // [1,3,h,w] on the device
  at::Tensor style_for_patches_;  // the style image, at least data.size on each side
  at::Tensor validation_;         // [num_samples,3,S,S] content images never trained on
};

}  // namespace

FeedforwardTrainOptions resolve(FeedforwardTrainOptions o) {
  check_option(!o.style.empty(), "style", "give the style image (--style painting.jpg)");
  if (!std::filesystem::exists(o.style)) throw FileError(o.style, "style image not found");
  check_option(o.data.size >= 16 && o.data.size <= 2048 && o.data.size % 4 == 0, "image_size",
        "must be a multiple of 4 in 16..2048 (the network halves the image twice)");
  o.data.channels = 3;
  if (o.style_size == 0) o.style_size = 2 * o.data.size;
  check_option(o.style_size >= 16 && o.style_size <= 4096, "style_size", "must be in 16..4096 (0 = twice the image size)");
  check_option(o.data.batch_size >= 1 && o.data.batch_size <= 1024, "batch_size", "must be in 1..1024");
  check_option(o.net.width >= 1 && o.net.width <= 512, "width", "must be in 1..512");
  check_option(o.net.residual_blocks >= 0 && o.net.residual_blocks <= 64, "residual_blocks", "must be in 0..64");
  check_option(o.lr > 0 && o.lr < 1, "lr", "must be in (0, 1)");
  check_option(o.lr_d > 0 && o.lr_d < 1, "lr_d", "must be in (0, 1)");
  check_weight(o.adversarial_weight, "adversarial_weight");
  check_loop_options(o);
  check_option(o.num_samples >= 1 && o.num_samples <= 64, "num_samples", "must be in 1..64");
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

  check_option(o.hold_out >= -1 && o.hold_out <= 4096, "hold_out", "must be -1 (auto) or in 0..4096");
  o.data.hold_out = 0;
  int64_t files = 0;  // training files of a folder
  if (!o.data.folder.empty()) {
    auto counting = make_dataset([&] { DatasetOptions d = o.data; d.workers = 0; return d; }());
    const int64_t all = counting->stats().files;
    if (o.hold_out == -1) o.hold_out = std::min(o.num_samples, all / 4);
    check_option(o.hold_out < all, "hold_out", "cannot hold out " + std::to_string(o.hold_out) + " of the " +
                                            std::to_string(all) + " images of " + o.data.folder + ": none would be left");
    o.data.hold_out = o.hold_out;
    files = all - o.hold_out;
  } else {
    check_option(o.hold_out <= 0, "hold_out", "only a content folder holds images out (synthetic validation images are never trained on)");
    o.hold_out = 0;
  }
  if (o.steps == 0) {
    check_option(!o.data.folder.empty(), "steps", "synthetic content has no epochs: give --steps");
    check_option(o.epochs >= 1, "epochs", "must be at least 1");
    o.steps = std::max<int64_t>(1, (o.epochs * files + o.data.batch_size - 1) / o.data.batch_size);
  }
  check_option(o.steps >= 1, "steps", "must be at least 1");
  read_image(o.style);  // a corrupt style image fails now, not after the set-up
  o.data.seed = o.seed;
  return o;
}

Json to_json(const FeedforwardTrainOptions& o) {
  Json j{{"style", o.style},
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
         {"num_samples", o.num_samples},
         {"hold_out", o.hold_out}};
  add_data_options(j, o.data, "content_dir", "image_size");
  add_loop_options(j, o);
  return j;
}

FeedforwardTrainOptions feedforward_train_options_from_json(const Json& j) {
  FeedforwardTrainOptions o;
  JsonReader r(j);
  r.get("style", o.style).get("style_size", o.style_size);
  read_data_options(r, o.data, "content_dir", "image_size");
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
  r.get("num_samples", o.num_samples);
  read_loop_options(r, o);
  // Runs from before hold_out existed trained on every file; resuming them must not change that.
  o.hold_out = 0;
  r.get("hold_out", o.hold_out);
  r.reject_unknown();
  return o;
}

FeedforwardTrainResult train_feedforward(const FeedforwardTrainOptions& options, const std::string& run_dir,
                                         const Callbacks& callbacks) {
  FeedforwardRecipe recipe(options);
  return FeedforwardTrainResult(train_run(recipe, run_dir, callbacks));
}

FeedforwardTrainResult resume_feedforward(const std::string& run_dir, int64_t steps, const Callbacks& callbacks) {
  return FeedforwardTrainResult(resume_run(run_dir, steps, callbacks, "feedforward"));
}

void register_builtin_feedforward_recipe(RecipeRegistry& registry) {
  registry.add("feedforward", recipe_factory<FeedforwardRecipe>(feedforward_train_options_from_json),
               "a one-pass style network for one style image (perceptual loss, optional PatchGAN term)");
}

}  // namespace impasto
