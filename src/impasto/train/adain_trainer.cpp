#include "impasto/train/adain_trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "impasto/core/error.h"
#include "impasto/core/runtime.h"
#include "impasto/io/grid.h"
#include "impasto/nn/adain.h"
#include "impasto/style/adain.h"
#include "impasto/train/optimizer_support.h"

namespace impasto {
namespace {

// Draws of step s come from the loop's generator seeded with (seed ^ this, s); the style stream and
// the fixed sample images have seeds of their own.
constexpr uint64_t kStepSeedSalt = 0xada1a0ULL;
constexpr uint64_t kStyleStreamSalt = 0x5791e5ULL;
constexpr uint64_t kContentSamplesSalt = 0x7a11dULL;
constexpr uint64_t kStyleSamplesSalt = 0x7a11eULL;

const char* const kContentLayer = "relu4_1";

// The files of a folder kept out of training: -1 = num_samples, at most a quarter of the folder.
int64_t resolve_hold_out(const DatasetOptions& data, int64_t hold_out, int64_t num_samples, const std::string& what) {
  if (data.folder.empty()) return 0;
  auto counting = make_dataset([&] { DatasetOptions d = data; d.workers = 0; d.hold_out = 0; return d; }());
  const int64_t all = counting->stats().files;
  const int64_t n = hold_out == -1 ? std::min(num_samples, all / 4) : hold_out;
  check_option(n < all, "hold_out", "cannot hold out " + std::to_string(n) + " of the " + std::to_string(all) + " " + what +
                                        " images of " + data.folder + ": none would be left");
  return n;
}

// `count` fixed images never trained on: held-out files of a folder (centre crops), or another stream
// of a synthetic set; training images (with a warning) when a folder holds none out.
at::Tensor fixed_images(const DatasetOptions& training, int64_t count, uint64_t seed, const std::string& what,
                        const Callbacks& callbacks) {
  DatasetOptions v = training;
  v.seed = seed;
  v.batch_size = count;
  v.workers = 0;
  v.flip = false;
  v.rank = 0;
  v.world_size = 1;
  v.crop = "center";
  v.load_size = 0;  // the whole image (its shorter side) at the training size, not a crop of a larger one
  if (!training.folder.empty() && training.hold_out > 0) {
    v.held_out_only = true;
    v.batch_size = std::min(count, training.hold_out);
  } else if (!training.folder.empty()) {
    callbacks.warn("the " + what + " folder has too few images to hold any out: the samples show training images");
  }
  auto dataset = make_dataset(v, callbacks);
  dataset->start(0);
  return dataset->next().samples;
}

class AdainRecipe final : public Recipe {
 public:
  explicit AdainRecipe(const AdainTrainOptions& options) : o_(resolve(options)) {}

  std::string name() const override { return "adain"; }
  Json config() const override { return to_json(o_); }
  LoopSettings settings() const override { return {o_, o_.steps, kStepSeedSalt}; }

  void setup(const SetupContext& context) override {
    world_ = context.world_size;
    device_ = resolve_device(o_.device);
    for (DatasetOptions* d : {&o_.content, &o_.style}) {
      d->rank = context.rank;
      d->world_size = context.world_size;
    }
    content_ = make_dataset(o_.content, context.callbacks);
    style_ = make_dataset(o_.style, context.callbacks);
    sample_content_ = fixed_images(o_.content, o_.num_samples, sample_seed(o_.seed, kContentSamplesSalt), "content",
                                   context.callbacks).to(device_);
    sample_style_ = fixed_images(o_.style, o_.num_samples, sample_seed(o_.seed, kStyleSamplesSalt), "style",
                                 context.callbacks).to(device_);

    encoder_ = make_backbone(o_.encoder);
    encoder_->to(device_);
    encoder_->eval();
    for (auto& p : encoder_->parameters()) p.set_requires_grad(false);

    seed_everything(o_.seed);
    decoder_ = make_adain_decoder(relu4_1_width(*encoder_));
    if (!o_.init_decoder.empty()) {
      const AdainDecoder start = load_adain_decoder(o_.init_decoder);
      if (start->in_channels() != decoder_->in_channels())
        throw OptionError("init_decoder", o_.init_decoder + " takes " + std::to_string(start->in_channels()) +
                                              " channels; the " + o_.encoder.name + " encoder's relu4_1 has " +
                                              std::to_string(decoder_->in_channels()));
      decoder_ = start;
    }
    decoder_->to(device_);
    decoder_->train();
    params_ = decoder_->parameters();
    optimizer_ = std::make_unique<torch::optim::Adam>(params_, torch::optim::AdamOptions(o_.lr));
  }

  std::string describe() const override {
    return "an AdaIN decoder for the " + o_.encoder.name + " encoder on " + content_->describe() + " (content) and " +
           style_->describe() + " (style)";
  }

  std::vector<torch::nn::Module*> replicated_modules() override { return {decoder_.get()}; }

  void start(int64_t step) override {
    content_->start(step);
    style_->start(step);
  }

  StepResult step(StepContext& context) override {
    const at::Tensor content = content_->next().samples.to(device_);
    const at::Tensor style = style_->next().samples.to(device_);
    const double lr = adain_learning_rate(o_.lr, o_.lr_decay, context.step());
    set_lr(*optimizer_, lr);

    const AdainObjective objective = adain_objective(*encoder_, *decoder_, content, style, o_);
    optimizer_->zero_grad();
    objective.total.backward();
    context.average_gradients(params_);
    optimizer_->step();

    const double loss = objective.total.item<double>();
    if (!std::isfinite(loss))
      throw Error("training diverged at step " + std::to_string(context.step()) + "; try a lower --lr or --style-weight");
    StepResult out;
    out.metrics["loss"] = loss;
    out.metrics["content"] = objective.content;
    out.metrics["style"] = objective.style;
    for (const auto& [layer, value] : objective.style_layers) out.metrics["style/" + layer] = value;
    out.metrics["lr"] = lr;
    out.progress = {{"content", objective.content}, {"style", objective.style}};
    if (o_.identity_weight > 0) {
      out.metrics["identity"] = objective.identity;
      out.progress.emplace_back("identity", objective.identity);
    }
    out.images = o_.content.batch_size * world_;
    return out;
  }

  Checkpoint checkpoint(int64_t step) override {
    Checkpoint c;
    c.arch = "adain";
    c.meta = Json{{"kind", "adain-run"}, {"step", step}, {"config", to_json(o_)}};
    state().add_to(c.tensors);
    return c;
  }

  void restore(const Checkpoint& c, const std::string& file) override { state().load_from(c.tensors, file); }

  // The top row: the fixed style images; then one row per fixed content image: the photo and its
  // stylization with each style (alpha 1).
  at::Tensor samples() override {
    const int64_t contents = sample_content_.size(0), styles = sample_style_.size(0);
    std::vector<at::Tensor> cells;
    cells.push_back(torch::ones({1, 3, o_.content.size, o_.content.size}));  // the corner
    for (int64_t j = 0; j < styles; ++j) cells.push_back(sample_style_[j].unsqueeze(0).cpu());
    {
      torch::NoGradGuard no_grad;
      decoder_->eval();
      const at::Tensor content_features = encoder_->extract(sample_content_, {kContentLayer}).at(kContentLayer);
      const at::Tensor style_features = encoder_->extract(sample_style_, {kContentLayer}).at(kContentLayer);
      for (int64_t i = 0; i < contents; ++i) {
        cells.push_back(sample_content_[i].unsqueeze(0).cpu());
        const at::Tensor fc = content_features[i].unsqueeze(0).expand({styles, -1, -1, -1});
        const at::Tensor stylized = decoder_->forward(adaptive_instance_norm(fc, style_features)).clamp(0, 1).cpu();
        for (int64_t j = 0; j < styles; ++j) cells.push_back(stylized[j].unsqueeze(0));
      }
      decoder_->train();
    }
    return make_grid(cells, styles + 1, std::max<int64_t>(o_.content.size, 96), 2);
  }

  // The fixed content images (top row) and style images (bottom row).
  at::Tensor real_samples() override {
    std::vector<at::Tensor> cells;
    for (const at::Tensor* set : {&sample_content_, &sample_style_})
      for (int64_t i = 0; i < set->size(0); ++i) cells.push_back((*set)[i].unsqueeze(0).cpu());
    return make_grid(cells, std::max(sample_content_.size(0), sample_style_.size(0)), o_.content.size, 2);
  }

  RunReport report(const RunFolder& run, int64_t step, double seconds) const override {
    const AdainTrainOptions& o = o_;
    RunReport r;
    r.title = "AdaIN decoder " + run.path();
    r.summary = {{"content", content_->describe()},
                 {"style", style_->describe()},
                 {"encoder", o.encoder.name + (o.encoder.weights.empty() ? " (seed " + std::to_string(o.encoder.seed) + ")"
                                                                         : " (" + o.encoder.weights + ")")},
                 {"decoder", "29-module AdaIN decoder taking " + std::to_string(decoder_->in_channels()) + " channels"},
                 {"weights", "content " + std::to_string(o.content_weight) + ", style " + std::to_string(o.style_weight) +
                                 ", identity " + std::to_string(o.identity_weight)},
                 {"learning rate", std::to_string(o.lr) + " / (1 + " + std::to_string(o.lr_decay) + " i)"},
                 {"steps", std::to_string(step) + " of " + std::to_string(o.steps)},
                 {"batch", std::to_string(o.content.batch_size) + " pairs of " + std::to_string(o.content.size) + " px x " +
                               std::to_string(world_) + " process(es)"},
                 {"skipped files", std::to_string(skipped_files())},
                 {"training time (this session)", std::to_string(static_cast<int64_t>(seconds)) + " s"},
                 {"model", "decoder.ckpt (impasto stylize --method adain --decoder " + run.file("decoder.ckpt") +
                               " -c photo.jpg -s painting.jpg -o out.png)"}};
    std::vector<std::string> style_keys;
    for (const auto& [name, w] : o.style_layers) style_keys.push_back("style/" + name);
    r.charts = {{"weighted loss terms", {"content", "style", "identity"}, true},
                {"style loss per layer (weighted)", style_keys, true},
                {"images per second", {"images_per_s"}, false}};
    r.samples_caption = "Top row: fixed style images; below, a fixed content image per row and its stylization with each "
                        "style (alpha 1). " +
                        std::string(o.content.hold_out > 0 || !o.content.synthetic.empty()
                                        ? "The content images are never trained on. "
                                        : "The content images are training images (the folder is too small to hold any out). ") +
                        "samples/real.png shows the content and style images side by side.";
    return r;
  }

  std::vector<ExportedModel> exported_models() const override { return {{"decoder.ckpt", ""}}; }

  // The decoder alone under the published decoder.pth's keys (`N.weight`, `N.bias`), with its encoder
  // named in the metadata.
  void export_models(const RunDirectory& run, int64_t step) override {
    Checkpoint model;
    model.arch = "adain_decoder";
    model.meta = Json{{"kind", "adain_decoder"},
                      {"step", step},
                      {"encoder", o_.encoder.name},
                      {"encoder_seed", o_.encoder.seed},
                      {"encoder_weights", o_.encoder.weights}};
    for (auto& [name, t] : module_state_dict(*decoder_)) model.tensors.emplace_back(name, t.cpu());
    run.write_model("decoder.ckpt", model);
  }

  int64_t skipped_files() const override { return content_->stats().skipped + style_->stats().skipped; }

 private:
  TrainingState state() const { return TrainingState{{{"decoder", decoder_.get()}}, {{"decoder", optimizer_.get()}}}; }

  AdainTrainOptions o_;
  int world_ = 1;
  c10::Device device_ = c10::kCPU;
  std::unique_ptr<Dataset> content_, style_;
  Backbone encoder_;
  AdainDecoder decoder_;
  std::vector<at::Tensor> params_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  at::Tensor sample_content_, sample_style_;  // fixed images never trained on, on the device
};

}  // namespace

AdainObjective adain_objective(BackboneImpl& encoder, AdainDecoderImpl& decoder, const at::Tensor& content,
                               const at::Tensor& style, const AdainTrainOptions& o) {
  const bool adain = o.content_weight > 0 || o.style_weight > 0;  // else Li et al.'s reconstruction only
  std::set<std::string> taps{kContentLayer};
  for (const auto& [layer, weight] : o.style_layers) taps.insert(layer);
  at::Tensor own;  // E(c), for the AdaIN target and the identity term
  FeatureMaps style_features;
  {
    torch::NoGradGuard no_grad;
    own = encoder.extract(content, {kContentLayer}).at(kContentLayer);
    if (adain) style_features = encoder.extract(style, taps);
  }
  AdainObjective out;
  out.total = torch::zeros({}, content.options());
  if (adain) {
    const at::Tensor target = adaptive_instance_norm(own, style_features.at(kContentLayer));
    // The decoder's raw output goes back into the encoder, unclamped, as in the reference.
    const FeatureMaps output_features = encoder.extract(decoder.forward(target), taps);
    const at::Tensor content_loss = torch::mse_loss(output_features.at(kContentLayer), target);
    at::Tensor style_loss = torch::zeros({}, content_loss.options());
    for (const auto& [layer, weight] : o.style_layers) {
      const ChannelStatistics got = channel_statistics(output_features.at(layer));
      const ChannelStatistics want = channel_statistics(style_features.at(layer));
      const at::Tensor term = weight * (torch::mse_loss(got.mean, want.mean) + torch::mse_loss(got.std, want.std));
      out.style_layers.emplace_back(layer, o.style_weight * term.item<double>());
      style_loss = style_loss + term;
    }
    out.total = o.content_weight * content_loss + o.style_weight * style_loss;
    out.content = o.content_weight * content_loss.item<double>();
    out.style = o.style_weight * style_loss.item<double>();
  }
  if (o.identity_weight > 0) {
    const at::Tensor reconstruction = decoder.forward(own);
    const at::Tensor identity = torch::mse_loss(reconstruction, content) +
                                torch::mse_loss(encoder.extract(reconstruction, {kContentLayer}).at(kContentLayer), own);
    out.total = out.total + o.identity_weight * identity;
    out.identity = o.identity_weight * identity.item<double>();
  }
  return out;
}

double adain_learning_rate(double lr, double lr_decay, int64_t step) {
  return lr / (1.0 + lr_decay * static_cast<double>(step - 1));
}

AdainTrainOptions resolve(AdainTrainOptions o) {
  check_option(o.content.folder.empty() != o.content.synthetic.empty(), "content_dir",
               "give the content images: a folder (--content-dir) or a synthetic set (--content-synthetic)");
  check_option(o.style.folder.empty() != o.style.synthetic.empty(), "style_dir",
               "give the style images: a folder (--style-dir) or a synthetic set (--style-synthetic)");
  check_option(o.content.size >= 16 && o.content.size <= 2048 && o.content.size % 8 == 0, "image_size",
               "must be a multiple of 8 in 16..2048 (the encoder pools three times)");
  check_option(o.content.load_size == 0 || (o.content.load_size >= o.content.size && o.content.load_size <= 8192),
               "load_size", "must be 0 (= image_size) or in image_size..8192");
  check_option(o.content.batch_size >= 1 && o.content.batch_size <= 1024, "batch_size", "must be in 1..1024");
  // The style set is cut like the content set.
  for (DatasetOptions* d : {&o.content, &o.style}) {
    d->channels = 3;
    d->size = o.content.size;
    d->load_size = o.content.load_size;
    d->crop = o.content.crop;
    d->flip = o.content.flip;
    d->preprocess = o.content.preprocess;
    d->batch_size = o.content.batch_size;
    d->workers = o.content.workers;
  }
  check_option(std::isfinite(o.content_weight) && o.content_weight >= 0, "content_weight", "must be a finite number >= 0");
  check_option(std::isfinite(o.style_weight) && o.style_weight >= 0, "style_weight", "must be a finite number >= 0");
  check_option(std::isfinite(o.identity_weight) && o.identity_weight >= 0, "identity_weight", "must be a finite number >= 0");
  check_option(o.content_weight + o.style_weight + o.identity_weight > 0, "content_weight",
               "the content, style and identity weights are all 0: nothing to train");
  check_option(o.lr > 0 && o.lr < 1, "lr", "must be in (0, 1)");
  check_option(std::isfinite(o.lr_decay) && o.lr_decay >= 0, "lr_decay", "must be a finite number >= 0");
  check_option(o.steps >= 1, "steps", "must be at least 1");
  check_option(o.num_samples >= 1 && o.num_samples <= 16, "num_samples", "must be in 1..16");
  check_option(o.hold_out >= -1 && o.hold_out <= 4096, "hold_out", "must be -1 (auto) or in 0..4096");
  check_option(!o.style_layers.empty(), "style_layers", "give at least one style layer");
  if (!o.init_decoder.empty()) {
    // A decoder.ckpt names the encoder it was trained for: it must be this run's.
    AdainOptions named;
    named.decoder = o.init_decoder;
    const BackboneOptions trained_for = adain_encoder(named);  // FileError for a missing file
    check_option(trained_for.name == o.encoder.name && (trained_for.name != "random-vgg19" || trained_for.seed == o.encoder.seed),
                 "init_decoder", o.init_decoder + " was trained for the " + trained_for.name + " encoder" +
                     (trained_for.name == "random-vgg19" ? " (seed " + std::to_string(trained_for.seed) + ")" : "") +
                     "; this run's is " + o.encoder.name +
                     (o.encoder.name == "random-vgg19" ? " (seed " + std::to_string(o.encoder.seed) + ")" : ""));
  }
  check_loop_options(o);
  resolve_device(o.device);

  const BackboneInfo& info = backbone_info(o.encoder.name);
  check_option(std::find(info.layers.begin(), info.layers.end(), kContentLayer) != info.layers.end(), "encoder",
               "the AdaIN encoder needs a relu4_1 layer: vgg19-normalised (with --weights) or random-vgg19");
  for (const auto& [layer, weight] : o.style_layers) {
    check_backbone_layer(o.encoder.name, layer, "style_layers");
    check_option(std::isfinite(weight) && weight >= 0, "style_layers", "layer weights must be finite numbers >= 0");
  }
  make_backbone(o.encoder);  // a missing or wrong weight file fails now

  check_option(o.hold_out <= 0 || !o.content.folder.empty() || !o.style.folder.empty(), "hold_out",
               "only folders hold images out (synthetic sample images are never trained on)");
  o.content.hold_out = resolve_hold_out(o.content, o.hold_out, o.num_samples, "content");
  o.style.hold_out = resolve_hold_out(o.style, o.hold_out, o.num_samples, "style");
  o.content.seed = o.seed;
  o.style.seed = sample_seed(o.seed, kStyleStreamSalt);
  return o;
}

Json to_json(const AdainTrainOptions& o) {
  Json j{{"style_dir", o.style.folder},
         {"style_synthetic", o.style.synthetic},
         {"load_size", o.content.load_size},
         {"hold_out_content", o.content.hold_out},
         {"hold_out_style", o.style.hold_out},
         {"hold_out", o.hold_out},
         {"encoder", o.encoder.name},
         {"encoder_weights", o.encoder.weights},
         {"encoder_seed", o.encoder.seed},
         {"style_layers", layer_weights_to_json(o.style_layers)},
         {"content_weight", o.content_weight},
         {"style_weight", o.style_weight},
         {"identity_weight", o.identity_weight},
         {"init_decoder", o.init_decoder},
         {"lr", o.lr},
         {"lr_decay", o.lr_decay},
         {"steps", o.steps},
         {"num_samples", o.num_samples}};
  add_data_options(j, o.content, "content_dir", "image_size");
  add_loop_options(j, o);
  return j;
}

AdainTrainOptions adain_train_options_from_json(const Json& j) {
  AdainTrainOptions o;
  JsonReader r(j);
  read_data_options(r, o.content, "content_dir", "image_size");
  r.get("style_dir", o.style.folder).get("style_synthetic", o.style.synthetic).get("load_size", o.content.load_size);
  // Written by resolve(); resolve() computes them again from hold_out and the folders.
  int64_t resolved_hold_out = 0;
  r.get("hold_out_content", resolved_hold_out).get("hold_out_style", resolved_hold_out).get("hold_out", o.hold_out);
  r.get("encoder", o.encoder.name).get("encoder_weights", o.encoder.weights).get("encoder_seed", o.encoder.seed);
  Json layers;
  r.get("style_layers", layers);
  if (!layers.is_null()) o.style_layers = layer_weights_from_json(layers, "style_layers");
  r.get("content_weight", o.content_weight).get("style_weight", o.style_weight).get("identity_weight", o.identity_weight);
  r.get("init_decoder", o.init_decoder);
  r.get("lr", o.lr).get("lr_decay", o.lr_decay);
  r.get("steps", o.steps).get("num_samples", o.num_samples);
  read_loop_options(r, o);
  r.reject_unknown();
  return o;
}

AdainTrainResult train_adain(const AdainTrainOptions& options, const std::string& run_dir, const Callbacks& callbacks) {
  AdainRecipe recipe(options);
  return AdainTrainResult(train_run(recipe, run_dir, callbacks));
}

AdainTrainResult resume_adain(const std::string& run_dir, int64_t steps, const Callbacks& callbacks) {
  return AdainTrainResult(resume_run(run_dir, steps, callbacks, "adain"));
}

void register_builtin_adain_recipe(RecipeRegistry& registry) {
  registry.add("adain", recipe_factory<AdainRecipe>(adain_train_options_from_json),
               "an AdaIN decoder for arbitrary style transfer (content and style folders)");
}

}  // namespace impasto
