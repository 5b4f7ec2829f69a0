#include "impasto/train/gan_trainer.h"

#include <torch/torch.h>

#include <cmath>
#include <memory>

#include "impasto/core/error.h"
#include "impasto/core/runtime.h"
#include "impasto/core/text.h"
#include "impasto/data/diff_augment.h"
#include "impasto/io/chart.h"
#include "impasto/io/grid.h"
#include "impasto/io/image.h"
#include "impasto/io/image_folder.h"
#include "impasto/losses/gan_losses.h"
#include "impasto/metrics/fid.h"
#include "impasto/metrics/inception_score.h"
#include "impasto/train/eval_classifiers.h"
#include "impasto/nn/backbone.h"
#include "impasto/nn/gan_model.h"
#include "impasto/train/optimizer_support.h"

namespace impasto {
namespace {

bool is_wasserstein(GanLoss loss) { return loss == GanLoss::wgan || loss == GanLoss::wgangp; }

// The network whose features the evaluation's FID and KID compare (random-multiscale: seed 0).
FeatureNetworkOptions eval_feature_options(const GanTrainOptions& o) {
  FeatureNetworkOptions features;
  features.name = o.eval_features;
  features.weights = o.eval_weights;
  features.seed = 0;
  return features;
}

// Draws of step s come from the loop's generator seeded with (seed ^ this, s).
constexpr uint64_t kStepSeedSalt = 0x9e3779b97f4a7c15ULL;

class GanRecipe final : public Recipe {
 public:
  explicit GanRecipe(const GanTrainOptions& options) : o_(resolve(options)), loss_(parse_gan_loss(o_.loss)) {}

  std::string name() const override { return "gan"; }
  Json config() const override { return to_json(o_); }
  LoopSettings settings() const override {
    return {o_, o_.steps, kStepSeedSalt, o_.schedule, o_.decay_start, o_.eval_every};
  }

  void setup(const SetupContext& context) override {
    world_ = context.world_size;
    o_.data.rank = context.rank;
    o_.data.world_size = context.world_size;
    device_ = resolve_device(o_.device);
    augment_ = parse_diff_augment(o_.diff_augment, "diff_augment");
    info_augment_ = parse_diff_augment(o_.info_augment, "info_augment");
    dataset_ = make_dataset(o_.data, context.callbacks);
    // Weights start from the seed (identical in every process; rank 0's are broadcast anyway).
    seed_everything(o_.seed);
    G_ = make_generator(o_.nets);
    D_ = make_discriminator(o_.nets);
    if (o_.ema > 0) {
      G_ema_ = make_generator(o_.nets);
      load_state_dict(*G_ema_, module_state_dict(*G_), "G");
    }
    G_->to(device_);
    D_->to(device_);
    if (G_ema_) {
      G_ema_->to(device_);
      G_ema_->eval();
      for (auto& p : G_ema_->parameters()) p.set_requires_grad(false);
    }
    G_->train();
    D_->train();
    G_params_ = G_->parameters();
    D_params_ = D_->parameters();
    opt_g_ = std::make_unique<torch::optim::Adam>(G_params_, torch::optim::AdamOptions(o_.lr_g).betas({o_.beta1, o_.beta2}));
    opt_d_ = std::make_unique<torch::optim::Adam>(D_params_, torch::optim::AdamOptions(o_.lr_d).betas({o_.beta1, o_.beta2}));
    fixed_z_ = sample_latents(o_.num_samples, o_.nets.z_dim, 0, sample_seed(o_.seed, 0xf1c5d));
    // With latent categories the grid shows them in order: sample i has category i mod K (picture()).
    if (o_.nets.categories > 0)
      set_latent_categories(fixed_z_, at::arange(o_.num_samples, at::kLong) % o_.nets.categories, o_.nets.categories);
  }

  std::string describe() const override { return "on " + dataset_->describe(); }

  std::vector<torch::nn::Module*> replicated_modules() override {
    std::vector<torch::nn::Module*> modules = {G_.get(), D_.get()};
    if (G_ema_) modules.push_back(G_ema_.get());
    return modules;
  }

  void start(int64_t step) override { dataset_->start(step * o_.n_critic); }

  StepResult step(StepContext& context) override {
    const int64_t batch = o_.data.batch_size;
    at::Generator& generator = context.generator();
    const double lr_scale = context.lr_factor();
    set_lr(*opt_g_, o_.lr_g * lr_scale);
    set_lr(*opt_d_, o_.lr_d * lr_scale);

    double loss_d = 0, penalty = 0, r1_value = 0, d_real_mean = 0, d_fake_mean = 0, norm_d = 0, reconstruction = -1;
    double info_d = 0, info_g = 0, category_accuracy = 0;
    for (int64_t k = 0; k < o_.n_critic; ++k) {
      Batch data = dataset_->next();
      at::Tensor real = data.samples.to(device_);
      if (real.dim() == 4) real = to_gan_range(real);
      at::Tensor categories;
      at::Tensor z = draw_latents(context, batch, categories);
      at::Tensor fake;
      {
        torch::NoGradGuard no_grad;
        fake = G_->forward(z);
      }
      real = augment(real, generator);
      fake = augment(fake, generator);
      // Lazy regularisation (Karras et al. 2020, "Analyzing and Improving the Image Quality of
      // StyleGAN", sec. 3.1): R1 on every r1_every-th D update only, weighted r1_every times.
      const bool r1_here = o_.r1_gamma > 0 && (context.step() * o_.n_critic + k) % o_.r1_every == 0;
      if (r1_here) real = real.detach().requires_grad_(true);  // R1 differentiates D(real) w.r.t. real
      DiscriminatorImpl::RealJudgement judged = D_->judge_real(real, generator);
      at::Tensor out_real = judged.scores;
      DiscriminatorImpl::FakeJudgement judged_fake = D_->judge_fake(fake);
      at::Tensor out_fake = judged_fake.scores;
      at::Tensor objective = discriminator_loss(loss_, out_real, out_fake);
      at::Tensor total = objective;
      if (categories.defined()) {
        const CategoryReadBack info = read_back_categories(fake, judged_fake, categories, generator);
        total = total + o_.info_weight * info.loss;
        info_d = info.loss.item<double>();
      }
      if (judged.reconstruction_loss.defined()) {
        total = total + judged.reconstruction_loss;
        reconstruction = judged.reconstruction_loss.item<double>();
      }
      if (r1_here) {
        at::Tensor r1 = r1_penalty(out_real, real, o_.r1_gamma * o_.r1_every).penalty;
        total = total + r1;
        r1_value = r1.item<double>() / o_.r1_every;
      }
      at::Tensor eps = context.uniform_rows(batch).to(device_);
      if (loss_ == GanLoss::wgangp) {
        auto gp = gradient_penalty([&](const at::Tensor& x) { return D_->forward(x); }, real, fake, eps, o_.gp_lambda);
        total = total + gp.penalty;
        penalty = gp.penalty.item<double>();
      }
      opt_d_->zero_grad();
      total.backward();
      context.average_gradients(D_params_);
      norm_d = grad_norm(D_params_);
      clip_gradients(D_params_, o_.grad_clip, norm_d);
      opt_d_->step();
      if (loss_ == GanLoss::wgan) {
        torch::NoGradGuard no_grad;
        for (auto& p : D_params_) p.clamp_(-o_.weight_clip, o_.weight_clip);
      }
      loss_d = objective.item<double>();
      if (o_.ada_target > 0) adapt_augmentation(out_real.detach(), context, k);
      if (outputs_are_logits(loss_)) {
        d_real_mean = out_real.detach().sigmoid().mean().item<double>();
        d_fake_mean = out_fake.detach().sigmoid().mean().item<double>();
      } else {
        d_real_mean = out_real.detach().mean().item<double>();
        d_fake_mean = out_fake.detach().mean().item<double>();
      }
    }

    at::Tensor categories;
    at::Tensor z = draw_latents(context, batch, categories);
    at::Tensor fake = G_->forward(z);
    fake = augment(fake, generator);
    DiscriminatorImpl::FakeJudgement judged_fake = D_->judge_fake(fake);
    at::Tensor objective_g = generator_loss(loss_, judged_fake.scores);
    at::Tensor total_g = objective_g;
    if (categories.defined()) {
      const CategoryReadBack info = read_back_categories(fake, judged_fake, categories, generator);
      total_g = total_g + o_.info_weight * info.loss;
      info_g = info.loss.item<double>();
      category_accuracy = (info.logits.detach().argmax(1) == categories).to(at::kDouble).mean().item<double>();
    }
    opt_g_->zero_grad();
    total_g.backward();
    context.average_gradients(G_params_);
    const double norm_g = grad_norm(G_params_);
    clip_gradients(G_params_, o_.grad_clip, norm_g);
    opt_g_->step();
    if (G_ema_) {
      // beta ramps up as min(ema, (1 + t) / (10 + t)) (the num_updates rule of TensorFlow's
      // ExponentialMovingAverage), so early samples are not dominated by the random init.
      const double t = static_cast<double>(context.step());
      ema_update(*G_ema_, *G_, std::min(o_.ema, (1.0 + t) / (10.0 + t)));
    }

    const double loss_g = objective_g.item<double>();
    if (!std::isfinite(loss_d) || !std::isfinite(loss_g))
      throw Error("training diverged at step " + std::to_string(context.step()) + " (loss_d " + std::to_string(loss_d) +
                  ", loss_g " + std::to_string(loss_g) + "); try a lower learning rate or another objective");
    StepResult out;
    out.metrics = Json{{"loss_d", loss_d},           {"loss_g", loss_g},       {"d_real", d_real_mean},
                       {"d_fake", d_fake_mean},      {"grad_norm_d", norm_d},  {"grad_norm_g", norm_g},
                       {"lr_g", o_.lr_g * lr_scale}, {"lr_d", o_.lr_d * lr_scale}};
    if (loss_ == GanLoss::wgangp) out.metrics["gp"] = penalty;
    if (o_.r1_gamma > 0) out.metrics["r1"] = r1_value;
    if (reconstruction >= 0) out.metrics["reconstruction"] = reconstruction;
    if (o_.nets.categories > 0) {
      out.metrics["info_d"] = info_d;
      out.metrics["info_g"] = info_g;
      out.metrics["category_accuracy"] = category_accuracy;
    }
    if (o_.ada_target > 0) {
      out.metrics["ada_p"] = ada_p_;
      out.metrics["ada_rt"] = ada_rt_;
    }
    out.progress = {{"D", loss_d}, {"G", loss_g}};
    if (loss_ == GanLoss::wgangp) out.progress.emplace_back("gp", penalty);
    if (o_.r1_gamma > 0) out.progress.emplace_back("r1", r1_value);
    if (reconstruction >= 0) out.progress.emplace_back("rec", reconstruction);
    if (o_.nets.categories > 0) out.progress.emplace_back("info", info_g);
    if (o_.ada_target > 0) out.progress.emplace_back("p", ada_p_);
    out.progress.emplace_back(outputs_are_logits(loss_) ? "D(x)" : "D(x)~", d_real_mean);
    out.progress.emplace_back(outputs_are_logits(loss_) ? "D(G(z))" : "D(G(z))~", d_fake_mean);
    out.images = o_.n_critic * batch * world_;
    return out;
  }

  Checkpoint checkpoint(int64_t step) override {
    Checkpoint c;
    c.arch = "gan";
    c.meta = Json{{"kind", "gan-run"}, {"step", step}, {"nets", to_json(o_.nets)}, {"loss", to_string(loss_)}, {"config", to_json(o_)}};
    state().add_to(c.tensors);
    add_cpu_rng_state(c.tensors);
    if (o_.ada_target > 0)
      c.tensors.emplace_back("ada.state", torch::tensor({ada_p_, ada_signs_, ada_count_, ada_rt_}, at::kDouble));
    return c;
  }

  void restore(const Checkpoint& c, const std::string& file) override {
    state().load_from(c.tensors, file);
    restore_cpu_rng_state(c.tensors);
    if (o_.ada_target > 0) {
      const at::Tensor* ada = find_tensor(c.tensors, "ada.state");
      if (!ada || ada->numel() != 4) throw FormatError(file, "holds no adaptive-augmentation state (ada.state)");
      ada_p_ = (*ada)[0].item<double>();
      ada_signs_ = (*ada)[1].item<double>();
      ada_count_ = (*ada)[2].item<double>();
      ada_rt_ = (*ada)[3].item<double>();
    }
  }

  Json evaluate() override {
    if (o_.eval_every == 0) return Json::object();
    if (!eval_features_) prepare_evaluation();
    const at::Tensor fake = from_gan_range(generate_samples(eval_z_));
    const at::Tensor features = eval_features_->features(as_rgb(fake));
    FidOptions fid_options;
    fid_options.allow_rank_deficient = true;  // a curve to compare within the run and between runs
    Json out{{"fid", fid(eval_real_features_, features, fid_options)}};
    KidOptions kid_options;
    kid_options.subsets = 20;
    out["kid"] = kid(eval_real_features_, features, kid_options).mean;
    if (eval_classifier_) {
      torch::NoGradGuard no_grad;
      const at::Tensor logits = eval_classifier_->logits(as_rgb(fake));
      const at::Tensor p = torch::softmax(logits.to(at::kDouble), 1);  // p(y|x)
      const at::Tensor share = torch::bincount(p.argmax(1), {}, p.size(1)).to(at::kDouble) / p.size(0);
      out["top1"] = std::get<0>(p.max(1)).mean().item<double>();
      out["classes_5pct"] = (share >= 0.05).sum().item<int64_t>();
      out["smallest_share"] = share.min().item<double>();
      out["score"] = inception_score_from_logits(logits, InceptionScoreOptions{1}).mean;  // exp(E KL), one split
    }
    return out;
  }

  // The fixed noise batch through the EMA generator (or G).
  at::Tensor samples() override { return picture(generate_samples(fixed_z_)); }

  // The first `num_samples` training samples, drawn like the generated ones, so the timeline can be
  // compared with what G should make. Training restarts the stream afterwards.
  at::Tensor real_samples() override {
    dataset_->start(0);
    std::vector<at::Tensor> parts;
    int64_t have = 0;
    while (have < o_.num_samples) {
      at::Tensor batch = dataset_->next().samples;
      parts.push_back(batch);
      have += batch.size(0);
    }
    at::Tensor real = at::cat(parts).narrow(0, 0, o_.num_samples);
    if (real.dim() == 4) real = to_gan_range(real);
    return picture(real);
  }

  RunReport report(const RunFolder& run, int64_t step, double seconds) const override {
    RunReport r;
    r.title = "GAN run " + run.path();
    r.summary = {{"data", dataset_->describe()},
                 {"objective", to_string(loss_)},
                 {"architecture", o_.nets.arch + (o_.nets.arch != "mlp" ? " " + std::to_string(o_.nets.size) + " px" : "")},
                 {"steps", std::to_string(step) + " of " + std::to_string(o_.steps)},
                 {"batch", std::to_string(o_.data.batch_size) + " x " + std::to_string(world_) + " process(es)"},
                 {"skipped files", std::to_string(skipped_files())},
                 {"training time (this session)", std::to_string(static_cast<int64_t>(seconds)) + " s"}};
    r.charts = {{"losses", {"loss_d", "loss_g", "gp", "reconstruction"}, false},
                {"adaptive augmentation: p and r_t", {"ada_p", "ada_rt"}, false},
                {"latent categories: D's read-back (cross-entropy on D's and G's steps, accuracy)",
                 {"info_d", "info_g", "category_accuracy"}, false},
                {is_wasserstein(loss_) || !outputs_are_logits(loss_) ? "critic scores" : "D(x) and D(G(z))",
                 {"d_real", "d_fake"}, false},
                {"gradient norms", {"grad_norm_d", "grad_norm_g"}, true},
                {"learning rates", {"lr_g", "lr_d"}, false},
                {"images per second", {"images_per_s"}, false}};
    if (o_.eval_every > 0) {
      r.charts.push_back({"FID of samples (" + o_.eval_features + ") against training time", {"fid"}, true, "train_s", "training seconds"});
      r.charts.push_back({"KID against training time", {"kid"}, true, "train_s", "training seconds"});
      if (!o_.eval_classifier.empty())
        r.charts.push_back({"classifier (" + o_.eval_classifier + "): mean top-1, smallest class share", {"top1", "smallest_share"},
                            false, "train_s", "training seconds"});
      r.summary.emplace_back("evaluation", "every " + std::to_string(o_.eval_every) + " steps: " + std::to_string(o_.eval_images) +
                                               " samples against " + (eval_reference_.empty() ? "real images" : eval_reference_));
    }
    r.samples_caption = std::string("The same fixed noise batch at every sampled step") +
                        (G_ema_ ? ", through the EMA generator." : ".") +
                        (o_.nets.arch == "mlp" ? " Blue: generated points; red circles: the data's modes." : "");
    return r;
  }

  std::vector<ExportedModel> exported_models() const override { return {{"generator.ckpt", ""}}; }

  // generator.ckpt in the run folder: the generator alone (the EMA weights when the run keeps them),
  // as nn/gan_model.h loads it: what a server's models folder or `--style-gan` needs, without the
  // discriminator and the optimisers' state of a training checkpoint.
  void export_models(const RunDirectory& run, int64_t step) override {
    Checkpoint c;
    c.arch = "gan";
    c.meta = Json{{"kind", "gan-generator"}, {"step", step}, {"nets", to_json(o_.nets)}};
    const std::string prefix = G_ema_ ? "G_ema" : "G";
    for (auto& [key, t] : module_state_dict(G_ema_ ? *G_ema_ : *G_)) c.tensors.emplace_back(prefix + "." + key, t.cpu());
    run.write_model("generator.ckpt", c);
  }

  int64_t skipped_files() const override { return dataset_->stats().skipped; }

 private:
  // `batch` latents of the step: N(0, I), and with latent categories the first K coordinates the
  // one-hot codes of `categories` (set here: [batch] uniform draws from the step's generator).
  at::Tensor draw_latents(StepContext& context, int64_t batch, at::Tensor& categories) {
    at::Tensor z = context.normal_rows(batch, {o_.nets.z_dim});
    const int64_t K = o_.nets.categories;
    if (K > 0) {
      categories = (context.uniform_rows(batch) * static_cast<double>(K)).floor().to(at::kLong).clamp(0, K - 1);
      set_latent_categories(z, categories, K);
      categories = categories.to(device_);
    }
    return z.to(device_);
  }

  // D's read-back of the latent `categories` of the (augmented) generated images `fake`: the logits
  // from the pass that scored them, or with info_augment from a second pass on further augmented
  // copies, and their cross-entropy against the categories (InfoGAN's L_I).
  struct CategoryReadBack {
    at::Tensor loss, logits;
  };
  CategoryReadBack read_back_categories(const at::Tensor& fake, const DiscriminatorImpl::FakeJudgement& judged,
                                        const at::Tensor& categories, at::Generator& generator) {
    const at::Tensor logits =
        info_augment_.empty() ? judged.category_logits : D_->judge_fake(diff_augment(fake, info_augment_, generator)).category_logits;
    return {torch::nn::functional::cross_entropy(logits, categories), logits};
  }

  // The EMA generator (or G) in eval mode on latents `z`, without gradients, 100 at a time: samples
  // in the GAN range on the CPU.
  at::Tensor generate_samples(const at::Tensor& z) {
    GeneratorImpl& g = G_ema_ ? *G_ema_ : *G_;
    const bool was_training = g.is_training();
    g.eval();
    std::vector<at::Tensor> parts;
    {
      torch::NoGradGuard no_grad;
      for (int64_t i = 0; i < z.size(0); i += 100)
        parts.push_back(g.forward(z.narrow(0, i, std::min<int64_t>(100, z.size(0) - i)).to(device_)).cpu());
    }
    g.train(was_training);
    return at::cat(parts);
  }

  // The policy on every image, or with adaptive augmentation on each image with probability p
  // (the draws from the step's generator, so resumed runs repeat them).
  at::Tensor augment(const at::Tensor& images, at::Generator& generator) const {
    if (augment_.empty()) return images;
    const at::Tensor augmented = diff_augment(images, augment_, generator);
    if (o_.ada_target <= 0) return augmented;
    const at::Tensor chosen = at::rand({images.size(0), 1, 1, 1}, generator, images.options()) < ada_p_;
    return at::where(chosen, augmented, images);
  }

  // Karras et al. 2020, sec. 3.2: r_t = E[sign(D(x_real))] over 4 D updates (and the processes);
  // p += sign(r_t - target) * images / ada_images, clamped to [0, 1].
  void adapt_augmentation(const at::Tensor& real_scores, StepContext& context, int64_t k) {
    ada_signs_ += real_scores.sign().sum().item<double>();
    ada_count_ += static_cast<double>(real_scores.numel());
    const int64_t update = (context.step() - 1) * o_.n_critic + k + 1;  // D updates so far, this one included
    if (update % 4 != 0) return;
    const std::vector<double> totals = context.average_scalars({ada_signs_, ada_count_});
    ada_rt_ = totals[0] / std::max(totals[1], 1.0);
    const double images = 4.0 * static_cast<double>(o_.data.batch_size * world_);
    const double direction = ada_rt_ > o_.ada_target ? 1.0 : ada_rt_ < o_.ada_target ? -1.0 : 0.0;
    ada_p_ = std::clamp(ada_p_ + direction * images / static_cast<double>(o_.ada_images), 0.0, 1.0);
    ada_signs_ = ada_count_ = 0;
  }

  static at::Tensor as_rgb(const at::Tensor& images) { return images.size(1) == 1 ? images.expand({-1, 3, -1, -1}) : images; }

  // The feature network, the real images' features, the fixed latents and the classifier, made at
  // the first evaluation (so runs without it pay nothing).
  void prepare_evaluation() {
    eval_features_ = std::make_unique<FeatureNetwork>(eval_feature_options(o_));
    DatasetOptions d = o_.data;
    d.rank = 0;
    d.world_size = 1;
    d.workers = 1;
    d.batch_size = 50;
    d.flip = false;
    d.seed = o_.seed ^ 0x5eedULL;  // other synthetic samples, other crops
    if (d.hold_out > 0) d.held_out_only = true;
    auto data = make_dataset(d);
    const int64_t available = !d.folder.empty() ? data->stats().files : o_.eval_images;
    const int64_t count = std::min(o_.eval_images, std::max<int64_t>(available, 2));
    data->start(0);
    std::vector<at::Tensor> parts;
    for (int64_t have = 0; have < count;) {
      at::Tensor batch = data->next().samples;
      parts.push_back(batch.narrow(0, 0, std::min(batch.size(0), count - have)));
      have += parts.back().size(0);
    }
    eval_real_features_ = eval_features_->features(as_rgb(at::cat(parts)));
    eval_reference_ = std::to_string(count) + (d.held_out_only ? " held-out" : !d.folder.empty() ? " training" : " other") + " images";
    eval_z_ = sample_gan_latents(o_.nets, o_.eval_images, 0, sample_seed(o_.seed, 0xe7a1));
    if (!o_.eval_classifier.empty()) {
      const ClassifierFactories factories = trained_classifiers();
      eval_classifier_ = std::make_unique<ImageClassifier>(factories.at(o_.eval_classifier)({}));
    }
  }

  TrainingState state() const {
    TrainingState state{{{"G", G_.get()}, {"D", D_.get()}}, {{"G", opt_g_.get()}, {"D", opt_d_.get()}}};
    if (G_ema_) state.modules.emplace_back("G_ema", G_ema_.get());
    return state;
  }

  // A sample grid (images in the GAN range [-1,1]) or a scatter plot (points).
  at::Tensor picture(const at::Tensor& samples) const {
    if (samples.dim() != 4) return scatter_plot(samples, o_.data.synthetic == "ring8" ? ring8_modes() : at::Tensor());
    std::vector<at::Tensor> images;
    for (int64_t i = 0; i < samples.size(0); ++i) images.push_back(from_gan_range(samples[i].unsqueeze(0)));
    // With latent categories (sample i has category i mod K) each column is one category.
    const int64_t columns = o_.nets.categories > 0 && o_.nets.categories <= 16 ? o_.nets.categories : 0;
    return make_grid(images, columns, std::max<int64_t>(samples.size(2), 64), 2);
  }

  GanTrainOptions o_;
  GanLoss loss_;
  int world_ = 1;
  c10::Device device_ = c10::kCPU;
  std::unique_ptr<Dataset> dataset_;
  std::shared_ptr<GeneratorImpl> G_, G_ema_;
  std::shared_ptr<DiscriminatorImpl> D_;
  std::vector<at::Tensor> G_params_, D_params_;
  std::unique_ptr<torch::optim::Adam> opt_g_, opt_d_;
  std::vector<std::string> augment_, info_augment_;
  double ada_p_ = 0, ada_signs_ = 0, ada_count_ = 0, ada_rt_ = 0;  // adaptive augmentation's state (checkpointed)
  at::Tensor fixed_z_;
  // evaluate()'s, made by prepare_evaluation()
  std::unique_ptr<FeatureNetwork> eval_features_;
  at::Tensor eval_real_features_, eval_z_;
  std::unique_ptr<ImageClassifier> eval_classifier_;
  std::string eval_reference_;
};

std::string resolve_preset(const GanTrainOptions& o) {
  check_option(o.preset == "auto" || o.preset == "classic" || o.preset == "small", "preset",
               "unknown preset '" + o.preset + "'; valid: auto, classic, small");
  if (o.preset != "auto") return o.preset;
  if (o.data.folder.empty()) return "classic";
  const int64_t files = static_cast<int64_t>(list_image_files(o.data.folder, true, "data").size());
  return files <= kSmallCollectionImages ? "small" : "classic";
}

// The small preset's network width: on a 2-core CPU, width 16 learned no more per step than 8 on
// the TrueType digits and cost 2.6x the time (docs/gan-small-collections.md).
constexpr int64_t kSmallCollectionWidth = 8;

}  // namespace

GanTrainOptions resolve(GanTrainOptions o) {
  o.preset = resolve_preset(o);
  const bool ring = o.data.synthetic == "ring8";
  const bool small = o.preset == "small" && !ring;
  if (o.loss == "auto") o.loss = small ? "hinge" : "nonsaturating";
  const GanLoss loss = parse_gan_loss(o.loss);
  o.loss = to_string(loss);
  // Options only the dcgan nets have (a packing or batch-variety D) choose them under any preset.
  const bool wants_dcgan = o.nets.pack > 1 || o.nets.minibatch_stddev;
  if (o.nets.arch == "auto") o.nets.arch = ring ? "mlp" : small && !wants_dcgan ? "fastgan" : "dcgan";
  if (o.nets.g_width == 0) o.nets.g_width = small ? kSmallCollectionWidth : 64;
  if (o.nets.d_width == 0) o.nets.d_width = small ? kSmallCollectionWidth : 64;
  if (o.data.batch_size == 0) o.data.batch_size = small ? 32 : 64;
  if (o.diff_augment == "auto") o.diff_augment = small ? "color,translation,cutout" : "";
  if (o.nets.g_norm == "auto") o.nets.g_norm = small ? "pixel" : "batch";
  check_option(o.ada_target >= 0 && o.ada_target < 1, "ada_target", "must be in [0, 1) (0 = off; Karras et al. use 0.6)");
  check_option(o.ada_images >= 1000, "ada_images", "must be at least 1000");
  check_option(o.info_weight >= 0, "info_weight", "must be >= 0");
  parse_diff_augment(o.info_augment, "info_augment");
  check_option(o.info_augment.empty() || o.nets.categories > 0, "info_augment", "is for latent categories (--categories K)");
  if (o.ada_target > 0 && trim(o.diff_augment).empty()) o.diff_augment = "color,translation,cutout";
  check_option(o.nets.arch == "mlp" || !ring, "arch", "the ring8 dataset holds 2-D points: use --arch mlp");
  if (o.nets.arch == "mlp") {
    check_option(ring, "arch", "mlp nets train on point datasets (ring8); images need dcgan");
    o.nets.data_dim = 2;
  } else {
    o.nets.size = o.data.size;
    o.nets.channels = o.data.channels;
  }
  if (o.n_critic == 0) o.n_critic = is_wasserstein(loss) ? 5 : 1;
  if (o.lr_g == 0) o.lr_g = loss == GanLoss::wgangp ? 1e-4 : loss == GanLoss::wgan ? 5e-5 : 2e-4;
  if (o.lr_d == 0) o.lr_d = o.lr_g;
  if (o.beta1 < 0) o.beta1 = loss == GanLoss::wgangp ? 0.0 : 0.5;
  if (o.beta2 < 0) o.beta2 = loss == GanLoss::wgangp ? 0.9 : 0.999;
  o.nets.d_norm = resolve_d_norm(o.nets.d_norm, o.nets.spectral_norm, o.loss);
  check_option(o.steps >= 1, "steps", "must be at least 1");
  check_option(o.n_critic >= 1 && o.n_critic <= 100, "n_critic", "must be in 1..100");
  check_option(o.lr_g > 0 && o.lr_g < 1, "lr_g", "must be in (0, 1)");
  check_option(o.lr_d > 0 && o.lr_d < 1, "lr_d", "must be in (0, 1)");
  check_option(o.beta1 >= 0 && o.beta1 < 1, "beta1", "must be in [0, 1)");
  check_option(o.beta2 >= 0 && o.beta2 < 1, "beta2", "must be in [0, 1)");
  check_schedule(o.schedule);
  check_option(o.decay_start >= 0 && o.decay_start < o.steps, "decay_start", "must be in [0, steps)");
  check_option(o.ema >= 0 && o.ema < 1, "ema", "must be in [0, 1) (0 = off)");
  check_option(o.grad_clip >= 0, "grad_clip", "must be >= 0 (0 = off)");
  check_option(o.weight_clip > 0, "weight_clip", "must be > 0");
  check_option(o.gp_lambda >= 0, "gp_lambda", "must be >= 0");
  check_option(o.r1_gamma >= 0, "r1_gamma", "must be >= 0 (0 = off)");
  check_option(o.r1_every >= 1 && o.r1_every <= 1000, "r1_every", "must be in 1..1000");
  check_option(o.data.batch_size % std::max<int64_t>(o.nets.pack, 1) == 0, "pack",
        "the batch size (" + std::to_string(o.data.batch_size) + ") must be a multiple of the pack size");
  check_loop_options(o);
  check_option(o.num_samples >= 1 && o.num_samples <= 1024, "num_samples", "must be in 1..1024");
  check_option(o.nets.z_dim >= 1 && o.nets.z_dim <= 4096, "z_dim", "must be in 1..4096");
  parse_diff_augment(o.diff_augment, "diff_augment");
  check_option(o.eval_every >= 0, "eval_every", "must be >= 0 (0 = off)");
  check_option(o.eval_every == 0 || o.nets.arch != "mlp", "eval_every", "measures image generators, not points");
  check_option(o.eval_images >= 10 && o.eval_images <= 50000, "eval_images", "must be in 10..50000");
  if (!o.eval_classifier.empty()) {
    const ClassifierFactories factories = trained_classifiers();
    if (!factories.count(o.eval_classifier)) {
      std::string names;
      for (const auto& [name, factory] : factories) names += (names.empty() ? "" : ", ") + name;
      throw OptionError("eval_classifier", "unknown classifier '" + o.eval_classifier + "'; valid: " + names);
    }
  }
  if (o.eval_every > 0) {
    // The feature network is built now, so a wrong name or weight file is an error before training.
    try {
      FeatureNetwork network(eval_feature_options(o));
    } catch (const FileError& e) {
      throw OptionError("eval_weights", e.what());
    } catch (const FormatError& e) {
      throw OptionError("eval_weights", e.what());
    } catch (const OptionError& e) {
      throw OptionError("eval_features", e.what());
    }
  }
  make_generator(o.nets);  // checks the architecture options (OptionError naming them)
  o.data.seed = o.seed;
  return o;
}

Json to_json(const GanTrainOptions& o) {
  Json j{{"preset", o.preset},
         {"channels", o.data.channels},
         {"queue_batches", o.data.queue_batches},
         {"loss", o.loss},
         {"steps", o.steps},
         {"n_critic", o.n_critic},
         {"lr_g", o.lr_g},
         {"lr_d", o.lr_d},
         {"beta1", o.beta1},
         {"beta2", o.beta2},
         {"schedule", o.schedule},
         {"decay_start", o.decay_start},
         {"ema", o.ema},
         {"grad_clip", o.grad_clip},
         {"weight_clip", o.weight_clip},
         {"gp_lambda", o.gp_lambda},
         {"r1_gamma", o.r1_gamma},
         {"r1_every", o.r1_every},
         {"diff_augment", o.diff_augment},
         {"ada_target", o.ada_target},
         {"ada_images", o.ada_images},
         {"info_weight", o.info_weight},
         {"info_augment", o.info_augment},
         {"num_samples", o.num_samples},
         {"hold_out", o.data.hold_out},
         {"eval_every", o.eval_every},
         {"eval_images", o.eval_images},
         {"eval_classifier", o.eval_classifier},
         {"eval_features", o.eval_features},
         {"eval_weights", o.eval_weights}};
  add_data_options(j, o.data, "data", "size");
  add_loop_options(j, o);
  const Json nets = to_json(o.nets);
  for (const char* key : {"arch", "z_dim", "g_width", "d_width", "d_norm", "spectral_norm", "minibatch_stddev", "g_norm",
                          "g_upsample", "pack", "mlp_hidden", "mlp_layers", "categories"})
    j[key] = nets[key];
  return j;
}

GanTrainOptions gan_train_options_from_json(const Json& json) {
  GanTrainOptions o;
  JsonReader r(json);
  read_data_options(r, o.data, "data", "size");
  r.get("channels", o.data.channels).get("queue_batches", o.data.queue_batches);
  r.get("loss", o.loss).get("steps", o.steps).get("n_critic", o.n_critic).get("lr_g", o.lr_g).get("lr_d", o.lr_d);
  r.get("beta1", o.beta1).get("beta2", o.beta2).get("schedule", o.schedule).get("decay_start", o.decay_start);
  r.get("ema", o.ema).get("grad_clip", o.grad_clip).get("weight_clip", o.weight_clip).get("gp_lambda", o.gp_lambda);
  r.get("diff_augment", o.diff_augment).get("num_samples", o.num_samples);
  read_loop_options(r, o);
  r.get("arch", o.nets.arch).get("z_dim", o.nets.z_dim).get("g_width", o.nets.g_width).get("d_width", o.nets.d_width);
  r.get("d_norm", o.nets.d_norm).get("spectral_norm", o.nets.spectral_norm).get("minibatch_stddev", o.nets.minibatch_stddev);
  r.get("mlp_hidden", o.nets.mlp_hidden).get("mlp_layers", o.nets.mlp_layers);
  r.get("g_norm", o.nets.g_norm).get("g_upsample", o.nets.g_upsample).get("pack", o.nets.pack);
  r.get("r1_gamma", o.r1_gamma).get("r1_every", o.r1_every).get("preset", o.preset);
  r.get("ada_target", o.ada_target).get("ada_images", o.ada_images).get("info_weight", o.info_weight);
  r.get("categories", o.nets.categories).get("info_augment", o.info_augment);
  r.get("hold_out", o.data.hold_out).get("eval_every", o.eval_every).get("eval_images", o.eval_images);
  r.get("eval_classifier", o.eval_classifier).get("eval_features", o.eval_features).get("eval_weights", o.eval_weights);
  r.reject_unknown();
  return o;
}

GanTrainResult train_gan(const GanTrainOptions& options, const std::string& run_dir, const Callbacks& callbacks) {
  GanRecipe recipe(options);
  return train_run(recipe, run_dir, callbacks);
}

GanTrainResult resume_gan(const std::string& run_dir, int64_t steps, const Callbacks& callbacks) {
  return resume_run(run_dir, steps, callbacks, "gan");
}

void register_builtin_gan_recipe(RecipeRegistry& registry) {
  registry.add("gan", recipe_factory<GanRecipe>(gan_train_options_from_json),
               "a generator against a discriminator on images or points (DCGAN family, MLP)");
}

}  // namespace impasto
