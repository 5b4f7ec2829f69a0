#include "impasto/train/cyclegan_trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
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
#include "impasto/io/run_dir.h"

namespace impasto {
namespace {

using Clock = std::chrono::steady_clock;

void check(bool ok, const std::string& option, const std::string& message) {
  if (!ok) throw OptionError(option, message);
}

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

DatasetOptions domain_data(const CycleGanTrainOptions& o, bool a) {
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
  return d;
}

std::unique_ptr<Dataset> make_domain_dataset(const CycleGanTrainOptions& o, bool a, const Callbacks& callbacks) {
  try {
    return make_dataset(domain_data(o, a), callbacks);
  } catch (const OptionError& e) {
    const std::string suffix = a ? "_a" : "_b";
    std::string option = e.option();
    if (option == "data") option = "domain" + suffix;
    if (option == "synthetic") option = "synthetic" + suffix;
    if (option == "channels") option = a ? "input_nc" : "output_nc";
    throw OptionError(option, e.detail());
  }
}

// ---- the session -----------------------------------------------------------------------------------

// Everything one run holds in memory. The names follow the reference: G_A: A -> B judged by D_A, G_B:
// B -> A judged by D_B; fake_B_pool feeds D_A, fake_A_pool feeds D_B.
struct Session {
  CycleGanTrainOptions options;
  GanLoss loss = GanLoss::lsgan;
  c10::Device device = c10::kCPU;
  std::unique_ptr<Dataset> data_a, data_b;
  CycleGanGenerator G_A, G_B;
  CycleGanDiscriminator D_A, D_B;
  std::unique_ptr<torch::optim::Adam> opt_g, opt_d;
  ImagePool fake_A_pool, fake_B_pool;
  std::unique_ptr<RunDirectory> run;
  at::Tensor validation_a, validation_b;  // canonical images, fixed for the run
  int64_t step = 0;
};

std::vector<at::Tensor> parameters_of(std::initializer_list<torch::nn::Module*> modules) {
  std::vector<at::Tensor> out;
  for (torch::nn::Module* m : modules)
    for (const auto& p : m->parameters()) out.push_back(p);
  return out;
}

Checkpoint make_checkpoint(Session& s) {
  Checkpoint c;
  c.arch = "cyclegan";
  c.meta = Json{{"kind", "cyclegan-run"}, {"step", s.step}, {"gan_mode", s.options.gan_mode}, {"config", to_json(s.options)}};
  add_module_state(c.tensors, "G_A", *s.G_A);
  add_module_state(c.tensors, "G_B", *s.G_B);
  add_module_state(c.tensors, "D_A", *s.D_A);
  add_module_state(c.tensors, "D_B", *s.D_B);
  add_adam_state(c.tensors, "optimizer.G", *s.opt_g);
  add_adam_state(c.tensors, "optimizer.D", *s.opt_d);
  if (s.fake_A_pool.size() > 0) c.tensors.emplace_back("pool.fake_A", s.fake_A_pool.contents().cpu());
  if (s.fake_B_pool.size() > 0) c.tensors.emplace_back("pool.fake_B", s.fake_B_pool.contents().cpu());
  add_cpu_rng_state(c.tensors);
  return c;
}

void restore_checkpoint(Session& s, const std::string& file) {
  Checkpoint c = load_checkpoint(file);
  if (c.arch != "cyclegan") throw FormatError(file, "not a CycleGAN checkpoint (architecture '" + c.arch + "')");
  load_state_dict(*s.G_A, sub_state_dict(c.tensors, "G_A"), file);
  load_state_dict(*s.G_B, sub_state_dict(c.tensors, "G_B"), file);
  load_state_dict(*s.D_A, sub_state_dict(c.tensors, "D_A"), file);
  load_state_dict(*s.D_B, sub_state_dict(c.tensors, "D_B"), file);
  load_adam_state(c.tensors, "optimizer.G", *s.opt_g, file);
  load_adam_state(c.tensors, "optimizer.D", *s.opt_d, file);
  auto pool = [&](const std::string& key, ImagePool& p) {
    const at::Tensor* images = find_tensor(c.tensors, key);
    try {
      p.restore(images ? images->to(s.device) : at::Tensor());
    } catch (const SourceError& e) {
      throw FormatError(file, key + ": " + e.what());
    }
  };
  pool("pool.fake_A", s.fake_A_pool);
  pool("pool.fake_B", s.fake_B_pool);
  restore_cpu_rng_state(c.tensors);
  s.step = c.meta.value("step", int64_t{0});
}

// G_A.ckpt and G_B.ckpt in the run folder: each generator's own state dict (the reference's
// `model.N` keys), loadable wherever a latest_net_G_A.pth is.
void write_generators(Session& s) {
  auto write = [&](const std::string& name, CycleGanGeneratorImpl& g, const std::string& direction) {
    Checkpoint c;
    c.arch = "cyclegan_generator";
    c.meta = Json{{"kind", "cyclegan-generator"}, {"direction", direction}, {"step", s.step}, {"netG", g.options().arch},
                  {"ngf", g.options().ngf},       {"norm", g.options().norm},    {"input_nc", g.options().input_nc},
                  {"output_nc", g.options().output_nc}};
    for (auto& [key, t] : module_state_dict(g)) c.tensors.emplace_back(key, t.cpu());
    save_checkpoint(s.run->file(name), c);
  };
  write("G_A.ckpt", *s.G_A, "A->B");
  write("G_B.ckpt", *s.G_B, "B->A");
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

// One row per validation image: real_A | fake_B | rec_A | real_B | fake_A | rec_B.
void write_samples(Session& s) {
  std::vector<at::Tensor> cells;
  {
    torch::NoGradGuard no_grad;
    const bool was_training = s.G_A->is_training();
    s.G_A->eval();
    s.G_B->eval();
    const at::Tensor real_A = s.validation_a.to(s.device), real_B = s.validation_b.to(s.device);
    const at::Tensor fake_B = translate(*s.G_A, real_A), fake_A = translate(*s.G_B, real_B);
    const at::Tensor rec_A = translate(*s.G_B, fake_B), rec_B = translate(*s.G_A, fake_A);
    s.G_A->train(was_training);
    s.G_B->train(was_training);
    for (int64_t i = 0; i < real_A.size(0); ++i)
      for (const at::Tensor* t : {&real_A, &fake_B, &rec_A, &real_B, &fake_A, &rec_B})
        cells.push_back((*t)[i].unsqueeze(0).cpu());
  }
  write_image(s.run->sample_path(s.step), make_grid(cells, 6, std::max<int64_t>(s.options.size, 64), 2));
}

RunReport make_report(const Session& s, double seconds) {
  const CycleGanTrainOptions& o = s.options;
  RunReport r;
  r.title = "CycleGAN run " + s.run->path();
  r.summary = {{"domain A", s.data_a->describe()},
               {"domain B", s.data_b->describe()},
               {"objective", o.gan_mode + ", lambda_A " + c10::str(o.lambda_A) + ", lambda_B " + c10::str(o.lambda_B) +
                                 ", identity " + c10::str(o.lambda_identity)},
               {"networks", "G " + o.netG + " (ngf " + std::to_string(o.ngf) + "), D " + o.netD + " (ndf " +
                                std::to_string(o.ndf) + (o.netD == "n_layers" ? ", n_layers " + std::to_string(o.n_layers_D) : "") +
                                "), " + o.norm + " norm, " + std::to_string(o.size) + " px"},
               {"steps", std::to_string(s.step) + " of " + std::to_string(o.steps) + " (linear decay from step " +
                             std::to_string(o.decay_start) + ")"},
               {"batch", std::to_string(o.batch_size) + " image(s) of each domain, pools of " + std::to_string(o.pool_size)},
               {"skipped files", std::to_string(s.data_a->stats().skipped + s.data_b->stats().skipped)},
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

at::Tensor l1(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().mean(); }

void set_requires_grad(torch::nn::Module& m, bool on) {
  for (auto& p : m.parameters()) p.set_requires_grad(on);
}

CycleGanTrainResult run_training(Session& s, const Callbacks& callbacks) {
  const CycleGanTrainOptions& o = s.options;
  const int64_t first_step = s.step;
  s.data_a->start(s.step);
  s.data_b->start(s.step);
  const auto G_params = parameters_of({s.G_A.get(), s.G_B.get()});
  const auto D_params = parameters_of({s.D_A.get(), s.D_B.get()});
  const auto session_start = Clock::now();
  auto interval_start = session_start;
  int64_t interval_images = 0;
  CycleGanTrainResult result;
  bool stop = false;

  auto checkpoint = [&]() {
    s.run->write_checkpoint(make_checkpoint(s), s.step, o.keep_checkpoints);
    write_generators(s);
    write_run_report(*s.run, make_report(s, std::chrono::duration<double>(Clock::now() - session_start).count()));
  };

  while (s.step < o.steps && !stop) {
    const int64_t step = s.step + 1;
    auto generator = at::make_generator<at::CPUGeneratorImpl>(sample_seed(o.seed ^ 0x9e3779b97f4a7c15ULL, step));
    const double lr = o.lr * lr_factor("linear", step, o.steps, o.decay_start);
    set_lr(*s.opt_g, lr);
    set_lr(*s.opt_d, lr);
    const at::Tensor real_A = to_gan_range(s.data_a->next().samples.to(s.device));
    const at::Tensor real_B = to_gan_range(s.data_b->next().samples.to(s.device));

    // The reference's forward(): both translations and both round trips.
    const at::Tensor fake_B = s.G_A->forward(real_A);
    const at::Tensor rec_A = s.G_B->forward(fake_B);
    const at::Tensor fake_A = s.G_B->forward(real_B);
    const at::Tensor rec_B = s.G_A->forward(fake_A);

    // G update; the Ds take no gradient from it.
    set_requires_grad(*s.D_A, false);
    set_requires_grad(*s.D_B, false);
    at::Tensor idt_A = at::zeros({}, real_A.options()), idt_B = at::zeros({}, real_A.options());
    if (o.lambda_identity > 0) {
      // G_A should leave an image that is already in B alone (and G_B one in A), weighted relative to
      // the cycle weight of the domain it maps into, as the reference does.
      idt_A = l1(s.G_A->forward(real_B), real_B) * (o.lambda_B * o.lambda_identity);
      idt_B = l1(s.G_B->forward(real_A), real_A) * (o.lambda_A * o.lambda_identity);
    }
    const at::Tensor adv_A = cyclegan_generator_loss(s.loss, s.D_A->forward(fake_B));
    const at::Tensor adv_B = cyclegan_generator_loss(s.loss, s.D_B->forward(fake_A));
    const at::Tensor cycle_A = l1(rec_A, real_A) * o.lambda_A;
    const at::Tensor cycle_B = l1(rec_B, real_B) * o.lambda_B;
    s.opt_g->zero_grad();
    (adv_A + adv_B + cycle_A + cycle_B + idt_A + idt_B).backward();
    const double norm_g = grad_norm(G_params);
    s.opt_g->step();
    set_requires_grad(*s.D_A, true);
    set_requires_grad(*s.D_B, true);

    // D update on real images and pooled fakes (the reference's backward_D_A, then backward_D_B).
    auto d_objective = [&](CycleGanDiscriminatorImpl& D, const at::Tensor& real, const at::Tensor& fake, double* gp) {
      at::Tensor objective = cyclegan_discriminator_loss(s.loss, D.forward(real), D.forward(fake));
      if (s.loss != GanLoss::wgangp) return std::make_pair(objective, objective);
      const at::Tensor eps = at::rand({real.size(0)}, generator).to(s.device);
      const at::Tensor penalty =
          gradient_penalty([&](const at::Tensor& x) { return D.forward(x); }, real, fake, eps, o.gp_lambda).penalty;
      *gp = penalty.item<double>();
      return std::make_pair(objective, objective + penalty);
    };
    double gp_A = 0, gp_B = 0;
    const auto [loss_D_A, total_D_A] = d_objective(*s.D_A, real_B, s.fake_B_pool.query(fake_B, generator), &gp_A);
    const auto [loss_D_B, total_D_B] = d_objective(*s.D_B, real_A, s.fake_A_pool.query(fake_A, generator), &gp_B);
    s.opt_d->zero_grad();
    (total_D_A + total_D_B).backward();
    const double norm_d = grad_norm(D_params);
    s.opt_d->step();
    s.step = step;
    interval_images += o.batch_size;

    const double values[] = {loss_D_A.item<double>(), adv_A.item<double>(), cycle_A.item<double>(), idt_A.item<double>(),
                             loss_D_B.item<double>(), adv_B.item<double>(), cycle_B.item<double>(), idt_B.item<double>()};
    for (double v : values)
      if (!std::isfinite(v))
        throw Error("training diverged at step " + std::to_string(step) + " (loss_D_A " + std::to_string(values[0]) +
                    ", loss_G_A " + std::to_string(values[1]) + ", loss_D_B " + std::to_string(values[4]) + ", loss_G_B " +
                    std::to_string(values[5]) + "); try a lower --lr or another --gan-mode");
    const double elapsed = std::chrono::duration<double>(Clock::now() - session_start).count();
    if (step % o.log_every == 0 || step == o.steps) {
      const double interval = std::chrono::duration<double>(Clock::now() - interval_start).count();
      Json record{{"step", step},
                  {"loss_D_A", values[0]}, {"loss_G_A", values[1]}, {"cycle_A", values[2]}, {"idt_A", values[3]},
                  {"loss_D_B", values[4]}, {"loss_G_B", values[5]}, {"cycle_B", values[6]}, {"idt_B", values[7]},
                  {"grad_norm_G", norm_g}, {"grad_norm_D", norm_d}, {"lr", lr},
                  {"images_per_s", interval > 0 ? interval_images / interval : 0.0},
                  {"skipped_files", s.data_a->stats().skipped + s.data_b->stats().skipped}};
      if (s.loss == GanLoss::wgangp) {
        record["gp_A"] = gp_A;
        record["gp_B"] = gp_B;
      }
      s.run->append_log(record);
      result.last_metrics = record;
      interval_start = Clock::now();
      interval_images = 0;
    }
    if (step % o.sample_every == 0 || step == o.steps) write_samples(s);

    ProgressEvent event{"train cyclegan", step, o.steps, elapsed, {}};
    event.metrics = {{"D_A", values[0]}, {"G_A", values[1]}, {"cyc_A", values[2]},
                     {"D_B", values[4]}, {"G_B", values[5]}, {"cyc_B", values[6]}};
    event.metrics.emplace_back("img/s", (step - first_step) * o.batch_size / std::max(elapsed, 1e-9));
    callbacks.report(event);

    if (callbacks.stop_requested() && step < o.steps) {
      stop = true;
      result.interrupted = true;
      callbacks.info("interrupted at step " + std::to_string(step) + "; writing a checkpoint");
    }
    if (!stop && step < o.steps && step % o.checkpoint_every == 0) checkpoint();
  }
  checkpoint();
  if (result.interrupted) write_samples(s);
  result.step = s.step;
  result.skipped_files = s.data_a->stats().skipped + s.data_b->stats().skipped;
  result.seconds = std::chrono::duration<double>(Clock::now() - session_start).count();
  result.generator_a = s.run->file("G_A.ckpt");
  result.generator_b = s.run->file("G_B.ckpt");
  return result;
}

Session make_session(const CycleGanTrainOptions& options, const std::string& run_dir, const Callbacks& callbacks) {
  Session s;
  s.options = options;
  const CycleGanTrainOptions& o = s.options;
  s.loss = parse_cyclegan_gan_mode(o.gan_mode);
  s.device = resolve_device(o.device);
  s.data_a = make_domain_dataset(o, true, callbacks);
  s.data_b = make_domain_dataset(o, false, callbacks);
  s.fake_A_pool = ImagePool(o.pool_size);
  s.fake_B_pool = ImagePool(o.pool_size);
  seed_everything(o.seed);  // the weights' initial values
  s.G_A = make_generator(o, o.input_nc, o.output_nc);
  s.G_B = make_generator(o, o.output_nc, o.input_nc);
  s.D_A = make_discriminator(o, o.output_nc);
  s.D_B = make_discriminator(o, o.input_nc);
  for (torch::nn::Module* m : {static_cast<torch::nn::Module*>(s.G_A.get()), static_cast<torch::nn::Module*>(s.G_B.get()),
                               static_cast<torch::nn::Module*>(s.D_A.get()), static_cast<torch::nn::Module*>(s.D_B.get())}) {
    m->to(s.device);
    m->train();
  }
  const auto adam = torch::optim::AdamOptions(o.lr).betas({o.beta1, o.beta2});
  s.opt_g = std::make_unique<torch::optim::Adam>(parameters_of({s.G_A.get(), s.G_B.get()}), adam);
  s.opt_d = std::make_unique<torch::optim::Adam>(parameters_of({s.D_A.get(), s.D_B.get()}), adam);
  s.validation_a = first_images(*s.data_a, o.num_samples);
  s.validation_b = first_images(*s.data_b, o.num_samples);
  s.run = std::make_unique<RunDirectory>(run_dir);
  return s;
}

}  // namespace

CycleGanTrainOptions resolve(CycleGanTrainOptions o) {
  parse_cyclegan_gan_mode(o.gan_mode);
  const auto names = synthetic_dataset_names();
  for (const bool a : {true, false}) {
    const std::string folder = a ? o.domain_a : o.domain_b, synthetic = a ? o.synthetic_a : o.synthetic_b;
    const std::string suffix = a ? "_a" : "_b";
    check(!folder.empty() || !synthetic.empty(), "domain" + suffix,
          std::string("no images for domain ") + (a ? "A" : "B") + ": give a folder or a synthetic set (synthetic" + suffix + ")");
    check(folder.empty() || synthetic.empty(), "synthetic" + suffix, "give either a folder (domain" + suffix + ") or a synthetic set, not both");
    if (!synthetic.empty()) {
      std::string valid;
      for (const auto& n : names)
        if (n != "ring8") valid += (valid.empty() ? "" : ", ") + n;
      check(synthetic != "ring8" && std::find(names.begin(), names.end(), synthetic) != names.end(), "synthetic" + suffix,
            "unknown image set '" + synthetic + "'; valid: " + valid);
    }
  }
  check(o.input_nc == 1 || o.input_nc == 3, "input_nc", "must be 1 (grey) or 3 (RGB)");
  check(o.output_nc == 1 || o.output_nc == 3, "output_nc", "must be 1 (grey) or 3 (RGB)");
  check(o.size >= 8 && o.size <= 4096, "size", "must be in 8..4096");
  check(o.crop == "center" || o.crop == "random", "crop", "unknown value '" + o.crop + "'; valid: center, random");
  if (o.load_size == 0) o.load_size = (o.size * 286 + 128) / 256;  // the reference's 286 for 256
  {
    const auto modes = preprocess_names();
    std::string valid;
    for (const auto& m : modes) valid += (valid.empty() ? "" : ", ") + m;
    check(std::find(modes.begin(), modes.end(), o.preprocess) != modes.end(), "preprocess",
          "unknown value '" + o.preprocess + "'; valid: " + valid);
  }
  check(o.load_size >= o.size && o.load_size <= 16384, "load_size",
        "must be at least the crop size (--size " + std::to_string(o.size) + ") and at most 16384, or 0 for size * 286 / 256");
  check(o.batch_size >= 1 && o.batch_size <= 4096, "batch_size", "must be in 1..4096");
  check(o.workers >= 0 && o.workers <= 64, "workers", "must be in 0..64");
  // Building the nets checks their options (OptionError naming netG, ngf, norm, netD, n_layers_D...).
  const CycleGanGenerator g = make_generator(o, o.input_nc, o.output_nc);
  const int64_t multiple = g->size_multiple();
  check(o.size % multiple == 0 && o.size >= g->min_side(), "size",
        "netG " + o.netG + " needs a side that is a multiple of " + std::to_string(multiple) + " and at least " +
            std::to_string(g->min_side()) + ", got " + std::to_string(o.size));
  make_discriminator(o, o.input_nc);
  if (o.netD != "pixel") {
    const int64_t layers = o.netD == "basic" ? 3 : o.n_layers_D;
    check(patch_map_side(o.size, layers) >= 1, "n_layers_D",
          std::to_string(layers) + " stride-2 layers leave no patch of a " + std::to_string(o.size) + " px image; use fewer");
  }
  check(o.lambda_A >= 0, "lambda_A", "must be >= 0");
  check(o.lambda_B >= 0, "lambda_B", "must be >= 0");
  check(o.lambda_identity >= 0, "lambda_identity", "must be >= 0 (0 = off)");
  check(o.lambda_identity == 0 || o.input_nc == o.output_nc, "lambda_identity",
        "the identity loss feeds B images to G_A, so both domains need the same channels (input_nc = output_nc); set it to 0");
  check(o.gp_lambda >= 0, "gp_lambda", "must be >= 0");
  check(o.pool_size >= 0 && o.pool_size <= 100000, "pool_size", "must be in 0..100000 (0 = no pool)");
  check(o.lr > 0 && o.lr < 1, "lr", "must be in (0, 1)");
  check(o.beta1 >= 0 && o.beta1 < 1, "beta1", "must be in [0, 1)");
  check(o.beta2 >= 0 && o.beta2 < 1, "beta2", "must be in [0, 1)");
  check(o.steps >= 1, "steps", "must be at least 1");
  if (o.decay_start == -1) o.decay_start = o.steps / 2;
  check(o.decay_start >= 0 && o.decay_start <= o.steps, "decay_start",
        "must be in [0, steps] (steps = constant learning rate), or -1 for steps / 2");
  check(o.log_every >= 1, "log_every", "must be at least 1");
  check(o.sample_every >= 1, "sample_every", "must be at least 1");
  check(o.checkpoint_every >= 1, "checkpoint_every", "must be at least 1");
  check(o.keep_checkpoints >= 0, "keep_checkpoints", "must be >= 0 (0 = keep all)");
  check(o.num_samples >= 1 && o.num_samples <= 64, "num_samples", "must be in 1..64");
  return o;
}

Json to_json(const CycleGanTrainOptions& o) {
  return Json{{"domain_a", o.domain_a},
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
              {"seed", o.seed},
              {"device", o.device},
              {"log_every", o.log_every},
              {"sample_every", o.sample_every},
              {"checkpoint_every", o.checkpoint_every},
              {"keep_checkpoints", o.keep_checkpoints},
              {"num_samples", o.num_samples}};
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
  r.get("seed", o.seed).get("device", o.device).get("log_every", o.log_every).get("sample_every", o.sample_every);
  r.get("checkpoint_every", o.checkpoint_every).get("keep_checkpoints", o.keep_checkpoints).get("num_samples", o.num_samples);
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
  const CycleGanTrainOptions resolved = resolve(options);
  if (std::filesystem::exists(run_dir + "/config.json"))
    throw FileError(run_dir, "already holds a run; continue it with --resume, or choose another --out");
  Session s = make_session(resolved, run_dir, callbacks);
  s.run->write_config(to_json(s.options));
  write_samples(s);  // step 0: the untrained generators
  callbacks.info("training A = " + s.data_a->describe() + " <-> B = " + s.data_b->describe() + " into " + run_dir);
  return run_training(s, callbacks);
}

CycleGanTrainResult resume_cyclegan(const std::string& run_dir, int64_t steps, const Callbacks& callbacks) {
  if (!std::filesystem::exists(run_dir + "/config.json"))
    throw FileError(run_dir, "not a training run (no config.json)");
  CycleGanTrainOptions options = cyclegan_train_options_from_json(RunDirectory(run_dir).read_config());
  if (steps > 0 && steps < options.decay_start)
    throw OptionError("steps", "this run's learning rate starts to decay at step " + std::to_string(options.decay_start) +
                                   " (decay_start in its config.json); give at least that many");
  if (steps > 0) options.steps = steps;
  options = resolve(options);
  const std::string latest = run_dir + "/checkpoints/latest.ckpt";
  if (!std::filesystem::exists(latest)) throw FileError(latest, "no checkpoint to resume from");
  Session s = make_session(options, run_dir, callbacks);
  restore_checkpoint(s, latest);
  if (s.step >= options.steps)
    callbacks.info("the run already has " + std::to_string(s.step) + " steps; pass more --steps to continue");
  s.run->truncate_log_after(s.step);
  if (steps > 0) s.run->write_config(to_json(s.options));
  callbacks.info("resuming " + run_dir + " at step " + std::to_string(s.step));
  return run_training(s, callbacks);
}

}  // namespace impasto
