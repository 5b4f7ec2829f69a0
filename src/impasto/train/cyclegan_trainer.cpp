#include "impasto/train/cyclegan_trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "impasto/core/error.h"
#include "impasto/core/runtime.h"
#include "impasto/data/dataset.h"
#include "impasto/io/grid.h"
#include "impasto/io/image.h"
#include "impasto/losses/gan_losses.h"
#include "impasto/nn/backbone.h"
#include "impasto/nn/cyclegan_nets.h"
#include "impasto/nn/gan_model.h"
#include "impasto/train/image_pool.h"
#include "impasto/train/optimizer_support.h"

namespace impasto {
namespace {

// ---- nets and data ---------------------------------------------------------------------------------

// The nets' OptionErrors name their own options (arch, n_layers); these are netG / netD / n_layers_D here.
template <class F>
auto renaming_net_options(const std::string& arch_option, F&& make) {
  try {
    return make();
  } catch (const OptionError& e) {
    const std::string option = e.option() == "arch" ? arch_option : e.option() == "n_layers" ? "n_layers_D" : e.option();
    throw OptionError(option, e.detail());
  }
}

CycleGanGenerator make_generator(const CycleGanTrainOptions& o, int64_t input_nc, int64_t output_nc) {
  CycleGanGeneratorOptions g;
  g.arch = o.netG;
  g.input_nc = input_nc;
  g.output_nc = output_nc;
  g.ngf = o.ngf;
  g.norm = o.norm;
  g.dropout = !o.no_dropout;
  return renaming_net_options("netG", [&] { return make_cyclegan_generator(g); });
}

CycleGanDiscriminator make_discriminator(const CycleGanTrainOptions& o, int64_t input_nc) {
  CycleGanDiscriminatorOptions d;
  d.arch = o.netD;
  d.input_nc = input_nc;
  d.ndf = o.ndf;
  d.n_layers = o.n_layers_D;
  d.norm = o.norm;
  return renaming_net_options("netD", [&] { return make_cyclegan_discriminator(d); });
}

// Side of a PatchGAN's logit map for a side-`size` input: n_layers 4x4 convs of stride 2 and padding 1
// (each floor(h / 2)), then two of stride 1 and padding 1 (each h - 1).
int64_t patch_map_side(int64_t size, int64_t n_layers) {
  int64_t h = size;
  for (int64_t i = 0; i < n_layers; ++i) h /= 2;
  return h - 2;
}

DatasetOptions domain_data(const CycleGanTrainOptions& o, bool a, const SetupContext& context) {
  DatasetOptions d;
  d.folder = a ? o.domain_a : o.domain_b;
  d.synthetic = a ? o.synthetic_a : o.synthetic_b;
  d.size = o.size;
  d.channels = a ? o.input_nc : o.output_nc;
  d.crop = o.crop;
  d.preprocess = o.preprocess;
  d.load_size = o.load_size;
  d.flip = o.flip;
  d.batch_size = o.batch_size;
  d.workers = o.workers;
  // Each domain its own sample stream: with one seed, sample i of two synthetic sets would show the
  // same digit in the same pose, and the data would be paired.
  d.seed = sample_seed(o.seed, a ? 0xA : 0xB);
  d.rank = context.rank;
  d.world_size = context.world_size;
  return d;
}

std::unique_ptr<Dataset> make_domain_dataset(const CycleGanTrainOptions& o, bool a, const SetupContext& context) {
  try {
    return make_dataset(domain_data(o, a, context), context.callbacks);
  } catch (const OptionError& e) {
    const std::string suffix = a ? "_a" : "_b";
    std::string option = e.option();
    if (option == "data") option = "domain" + suffix;
    if (option == "synthetic") option = "synthetic" + suffix;
    if (option == "channels") option = a ? "input_nc" : "output_nc";
    throw OptionError(option, e.detail());
  }
}

// The first `n` images of a domain's stream (the training batches from index 0), as canonical images.
at::Tensor first_images(Dataset& data, int64_t n) {
  data.start(0);
  std::vector<at::Tensor> parts;
  int64_t have = 0;
  while (have < n) {
    parts.push_back(data.next().samples);
    have += parts.back().size(0);
  }
  return at::cat(parts).narrow(0, 0, n);
}

at::Tensor l1(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().mean(); }

void set_requires_grad(torch::nn::Module& m, bool on) {
  for (auto& p : m.parameters()) p.set_requires_grad(on);
}

std::vector<at::Tensor> parameters_of(std::initializer_list<torch::nn::Module*> modules) {
  std::vector<at::Tensor> out;
  for (torch::nn::Module* m : modules)
    for (const auto& p : m->parameters()) out.push_back(p);
  return out;
}

// Draws of step s come from the loop's generator seeded with (seed ^ this, s).
constexpr uint64_t kStepSeedSalt = 0x9e3779b97f4a7c15ULL;

// The names follow the reference: G_A: A -> B judged by D_A, G_B: B -> A judged by D_B; fake_B_pool
// feeds D_A, fake_A_pool feeds D_B. With several processes each keeps its own pools of its own
// fakes (as the reference does under DistributedDataParallel), and a checkpoint holds rank 0's.
class CycleGanRecipe final : public Recipe {
 public:
  explicit CycleGanRecipe(const CycleGanTrainOptions& options)
      : o_(resolve(options)), loss_(parse_cyclegan_gan_mode(o_.gan_mode)) {}

  std::string name() const override { return "cyclegan"; }
  Json config() const override { return to_json(o_); }
  LoopSettings settings() const override { return {o_, o_.steps, kStepSeedSalt, "linear", o_.decay_start}; }

  void setup(const SetupContext& context) override {
    world_ = context.world_size;
    device_ = resolve_device(o_.device);
    data_a_ = make_domain_dataset(o_, true, context);
    data_b_ = make_domain_dataset(o_, false, context);
    fake_A_pool_ = ImagePool(o_.pool_size);
    fake_B_pool_ = ImagePool(o_.pool_size);
    seed_everything(o_.seed);  // the weights' initial values
    G_A_ = make_generator(o_, o_.input_nc, o_.output_nc);
    G_B_ = make_generator(o_, o_.output_nc, o_.input_nc);
    D_A_ = make_discriminator(o_, o_.output_nc);
    D_B_ = make_discriminator(o_, o_.input_nc);
    for (torch::nn::Module* m : replicated_modules()) {
      m->to(device_);
      m->train();
    }
    G_params_ = parameters_of({G_A_.get(), G_B_.get()});
    D_params_ = parameters_of({D_A_.get(), D_B_.get()});
    const auto adam = torch::optim::AdamOptions(o_.lr).betas({o_.beta1, o_.beta2});
    opt_g_ = std::make_unique<torch::optim::Adam>(G_params_, adam);
    opt_d_ = std::make_unique<torch::optim::Adam>(D_params_, adam);
    validation_a_ = first_images(*data_a_, o_.num_samples);
    validation_b_ = first_images(*data_b_, o_.num_samples);
  }

  std::string describe() const override { return "A = " + data_a_->describe() + " <-> B = " + data_b_->describe(); }

  std::vector<torch::nn::Module*> replicated_modules() override { return {G_A_.get(), G_B_.get(), D_A_.get(), D_B_.get()}; }

  void start(int64_t step) override {
    data_a_->start(step);
    data_b_->start(step);
  }

  StepResult step(StepContext& context) override {
    at::Generator& generator = context.generator();
    const double lr = o_.lr * context.lr_factor();
    set_lr(*opt_g_, lr);
    set_lr(*opt_d_, lr);
    const at::Tensor real_A = to_gan_range(data_a_->next().samples.to(device_));
    const at::Tensor real_B = to_gan_range(data_b_->next().samples.to(device_));

    // The reference's forward(): both translations and both round trips.
    const at::Tensor fake_B = G_A_->forward(real_A);
    const at::Tensor rec_A = G_B_->forward(fake_B);
    const at::Tensor fake_A = G_B_->forward(real_B);
    const at::Tensor rec_B = G_A_->forward(fake_A);

    // G update; the Ds take no gradient from it.
    set_requires_grad(*D_A_, false);
    set_requires_grad(*D_B_, false);
    at::Tensor idt_A = at::zeros({}, real_A.options()), idt_B = at::zeros({}, real_A.options());
    if (o_.lambda_identity > 0) {
      // G_A should leave an image that is already in B alone (and G_B one in A), weighted relative to
      // the cycle weight of the domain it maps into, as the reference does.
      idt_A = l1(G_A_->forward(real_B), real_B) * (o_.lambda_B * o_.lambda_identity);
      idt_B = l1(G_B_->forward(real_A), real_A) * (o_.lambda_A * o_.lambda_identity);
    }
    const at::Tensor adv_A = cyclegan_generator_loss(loss_, D_A_->forward(fake_B));
    const at::Tensor adv_B = cyclegan_generator_loss(loss_, D_B_->forward(fake_A));
    const at::Tensor cycle_A = l1(rec_A, real_A) * o_.lambda_A;
    const at::Tensor cycle_B = l1(rec_B, real_B) * o_.lambda_B;
    opt_g_->zero_grad();
    (adv_A + adv_B + cycle_A + cycle_B + idt_A + idt_B).backward();
    context.average_gradients(G_params_);
    const double norm_g = grad_norm(G_params_);
    opt_g_->step();
    set_requires_grad(*D_A_, true);
    set_requires_grad(*D_B_, true);

    // D update on real images and pooled fakes (the reference's backward_D_A, then backward_D_B).
    auto d_objective = [&](CycleGanDiscriminatorImpl& D, const at::Tensor& real, const at::Tensor& fake, double* gp) {
      at::Tensor objective = cyclegan_discriminator_loss(loss_, D.forward(real), D.forward(fake));
      if (loss_ != GanLoss::wgangp) return std::make_pair(objective, objective);
      const at::Tensor eps = context.uniform_rows(real.size(0)).to(device_);
      const at::Tensor penalty =
          gradient_penalty([&](const at::Tensor& x) { return D.forward(x); }, real, fake, eps, o_.gp_lambda).penalty;
      *gp = penalty.item<double>();
      return std::make_pair(objective, objective + penalty);
    };
    double gp_A = 0, gp_B = 0;
    const auto [loss_D_A, total_D_A] = d_objective(*D_A_, real_B, fake_B_pool_.query(fake_B, generator), &gp_A);
    const auto [loss_D_B, total_D_B] = d_objective(*D_B_, real_A, fake_A_pool_.query(fake_A, generator), &gp_B);
    opt_d_->zero_grad();
    (total_D_A + total_D_B).backward();
    context.average_gradients(D_params_);
    const double norm_d = grad_norm(D_params_);
    opt_d_->step();

    const double values[] = {loss_D_A.item<double>(), adv_A.item<double>(), cycle_A.item<double>(), idt_A.item<double>(),
                             loss_D_B.item<double>(), adv_B.item<double>(), cycle_B.item<double>(), idt_B.item<double>()};
    for (double v : values)
      if (!std::isfinite(v))
        throw Error("training diverged at step " + std::to_string(context.step()) + " (loss_D_A " + std::to_string(values[0]) +
                    ", loss_G_A " + std::to_string(values[1]) + ", loss_D_B " + std::to_string(values[4]) + ", loss_G_B " +
                    std::to_string(values[5]) + "); try a lower --lr or another --gan-mode");
    StepResult out;
    out.metrics = Json{{"loss_D_A", values[0]}, {"loss_G_A", values[1]}, {"cycle_A", values[2]}, {"idt_A", values[3]},
                       {"loss_D_B", values[4]}, {"loss_G_B", values[5]}, {"cycle_B", values[6]}, {"idt_B", values[7]},
                       {"grad_norm_G", norm_g}, {"grad_norm_D", norm_d}, {"lr", lr}};
    if (loss_ == GanLoss::wgangp) {
      out.metrics["gp_A"] = gp_A;
      out.metrics["gp_B"] = gp_B;
    }
    out.progress = {{"D_A", values[0]}, {"G_A", values[1]}, {"cyc_A", values[2]},
                    {"D_B", values[4]}, {"G_B", values[5]}, {"cyc_B", values[6]}};
    out.images = o_.batch_size * world_;
    return out;
  }

  Checkpoint checkpoint(int64_t step) override {
    Checkpoint c;
    c.arch = "cyclegan";
    c.meta = Json{{"kind", "cyclegan-run"}, {"step", step}, {"gan_mode", o_.gan_mode}, {"config", to_json(o_)}};
    state().add_to(c.tensors);
    if (fake_A_pool_.size() > 0) c.tensors.emplace_back("pool.fake_A", fake_A_pool_.contents().cpu());
    if (fake_B_pool_.size() > 0) c.tensors.emplace_back("pool.fake_B", fake_B_pool_.contents().cpu());
    add_cpu_rng_state(c.tensors);
    return c;
  }

  void restore(const Checkpoint& c, const std::string& file) override {
    state().load_from(c.tensors, file);
    auto pool = [&](const std::string& key, ImagePool& p) {
      const at::Tensor* images = find_tensor(c.tensors, key);
      try {
        p.restore(images ? images->to(device_) : at::Tensor());
      } catch (const SourceError& e) {
        throw FormatError(file, key + ": " + e.what());
      }
    };
    pool("pool.fake_A", fake_A_pool_);
    pool("pool.fake_B", fake_B_pool_);
    restore_cpu_rng_state(c.tensors);
  }

  // One row per validation image: real_A | fake_B | rec_A | real_B | fake_A | rec_B.
  at::Tensor samples() override {
    std::vector<at::Tensor> cells;
    {
      torch::NoGradGuard no_grad;
      const bool was_training = G_A_->is_training();
      G_A_->eval();
      G_B_->eval();
      const at::Tensor real_A = validation_a_.to(device_), real_B = validation_b_.to(device_);
      const at::Tensor fake_B = translate(*G_A_, real_A), fake_A = translate(*G_B_, real_B);
      const at::Tensor rec_A = translate(*G_B_, fake_B), rec_B = translate(*G_A_, fake_A);
      G_A_->train(was_training);
      G_B_->train(was_training);
      for (int64_t i = 0; i < real_A.size(0); ++i)
        for (const at::Tensor* t : {&real_A, &fake_B, &rec_A, &real_B, &fake_A, &rec_B})
          cells.push_back((*t)[i].unsqueeze(0).cpu());
    }
    return make_grid(cells, 6, std::max<int64_t>(o_.size, 64), 2);
  }

  RunReport report(const RunFolder& run, int64_t step, double seconds) const override {
    const CycleGanTrainOptions& o = o_;
    RunReport r;
    r.title = "CycleGAN run " + run.path();
    r.summary = {{"domain A", data_a_->describe()},
                 {"domain B", data_b_->describe()},
                 {"objective", o.gan_mode + ", lambda_A " + c10::str(o.lambda_A) + ", lambda_B " + c10::str(o.lambda_B) +
                                   ", identity " + c10::str(o.lambda_identity)},
                 {"networks", "G " + o.netG + " (ngf " + std::to_string(o.ngf) + "), D " + o.netD + " (ndf " +
                                  std::to_string(o.ndf) + (o.netD == "n_layers" ? ", n_layers " + std::to_string(o.n_layers_D) : "") +
                                  "), " + o.norm + " norm, " + std::to_string(o.size) + " px"},
                 {"steps", std::to_string(step) + " of " + std::to_string(o.steps) + " (linear decay from step " +
                               std::to_string(o.decay_start) + ")"},
                 {"batch", std::to_string(o.batch_size) + " image(s) of each domain x " + std::to_string(world_) +
                               " process(es), pools of " + std::to_string(o.pool_size)},
                 {"skipped files", std::to_string(skipped_files())},
                 {"generators", "G_A.ckpt (A -> B), G_B.ckpt (B -> A)"},
                 {"training time (this session)", std::to_string(static_cast<int64_t>(seconds)) + " s"}};
    r.charts = {{"adversarial losses", {"loss_D_A", "loss_G_A", "loss_D_B", "loss_G_B"}, false},
                {"cycle and identity losses (weighted)", {"cycle_A", "cycle_B", "idt_A", "idt_B"}, false},
                {"gradient penalty", {"gp_A", "gp_B"}, false},
                {"gradient norms", {"grad_norm_G", "grad_norm_D"}, true},
                {"learning rate", {"lr"}, false},
                {"images per second (pairs)", {"images_per_s"}, false}};
    r.samples_caption = "The same validation images at every sampled step, one per row: real A | G_A(A) | G_B(G_A(A)) "
                        "| real B | G_B(B) | G_A(G_B(B)).";
    return r;
  }

  std::vector<ExportedModel> exported_models() const override { return {{"G_A.ckpt", "A -> B"}, {"G_B.ckpt", "B -> A"}}; }

  // G_A.ckpt and G_B.ckpt in the run folder: each generator's own state dict (the reference's
  // `model.N` keys), loadable wherever a latest_net_G_A.pth is.
  void export_models(const RunDirectory& run, int64_t step) override {
    auto write = [&](const std::string& name, CycleGanGeneratorImpl& g, const std::string& direction) {
      Checkpoint c;
      c.arch = "cyclegan_generator";
      c.meta = Json{{"kind", "cyclegan-generator"}, {"direction", direction}, {"step", step}, {"netG", g.options().arch},
                    {"ngf", g.options().ngf},       {"norm", g.options().norm},    {"input_nc", g.options().input_nc},
                    {"output_nc", g.options().output_nc}};
      for (auto& [key, t] : module_state_dict(g)) c.tensors.emplace_back(key, t.cpu());
      run.write_model(name, c);
    };
    write("G_A.ckpt", *G_A_, "A->B");
    write("G_B.ckpt", *G_B_, "B->A");
  }

  int64_t skipped_files() const override { return data_a_->stats().skipped + data_b_->stats().skipped; }

 private:
  TrainingState state() const {
    return {{{"G_A", G_A_.get()}, {"G_B", G_B_.get()}, {"D_A", D_A_.get()}, {"D_B", D_B_.get()}},
            {{"G", opt_g_.get()}, {"D", opt_d_.get()}}};
  }

  CycleGanTrainOptions o_;
  GanLoss loss_;
  int world_ = 1;
  c10::Device device_ = c10::kCPU;
  std::unique_ptr<Dataset> data_a_, data_b_;
  CycleGanGenerator G_A_{nullptr}, G_B_{nullptr};
  CycleGanDiscriminator D_A_{nullptr}, D_B_{nullptr};
  std::vector<at::Tensor> G_params_, D_params_;
  std::unique_ptr<torch::optim::Adam> opt_g_, opt_d_;
  ImagePool fake_A_pool_, fake_B_pool_;
  at::Tensor validation_a_, validation_b_;  // canonical images, fixed for the run
};

}  // namespace

CycleGanTrainOptions resolve(CycleGanTrainOptions o) {
  parse_cyclegan_gan_mode(o.gan_mode);
  const auto names = synthetic_dataset_names();
  for (const bool a : {true, false}) {
    const std::string folder = a ? o.domain_a : o.domain_b, synthetic = a ? o.synthetic_a : o.synthetic_b;
    const std::string suffix = a ? "_a" : "_b";
    check_option(!folder.empty() || !synthetic.empty(), "domain" + suffix,
          std::string("no images for domain ") + (a ? "A" : "B") + ": give a folder or a synthetic set (synthetic" + suffix + ")");
    check_option(folder.empty() || synthetic.empty(), "synthetic" + suffix, "give either a folder (domain" + suffix + ") or a synthetic set, not both");
    if (!synthetic.empty()) {
      std::string valid;
      for (const auto& n : names)
        if (n != "ring8") valid += (valid.empty() ? "" : ", ") + n;
      check_option(synthetic != "ring8" && std::find(names.begin(), names.end(), synthetic) != names.end(), "synthetic" + suffix,
            "unknown image set '" + synthetic + "'; valid: " + valid);
    }
  }
  check_option(o.input_nc == 1 || o.input_nc == 3, "input_nc", "must be 1 (grey) or 3 (RGB)");
  check_option(o.output_nc == 1 || o.output_nc == 3, "output_nc", "must be 1 (grey) or 3 (RGB)");
  check_option(o.size >= 8 && o.size <= 4096, "size", "must be in 8..4096");
  check_option(o.crop == "center" || o.crop == "random", "crop", "unknown value '" + o.crop + "'; valid: center, random");
  if (o.load_size == 0) o.load_size = (o.size * 286 + 128) / 256;  // the reference's 286 for 256
  {
    const auto modes = preprocess_names();
    std::string valid;
    for (const auto& m : modes) valid += (valid.empty() ? "" : ", ") + m;
    check_option(std::find(modes.begin(), modes.end(), o.preprocess) != modes.end(), "preprocess",
          "unknown value '" + o.preprocess + "'; valid: " + valid);
  }
  check_option(o.load_size >= o.size && o.load_size <= 16384, "load_size",
        "must be at least the crop size (--size " + std::to_string(o.size) + ") and at most 16384, or 0 for size * 286 / 256");
  check_option(o.batch_size >= 1 && o.batch_size <= 4096, "batch_size", "must be in 1..4096");
  check_option(o.workers >= 0 && o.workers <= 64, "workers", "must be in 0..64");
  // Building the nets checks their options (OptionError naming netG, ngf, norm, netD, n_layers_D...).
  const CycleGanGenerator g = make_generator(o, o.input_nc, o.output_nc);
  const int64_t multiple = g->size_multiple();
  check_option(o.size % multiple == 0 && o.size >= g->min_side(), "size",
        "netG " + o.netG + " needs a side that is a multiple of " + std::to_string(multiple) + " and at least " +
            std::to_string(g->min_side()) + ", got " + std::to_string(o.size));
  make_discriminator(o, o.input_nc);
  if (o.netD != "pixel") {
    const int64_t layers = o.netD == "basic" ? 3 : o.n_layers_D;
    check_option(patch_map_side(o.size, layers) >= 1, "n_layers_D",
          std::to_string(layers) + " stride-2 layers leave no patch of a " + std::to_string(o.size) + " px image; use fewer");
  }
  check_option(o.lambda_A >= 0, "lambda_A", "must be >= 0");
  check_option(o.lambda_B >= 0, "lambda_B", "must be >= 0");
  check_option(o.lambda_identity >= 0, "lambda_identity", "must be >= 0 (0 = off)");
  check_option(o.lambda_identity == 0 || o.input_nc == o.output_nc, "lambda_identity",
        "the identity loss feeds B images to G_A, so both domains need the same channels (input_nc = output_nc); set it to 0");
  check_option(o.gp_lambda >= 0, "gp_lambda", "must be >= 0");
  check_option(o.pool_size >= 0 && o.pool_size <= 100000, "pool_size", "must be in 0..100000 (0 = no pool)");
  check_option(o.lr > 0 && o.lr < 1, "lr", "must be in (0, 1)");
  check_option(o.beta1 >= 0 && o.beta1 < 1, "beta1", "must be in [0, 1)");
  check_option(o.beta2 >= 0 && o.beta2 < 1, "beta2", "must be in [0, 1)");
  check_option(o.steps >= 1, "steps", "must be at least 1");
  if (o.decay_start == -1) o.decay_start = o.steps / 2;
  check_option(o.decay_start >= 0 && o.decay_start <= o.steps, "decay_start",
        "must be in [0, steps] (steps = constant learning rate), or -1 for steps / 2");
  check_loop_options(o);
  check_option(o.num_samples >= 1 && o.num_samples <= 64, "num_samples", "must be in 1..64");
  return o;
}

Json to_json(const CycleGanTrainOptions& o) {
  Json j{{"domain_a", o.domain_a},
         {"synthetic_a", o.synthetic_a},
         {"domain_b", o.domain_b},
         {"synthetic_b", o.synthetic_b},
         {"size", o.size},
         {"preprocess", o.preprocess},
         {"load_size", o.load_size},
         {"crop", o.crop},
         {"flip", o.flip},
         {"batch_size", o.batch_size},
         {"workers", o.workers},
         {"input_nc", o.input_nc},
         {"output_nc", o.output_nc},
         {"netG", o.netG},
         {"ngf", o.ngf},
         {"netD", o.netD},
         {"ndf", o.ndf},
         {"n_layers_D", o.n_layers_D},
         {"norm", o.norm},
         {"no_dropout", o.no_dropout},
         {"gan_mode", o.gan_mode},
         {"lambda_A", o.lambda_A},
         {"lambda_B", o.lambda_B},
         {"lambda_identity", o.lambda_identity},
         {"gp_lambda", o.gp_lambda},
         {"pool_size", o.pool_size},
         {"lr", o.lr},
         {"beta1", o.beta1},
         {"beta2", o.beta2},
         {"steps", o.steps},
         {"decay_start", o.decay_start},
         {"num_samples", o.num_samples}};
  add_loop_options(j, o);
  return j;
}

CycleGanTrainOptions cyclegan_train_options_from_json(const Json& json) {
  CycleGanTrainOptions o;
  JsonReader r(json);
  r.get("domain_a", o.domain_a).get("synthetic_a", o.synthetic_a).get("domain_b", o.domain_b).get("synthetic_b", o.synthetic_b);
  r.get("size", o.size).get("crop", o.crop).get("flip", o.flip).get("batch_size", o.batch_size).get("workers", o.workers);
  r.get("input_nc", o.input_nc).get("output_nc", o.output_nc);
  r.get("netG", o.netG).get("ngf", o.ngf).get("netD", o.netD).get("ndf", o.ndf).get("n_layers_D", o.n_layers_D);
  r.get("norm", o.norm).get("no_dropout", o.no_dropout);
  r.get("gan_mode", o.gan_mode).get("lambda_A", o.lambda_A).get("lambda_B", o.lambda_B);
  r.get("lambda_identity", o.lambda_identity).get("gp_lambda", o.gp_lambda).get("pool_size", o.pool_size);
  r.get("lr", o.lr).get("beta1", o.beta1).get("beta2", o.beta2).get("steps", o.steps).get("decay_start", o.decay_start);
  r.get("num_samples", o.num_samples);
  read_loop_options(r, o);
  // Runs from before --preprocess existed scaled the shorter side to the crop size; resuming them
  // must keep that.
  if (!json.contains("preprocess")) {
    o.preprocess = "scale_shortside_and_crop";
    o.load_size = o.size;
  }
  r.get("preprocess", o.preprocess).get("load_size", o.load_size);
  r.reject_unknown();
  return o;
}

CycleGanTrainResult train_cyclegan(const CycleGanTrainOptions& options, const std::string& run_dir,
                                   const Callbacks& callbacks) {
  CycleGanRecipe recipe(options);
  return CycleGanTrainResult(train_run(recipe, run_dir, callbacks));
}

CycleGanTrainResult resume_cyclegan(const std::string& run_dir, int64_t steps, const Callbacks& callbacks) {
  return CycleGanTrainResult(resume_run(run_dir, steps, callbacks, "cyclegan"));
}

void register_builtin_cyclegan_recipe(RecipeRegistry& registry) {
  registry.add("cyclegan", recipe_factory<CycleGanRecipe>(cyclegan_train_options_from_json),
               "unpaired translation between two image domains (CycleGAN)");
}

}  // namespace impasto
