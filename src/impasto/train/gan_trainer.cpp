#include "impasto/train/gan_trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>

#include "impasto/core/error.h"
#include "impasto/core/runtime.h"
#include "impasto/data/diff_augment.h"
#include "impasto/io/chart.h"
#include "impasto/io/grid.h"
#include "impasto/io/image.h"
#include "impasto/losses/gan_losses.h"
#include "impasto/nn/backbone.h"
#include "impasto/nn/gan_model.h"
#include "impasto/train/distributed.h"
#include "impasto/train/optimizer_support.h"
#include "impasto/io/run_dir.h"

namespace impasto {
namespace {

using Clock = std::chrono::steady_clock;

bool is_wasserstein(GanLoss loss) { return loss == GanLoss::wgan || loss == GanLoss::wgangp; }

void check(bool ok, const std::string& option, const std::string& message) {
  if (!ok) throw OptionError(option, message);
}

// Everything one run holds in memory.
struct Session {
  GanTrainOptions options;
  GanLoss loss = GanLoss::nonsaturating;
  c10::Device device = c10::kCPU;
  std::unique_ptr<Dataset> dataset;
  std::shared_ptr<GeneratorImpl> G, G_ema;
  std::shared_ptr<DiscriminatorImpl> D;
  std::unique_ptr<torch::optim::Adam> opt_g, opt_d;
  std::unique_ptr<DataParallel> parallel;
  std::unique_ptr<RunDirectory> run;  // rank 0 only
  std::vector<std::string> augment;
  at::Tensor fixed_z;
  int rank = 0, world = 1;
  int64_t step = 0;  // completed G steps
};

Checkpoint make_checkpoint(Session& s) {
  Checkpoint c;
  c.arch = "gan";
  c.meta = Json{{"kind", "gan-run"}, {"step", s.step}, {"nets", to_json(s.options.nets)},
                {"loss", to_string(s.loss)}, {"config", to_json(s.options)}};
  add_module_state(c.tensors, "G", *s.G);
  add_module_state(c.tensors, "D", *s.D);
  if (s.G_ema) add_module_state(c.tensors, "G_ema", *s.G_ema);
  add_adam_state(c.tensors, "optimizer.G", *s.opt_g);
  add_adam_state(c.tensors, "optimizer.D", *s.opt_d);
  add_cpu_rng_state(c.tensors);
  return c;
}

void restore_checkpoint(Session& s, const std::string& file) {
  Checkpoint c = load_checkpoint(file);
  if (c.arch != "gan") throw FormatError(file, "not a GAN checkpoint (architecture '" + c.arch + "')");
  load_state_dict(*s.G, sub_state_dict(c.tensors, "G"), file);
  load_state_dict(*s.D, sub_state_dict(c.tensors, "D"), file);
  if (s.G_ema) load_state_dict(*s.G_ema, sub_state_dict(c.tensors, "G_ema"), file);
  load_adam_state(c.tensors, "optimizer.G", *s.opt_g, file);
  load_adam_state(c.tensors, "optimizer.D", *s.opt_d, file);
  restore_cpu_rng_state(c.tensors);
  s.step = c.meta.value("step", int64_t{0});
}

// A sample grid (images in the GAN range [-1,1]) or a scatter plot (points).
at::Tensor samples_picture(const Session& s, const at::Tensor& samples) {
  if (samples.dim() != 4) return scatter_plot(samples, s.options.data.synthetic == "ring8" ? ring8_modes() : at::Tensor());
  std::vector<at::Tensor> images;
  for (int64_t i = 0; i < samples.size(0); ++i) images.push_back(from_gan_range(samples[i].unsqueeze(0)));
  return make_grid(images, 0, std::max<int64_t>(samples.size(2), 64), 2);
}

void write_samples(Session& s) {
  GeneratorImpl& g = s.G_ema ? *s.G_ema : *s.G;
  const bool was_training = g.is_training();
  g.eval();
  at::Tensor out;
  {
    torch::NoGradGuard no_grad;
    out = g.forward(s.fixed_z.to(s.device)).cpu();
  }
  g.train(was_training);
  write_image(s.run->sample_path(s.step), samples_picture(s, out));
}

// samples/real.png: the first `num_samples` training samples, drawn like the generated ones, so the
// timeline can be compared with what G should make. Training restarts the stream afterwards.
void write_real_samples(Session& s) {
  s.dataset->start(0);
  std::vector<at::Tensor> parts;
  int64_t have = 0;
  while (have < s.options.num_samples) {
    at::Tensor batch = s.dataset->next().samples;
    parts.push_back(batch);
    have += batch.size(0);
  }
  at::Tensor real = at::cat(parts).narrow(0, 0, s.options.num_samples);
  if (real.dim() == 4) real = to_gan_range(real);
  write_image(s.run->real_samples_path(), samples_picture(s, real));
}

// Whether every process holds the same G and D parameters: per-tensor float64 sums and sums of
// squares compared with their mean over processes (all equal iff each equals the mean).
bool replicas_identical(Session& s) {
  if (!s.parallel) return true;
  std::vector<double> fingerprint;
  for (auto* module : {static_cast<torch::nn::Module*>(s.G.get()), static_cast<torch::nn::Module*>(s.D.get())})
    for (const auto& p : module->parameters()) {
      const at::Tensor d = p.detach().to(at::kDouble);
      fingerprint.push_back(d.sum().item<double>());
      fingerprint.push_back((d * d).sum().item<double>());
    }
  const std::vector<double> mean = s.parallel->average_scalars(fingerprint);
  bool same = true;  // (a + ... + a) / W may round by an ulp for W > 2; real drift is far larger
  for (size_t i = 0; i < mean.size(); ++i)
    same &= std::abs(mean[i] - fingerprint[i]) <= 1e-12 * std::max(1.0, std::abs(fingerprint[i]));
  return s.parallel->average_scalars({same ? 1.0 : 0.0})[0] == 1.0;
}

RunReport make_report(const Session& s, double seconds) {
  RunReport r;
  r.title = "GAN run " + s.run->path();
  r.summary = {{"data", s.dataset->describe()},
               {"objective", to_string(s.loss)},
               {"architecture", s.options.nets.arch + (s.options.nets.arch == "dcgan" ? " " + std::to_string(s.options.nets.size) + " px" : "")},
               {"steps", std::to_string(s.step) + " of " + std::to_string(s.options.steps)},
               {"batch", std::to_string(s.options.data.batch_size) + " x " + std::to_string(s.world) + " process(es)"},
               {"skipped files", std::to_string(s.dataset->stats().skipped)},
               {"training time (this session)", std::to_string(static_cast<int64_t>(seconds)) + " s"}};
  r.charts = {{"losses", {"loss_d", "loss_g", "gp"}, false},
              {is_wasserstein(s.loss) || !outputs_are_logits(s.loss) ? "critic scores" : "D(x) and D(G(z))",
               {"d_real", "d_fake"}, false},
              {"gradient norms", {"grad_norm_d", "grad_norm_g"}, true},
              {"learning rates", {"lr_g", "lr_d"}, false},
              {"images per second", {"images_per_s"}, false}};
  r.samples_caption = std::string("The same fixed noise batch at every sampled step") +
                      (s.G_ema ? ", through the EMA generator." : ".") +
                      (s.options.nets.arch == "mlp" ? " Blue: generated points; red circles: the data's modes." : "");
  return r;
}

GanTrainResult run_training(Session& s, const Callbacks& callbacks) {
  const GanTrainOptions& o = s.options;
  const int64_t batch = o.data.batch_size;
  const int64_t global_batch = batch * s.world;
  const int64_t first_step = s.step;
  s.dataset->start(s.step * o.n_critic);

  auto G_params = s.G->parameters();
  auto D_params = s.D->parameters();
  const auto session_start = Clock::now();
  auto interval_start = session_start;
  int64_t interval_images = 0;
  GanTrainResult result;
  bool stop = false;

  // Collective with several processes: every rank calls it at the same steps.
  auto maybe_checkpoint = [&](bool force) {
    if (!force && s.step % o.checkpoint_every != 0) return;
    const bool identical = replicas_identical(s);
    if (!s.run) return;
    Checkpoint checkpoint = make_checkpoint(s);
    checkpoint.meta["world_size"] = s.world;
    checkpoint.meta["replicas_identical"] = identical;
    if (!identical) callbacks.warn("data-parallel replicas have drifted apart at step " + std::to_string(s.step));
    s.run->write_checkpoint(checkpoint, s.step, o.keep_checkpoints);
    write_run_report(*s.run, make_report(s, std::chrono::duration<double>(Clock::now() - session_start).count()));
  };

  while (s.step < o.steps && !stop) {
    const int64_t step = s.step + 1;
    auto generator = at::make_generator<at::CPUGeneratorImpl>(sample_seed(o.seed ^ 0x9e3779b97f4a7c15ULL, step));
    // This process's slice of a global draw, so W processes see what one process with W*B sees.
    auto draw_normal = [&](std::vector<int64_t> shape) {
      shape.insert(shape.begin(), global_batch);
      return at::randn(shape, generator).narrow(0, s.rank * batch, batch).to(s.device);
    };
    auto draw_uniform = [&]() { return at::rand({global_batch}, generator).narrow(0, s.rank * batch, batch).to(s.device); };
    const double lr_scale = lr_factor(o.schedule, step, o.steps, o.decay_start);
    set_lr(*s.opt_g, o.lr_g * lr_scale);
    set_lr(*s.opt_d, o.lr_d * lr_scale);

    double loss_d = 0, penalty = 0, r1_value = 0, d_real_mean = 0, d_fake_mean = 0, norm_d = 0;
    for (int64_t k = 0; k < o.n_critic; ++k) {
      Batch data = s.dataset->next();
      at::Tensor real = data.samples.to(s.device);
      if (real.dim() == 4) real = to_gan_range(real);
      at::Tensor z = draw_normal({o.nets.z_dim});
      at::Tensor fake;
      {
        torch::NoGradGuard no_grad;
        fake = s.G->forward(z);
      }
      if (!s.augment.empty()) {
        real = diff_augment(real, s.augment, generator);
        fake = diff_augment(fake, s.augment, generator);
      }
      if (o.r1_gamma > 0) real = real.detach().requires_grad_(true);  // R1 differentiates D(real) w.r.t. real
      at::Tensor out_real = s.D->forward(real);
      at::Tensor out_fake = s.D->forward(fake);
      at::Tensor objective = discriminator_loss(s.loss, out_real, out_fake);
      at::Tensor total = objective;
      if (o.r1_gamma > 0) {
        at::Tensor r1 = r1_penalty(out_real, real, o.r1_gamma).penalty;
        total = total + r1;
        r1_value = r1.item<double>();
      }
      at::Tensor eps = draw_uniform();
      if (s.loss == GanLoss::wgangp) {
        auto gp = gradient_penalty([&](const at::Tensor& x) { return s.D->forward(x); }, real, fake, eps, o.gp_lambda);
        total = total + gp.penalty;
        penalty = gp.penalty.item<double>();
      }
      s.opt_d->zero_grad();
      total.backward();
      if (s.parallel) s.parallel->average_gradients(D_params);
      norm_d = grad_norm(D_params);
      clip_gradients(D_params, o.grad_clip, norm_d);
      s.opt_d->step();
      if (s.loss == GanLoss::wgan) {
        torch::NoGradGuard no_grad;
        for (auto& p : D_params) p.clamp_(-o.weight_clip, o.weight_clip);
      }
      loss_d = objective.item<double>();
      if (outputs_are_logits(s.loss)) {
        d_real_mean = out_real.detach().sigmoid().mean().item<double>();
        d_fake_mean = out_fake.detach().sigmoid().mean().item<double>();
      } else {
        d_real_mean = out_real.detach().mean().item<double>();
        d_fake_mean = out_fake.detach().mean().item<double>();
      }
      interval_images += global_batch;
    }

    at::Tensor z = draw_normal({o.nets.z_dim});
    at::Tensor fake = s.G->forward(z);
    if (!s.augment.empty()) fake = diff_augment(fake, s.augment, generator);
    at::Tensor objective_g = generator_loss(s.loss, s.D->forward(fake));
    s.opt_g->zero_grad();
    objective_g.backward();
    if (s.parallel) s.parallel->average_gradients(G_params);
    const double norm_g = grad_norm(G_params);
    clip_gradients(G_params, o.grad_clip, norm_g);
    s.opt_g->step();
    if (s.G_ema) {
      // beta ramps up as min(ema, (1 + t) / (10 + t)) (the num_updates rule of TensorFlow's
      // ExponentialMovingAverage), so early samples are not dominated by the random init.
      ema_update(*s.G_ema, *s.G, std::min(o.ema, (1.0 + step) / (10.0 + step)));
    }
    s.step = step;

    const double loss_g = objective_g.item<double>();
    if (!std::isfinite(loss_d) || !std::isfinite(loss_g))
      throw Error("training diverged at step " + std::to_string(step) + " (loss_d " + std::to_string(loss_d) +
                  ", loss_g " + std::to_string(loss_g) + "); try a lower learning rate or another objective");
    const double elapsed = std::chrono::duration<double>(Clock::now() - session_start).count();
    if (step % o.log_every == 0 || step == o.steps) {
      const double interval = std::chrono::duration<double>(Clock::now() - interval_start).count();
      Json record{{"step", step},          {"loss_d", loss_d},         {"loss_g", loss_g},
                  {"d_real", d_real_mean}, {"d_fake", d_fake_mean},    {"grad_norm_d", norm_d},
                  {"grad_norm_g", norm_g}, {"lr_g", o.lr_g * lr_scale}, {"lr_d", o.lr_d * lr_scale},
                  {"images_per_s", interval > 0 ? interval_images / interval : 0.0},
                  {"skipped_files", s.dataset->stats().skipped}};
      if (s.loss == GanLoss::wgangp) record["gp"] = penalty;
      if (o.r1_gamma > 0) record["r1"] = r1_value;
      if (s.run) s.run->append_log(record);
      result.last_metrics = record;
      interval_start = Clock::now();
      interval_images = 0;
    }
    if (s.run && (step % o.sample_every == 0 || step == o.steps)) write_samples(s);

    ProgressEvent event{"train gan", step, o.steps, elapsed, {}};
    event.metrics = {{"D", loss_d}, {"G", loss_g}};
    if (s.loss == GanLoss::wgangp) event.metrics.emplace_back("gp", penalty);
    if (o.r1_gamma > 0) event.metrics.emplace_back("r1", r1_value);
    event.metrics.emplace_back(outputs_are_logits(s.loss) ? "D(x)" : "D(x)~", d_real_mean);
    event.metrics.emplace_back(outputs_are_logits(s.loss) ? "D(G(z))" : "D(G(z))~", d_fake_mean);
    event.metrics.emplace_back("img/s", (step - first_step) * o.n_critic * global_batch / std::max(elapsed, 1e-9));
    callbacks.report(event);

    // Every process must agree to stop at the same step, or the others would wait in a collective.
    bool stop_here = callbacks.stop_requested();
    if (s.parallel) stop_here = s.parallel->average_scalars({stop_here ? 1.0 : 0.0})[0] > 0;
    if (stop_here && step < o.steps) {
      stop = true;
      result.interrupted = true;
      callbacks.info("interrupted at step " + std::to_string(step) + "; writing a checkpoint");
    }
    if (!stop && step < o.steps) maybe_checkpoint(false);
  }
  maybe_checkpoint(true);
  if (s.run && result.interrupted) write_samples(s);
  result.step = s.step;
  result.skipped_files = s.dataset->stats().skipped;
  result.seconds = std::chrono::duration<double>(Clock::now() - session_start).count();
  return result;
}

Session make_session(const GanTrainOptions& options, const std::string& run_dir, const Callbacks& callbacks) {
  Session s;
  s.options = options;
  const DistributedEnv env = distributed_env_from_environment();
  s.rank = env.rank;
  s.world = env.world_size;
  s.options.data.rank = env.rank;
  s.options.data.world_size = env.world_size;
  s.loss = parse_gan_loss(s.options.loss);
  s.device = resolve_device(s.options.device);
  s.augment = parse_diff_augment(s.options.diff_augment, "diff_augment");
  s.dataset = make_dataset(s.options.data, callbacks);
  // Weights start from the seed (identical in every process; rank 0's are broadcast anyway).
  seed_everything(s.options.seed);
  s.G = make_generator(s.options.nets);
  s.D = make_discriminator(s.options.nets);
  if (s.options.ema > 0) {
    s.G_ema = make_generator(s.options.nets);
    load_state_dict(*s.G_ema, module_state_dict(*s.G), "G");
  }
  s.G->to(s.device);
  s.D->to(s.device);
  if (s.G_ema) {
    s.G_ema->to(s.device);
    s.G_ema->eval();
    for (auto& p : s.G_ema->parameters()) p.set_requires_grad(false);
  }
  s.G->train();
  s.D->train();
  s.opt_g = std::make_unique<torch::optim::Adam>(
      s.G->parameters(), torch::optim::AdamOptions(s.options.lr_g).betas({s.options.beta1, s.options.beta2}));
  s.opt_d = std::make_unique<torch::optim::Adam>(
      s.D->parameters(), torch::optim::AdamOptions(s.options.lr_d).betas({s.options.beta1, s.options.beta2}));
  s.fixed_z = sample_latents(s.options.num_samples, s.options.nets.z_dim, 0, sample_seed(s.options.seed, 0xf1c5d));
  if (env.enabled()) {
    s.parallel = std::make_unique<DataParallel>(env, s.device);
    callbacks.info("data-parallel: rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size));
  }
  if (s.rank == 0) s.run = std::make_unique<RunDirectory>(run_dir);
  return s;
}

void synchronise_start(Session& s) {
  if (!s.parallel) return;
  s.parallel->broadcast(*s.G);  // parameters and buffers (batch-norm statistics, spectral-norm u, v)
  s.parallel->broadcast(*s.D);
  if (s.G_ema) s.parallel->broadcast(*s.G_ema);
}

}  // namespace

GanTrainOptions resolve(GanTrainOptions o) {
  const GanLoss loss = parse_gan_loss(o.loss);
  o.loss = to_string(loss);
  const bool ring = o.data.synthetic == "ring8";
  if (o.nets.arch == "auto") o.nets.arch = ring ? "mlp" : "dcgan";
  check(o.nets.arch == "mlp" || !ring, "arch", "the ring8 dataset holds 2-D points: use --arch mlp");
  if (o.nets.arch == "mlp") {
    check(ring, "arch", "mlp nets train on point datasets (ring8); images need dcgan");
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
  check(o.steps >= 1, "steps", "must be at least 1");
  check(o.n_critic >= 1 && o.n_critic <= 100, "n_critic", "must be in 1..100");
  check(o.lr_g > 0 && o.lr_g < 1, "lr_g", "must be in (0, 1)");
  check(o.lr_d > 0 && o.lr_d < 1, "lr_d", "must be in (0, 1)");
  check(o.beta1 >= 0 && o.beta1 < 1, "beta1", "must be in [0, 1)");
  check(o.beta2 >= 0 && o.beta2 < 1, "beta2", "must be in [0, 1)");
  check_schedule(o.schedule);
  check(o.decay_start >= 0 && o.decay_start < o.steps, "decay_start", "must be in [0, steps)");
  check(o.ema >= 0 && o.ema < 1, "ema", "must be in [0, 1) (0 = off)");
  check(o.grad_clip >= 0, "grad_clip", "must be >= 0 (0 = off)");
  check(o.weight_clip > 0, "weight_clip", "must be > 0");
  check(o.gp_lambda >= 0, "gp_lambda", "must be >= 0");
  check(o.r1_gamma >= 0, "r1_gamma", "must be >= 0 (0 = off)");
  check(o.data.batch_size % std::max<int64_t>(o.nets.pack, 1) == 0, "pack",
        "the batch size (" + std::to_string(o.data.batch_size) + ") must be a multiple of the pack size");
  check(o.log_every >= 1, "log_every", "must be at least 1");
  check(o.sample_every >= 1, "sample_every", "must be at least 1");
  check(o.checkpoint_every >= 1, "checkpoint_every", "must be at least 1");
  check(o.keep_checkpoints >= 0, "keep_checkpoints", "must be >= 0 (0 = keep all)");
  check(o.num_samples >= 1 && o.num_samples <= 1024, "num_samples", "must be in 1..1024");
  check(o.nets.z_dim >= 1 && o.nets.z_dim <= 4096, "z_dim", "must be in 1..4096");
  parse_diff_augment(o.diff_augment, "diff_augment");
  make_generator(o.nets);  // checks the architecture options (OptionError naming them)
  o.data.seed = o.seed;
  return o;
}

Json to_json(const GanTrainOptions& o) {
  Json j{{"data", o.data.folder},
         {"synthetic", o.data.synthetic},
         {"size", o.data.size},
         {"channels", o.data.channels},
         {"crop", o.data.crop},
         {"flip", o.data.flip},
         {"batch_size", o.data.batch_size},
         {"workers", o.data.workers},
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
         {"diff_augment", o.diff_augment},
         {"seed", o.seed},
         {"device", o.device},
         {"log_every", o.log_every},
         {"sample_every", o.sample_every},
         {"checkpoint_every", o.checkpoint_every},
         {"keep_checkpoints", o.keep_checkpoints},
         {"num_samples", o.num_samples}};
  const Json nets = to_json(o.nets);
  for (const char* key : {"arch", "z_dim", "g_width", "d_width", "d_norm", "spectral_norm", "minibatch_stddev", "g_norm",
                          "g_upsample", "pack", "mlp_hidden", "mlp_layers"})
    j[key] = nets[key];
  return j;
}

GanTrainOptions gan_train_options_from_json(const Json& json) {
  GanTrainOptions o;
  JsonReader r(json);
  r.get("data", o.data.folder).get("synthetic", o.data.synthetic).get("size", o.data.size);
  r.get("channels", o.data.channels).get("crop", o.data.crop).get("flip", o.data.flip);
  r.get("batch_size", o.data.batch_size).get("workers", o.data.workers).get("queue_batches", o.data.queue_batches);
  r.get("loss", o.loss).get("steps", o.steps).get("n_critic", o.n_critic).get("lr_g", o.lr_g).get("lr_d", o.lr_d);
  r.get("beta1", o.beta1).get("beta2", o.beta2).get("schedule", o.schedule).get("decay_start", o.decay_start);
  r.get("ema", o.ema).get("grad_clip", o.grad_clip).get("weight_clip", o.weight_clip).get("gp_lambda", o.gp_lambda);
  r.get("diff_augment", o.diff_augment).get("seed", o.seed).get("device", o.device);
  r.get("log_every", o.log_every).get("sample_every", o.sample_every).get("checkpoint_every", o.checkpoint_every);
  r.get("keep_checkpoints", o.keep_checkpoints).get("num_samples", o.num_samples);
  r.get("arch", o.nets.arch).get("z_dim", o.nets.z_dim).get("g_width", o.nets.g_width).get("d_width", o.nets.d_width);
  r.get("d_norm", o.nets.d_norm).get("spectral_norm", o.nets.spectral_norm).get("minibatch_stddev", o.nets.minibatch_stddev);
  r.get("mlp_hidden", o.nets.mlp_hidden).get("mlp_layers", o.nets.mlp_layers);
  r.get("g_norm", o.nets.g_norm).get("g_upsample", o.nets.g_upsample).get("pack", o.nets.pack);
  r.get("r1_gamma", o.r1_gamma);
  r.reject_unknown();
  return o;
}

GanTrainResult train_gan(const GanTrainOptions& options, const std::string& run_dir, const Callbacks& callbacks) {
  const GanTrainOptions resolved = resolve(options);
  if (std::filesystem::exists(run_dir + "/config.json"))
    throw FileError(run_dir, "already holds a run; continue it with --resume, or choose another --out");
  Session s = make_session(resolved, run_dir, callbacks);
  if (s.run) {
    s.run->write_config(to_json(s.options));
    write_real_samples(s);
    write_samples(s);  // step 0: the untrained generator
  }
  synchronise_start(s);
  callbacks.info("training on " + s.dataset->describe() + " into " + run_dir);
  return run_training(s, callbacks);
}

GanTrainResult resume_gan(const std::string& run_dir, int64_t steps, const Callbacks& callbacks) {
  if (!std::filesystem::exists(run_dir + "/config.json"))
    throw FileError(run_dir, "not a training run (no config.json)");
  GanTrainOptions options = gan_train_options_from_json(RunDirectory(run_dir).read_config());
  if (steps > 0) options.steps = steps;
  options = resolve(options);
  Session s = make_session(options, run_dir, callbacks);
  const std::string latest = run_dir + "/checkpoints/latest.ckpt";
  if (!std::filesystem::exists(latest)) throw FileError(latest, "no checkpoint to resume from");
  restore_checkpoint(s, latest);
  if (s.step >= options.steps)
    callbacks.info("the run already has " + std::to_string(s.step) + " steps; pass more --steps to continue");
  if (s.run) {
    s.run->truncate_log_after(s.step);
    if (steps > 0) s.run->write_config(to_json(s.options));
  }
  synchronise_start(s);
  callbacks.info("resuming " + run_dir + " at step " + std::to_string(s.step));
  return run_training(s, callbacks);
}

}  // namespace impasto
