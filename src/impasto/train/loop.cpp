#include "impasto/train/loop.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "impasto/core/error.h"
#include "impasto/core/runtime.h"
#include "impasto/core/text.h"
#include "impasto/data/dataset.h"
#include "impasto/io/image.h"
#include "impasto/train/adain_trainer.h"
#include "impasto/train/cyclegan_trainer.h"
#include "impasto/train/distributed.h"
#include "impasto/train/feedforward_trainer.h"
#include "impasto/train/gan_trainer.h"
#include "impasto/train/optimizer_support.h"

namespace impasto {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// One session of a run: the recipe with its settings, this process's place in a data-parallel run,
// and (rank 0) the run folder.
struct Session {
  Session(Recipe& r, const std::string& run_dir) : recipe(r), settings(r.settings()), run_path(RunFolder(run_dir).path()) {}

  Recipe& recipe;
  LoopSettings settings;
  std::string run_path;
  int rank = 0, world = 1;
  std::unique_ptr<DataParallel> parallel;
  std::unique_ptr<RunDirectory> run;  // rank 0 only
  int64_t step = 0;                   // completed steps
  double train_seconds = 0;           // in steps, over every session of the run (checkpoint meta)
};

// Sets the recipe up and joins the other processes, if any.
std::unique_ptr<Session> open_session(Recipe& recipe, const std::string& run_dir, const Callbacks& callbacks) {
  auto s = std::make_unique<Session>(recipe, run_dir);
  const DistributedEnv env = distributed_env_from_environment();
  s->rank = env.rank;
  s->world = env.world_size;
  recipe.setup(SetupContext{env.rank, env.world_size, callbacks});
  if (env.enabled()) {
    s->parallel = std::make_unique<DataParallel>(env, resolve_device(s->settings.options.device));
    callbacks.info("data-parallel: rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size));
  }
  if (s->rank == 0) s->run = std::make_unique<RunDirectory>(run_dir);
  return s;
}

// Every process starts from rank 0's parameters and buffers (batch-norm statistics, spectral-norm u, v).
void synchronise_start(Session& s) {
  if (!s.parallel) return;
  for (torch::nn::Module* module : s.recipe.replicated_modules()) s.parallel->broadcast(*module);
}

// Whether every process holds the same replicated modules: per-tensor float64 sums and sums of
// squares compared with their mean over processes (all equal iff each equals the mean). Collective.
bool replicas_identical(Session& s) {
  if (!s.parallel) return true;
  std::vector<double> fingerprint;
  for (torch::nn::Module* module : s.recipe.replicated_modules())
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

void write_samples(Session& s) { write_image(s.run->sample_path(s.step), s.recipe.samples()); }

Json config_of(const Recipe& recipe) {
  Json config = recipe.config();
  config[kRecipeKey] = recipe.name();
  return config;
}

TrainResult run_steps(Session& s, const Callbacks& callbacks) {
  const LoopSettings& o = s.settings;
  const int64_t total = o.steps;
  s.recipe.start(s.step);
  const auto session_start = Clock::now();
  auto interval_start = session_start;
  int64_t interval_images = 0, session_images = 0;
  TrainResult result;
  result.recipe = s.recipe.name();
  bool stop = false;

  // Collective with several processes: every rank calls it at the same steps.
  auto save = [&]() {
    const bool identical = replicas_identical(s);
    if (!s.run) return;
    Checkpoint checkpoint = s.recipe.checkpoint(s.step);
    checkpoint.meta["world_size"] = s.world;
    checkpoint.meta["train_seconds"] = s.train_seconds;
    checkpoint.meta["replicas_identical"] = identical;
    if (!identical) callbacks.warn("data-parallel replicas have drifted apart at step " + std::to_string(s.step));
    s.run->write_checkpoint(checkpoint, s.step, o.options.keep_checkpoints);
    s.recipe.export_models(*s.run, s.step);
    write_run_report(*s.run, s.recipe.report(*s.run, s.step, seconds_since(session_start)));
  };

  while (s.step < total && !stop) {
    const int64_t step = s.step + 1;
    StepContext context(step, lr_factor(o.schedule, step, total, o.decay_start),
                        at::make_generator<at::CPUGeneratorImpl>(sample_seed(o.options.seed ^ o.seed_salt, step)), s.rank,
                        s.world, s.parallel.get());
    const auto step_start = Clock::now();
    StepResult out = s.recipe.step(context);
    s.train_seconds += seconds_since(step_start);
    s.step = step;
    interval_images += out.images;
    session_images += out.images;

    const double elapsed = seconds_since(session_start);
    const bool evaluate_here = o.eval_every > 0 && (step % o.eval_every == 0 || step == total);
    Json evaluation = Json::object();
    if (evaluate_here && s.rank == 0) {
      const auto eval_start = Clock::now();
      evaluation = s.recipe.evaluate();
      const double eval_seconds = seconds_since(eval_start);
      std::string line;
      for (const auto& [key, value] : evaluation.items())
        if (value.is_number()) line += (line.empty() ? "" : ", ") + key + " " + format_number(value.get<double>());
      if (!line.empty()) {
        evaluation["eval_s"] = eval_seconds;
        callbacks.info("step " + std::to_string(step) + " (" + format_number(s.train_seconds) + " s of training): " + line);
      }
      interval_start += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(eval_seconds));
    }
    if (step % o.options.log_every == 0 || step == total || evaluate_here) {
      const double interval = seconds_since(interval_start);
      Json record = std::move(out.metrics);
      record.update(evaluation);
      record["step"] = step;
      record["train_s"] = s.train_seconds;
      record["images_per_s"] = interval > 0 ? interval_images / interval : 0.0;
      record["skipped_files"] = s.recipe.skipped_files();
      if (s.run) s.run->append_log(record);
      result.last_metrics = record;
      interval_start = Clock::now();
      interval_images = 0;
    }
    if (s.run && (step % o.options.sample_every == 0 || step == total)) write_samples(s);

    ProgressEvent event{"train " + s.recipe.name(), step, total, elapsed, std::move(out.progress)};
    event.metrics.emplace_back("img/s", session_images / std::max(elapsed, 1e-9));
    callbacks.report(event);

    // Every process must agree to stop at the same step, or the others would wait in a collective.
    bool stop_here = callbacks.stop_requested();
    if (s.parallel) stop_here = s.parallel->average_scalars({stop_here ? 1.0 : 0.0})[0] > 0;
    if (stop_here && step < total) {
      stop = true;
      result.interrupted = true;
      callbacks.info("interrupted at step " + std::to_string(step) + "; writing a checkpoint");
    }
    if (!stop && step < total && step % o.options.checkpoint_every == 0) save();
  }
  save();
  if (s.run && result.interrupted) write_samples(s);
  result.step = s.step;
  result.skipped_files = s.recipe.skipped_files();
  result.seconds = seconds_since(session_start);
  for (const ExportedModel& model : s.recipe.exported_models())
    result.models.push_back({s.run_path + "/" + model.file, model.what});
  return result;
}

// Runs written before config.json named their recipe: keys that only one recipe writes.
std::string recipe_from_config_keys(const Json& config) {
  if (config.contains("style") && config.contains("content_dir")) return "feedforward";
  if (config.contains("domain_a") && config.contains("netG")) return "cyclegan";
  if (config.contains("n_critic") && config.contains("z_dim")) return "gan";
  return "";
}

}  // namespace

void check_loop_options(const LoopOptions& o) {
  check_option(o.log_every >= 1, "log_every", "must be at least 1");
  check_option(o.sample_every >= 1, "sample_every", "must be at least 1");
  check_option(o.checkpoint_every >= 1, "checkpoint_every", "must be at least 1");
  check_option(o.keep_checkpoints >= 0, "keep_checkpoints", "must be >= 0 (0 = keep all)");
}

void add_loop_options(Json& j, const LoopOptions& o) {
  j["seed"] = o.seed;
  j["device"] = o.device;
  j["log_every"] = o.log_every;
  j["sample_every"] = o.sample_every;
  j["checkpoint_every"] = o.checkpoint_every;
  j["keep_checkpoints"] = o.keep_checkpoints;
}

void read_loop_options(JsonReader& r, LoopOptions& o) {
  r.get("seed", o.seed).get("device", o.device).get("log_every", o.log_every).get("sample_every", o.sample_every);
  r.get("checkpoint_every", o.checkpoint_every).get("keep_checkpoints", o.keep_checkpoints);
}

void add_data_options(Json& j, const DatasetOptions& d, const std::string& folder_key, const std::string& size_key) {
  j[folder_key] = d.folder;
  j[size_key] = d.size;
  j["synthetic"] = d.synthetic;
  j["crop"] = d.crop;
  j["flip"] = d.flip;
  j["batch_size"] = d.batch_size;
  j["workers"] = d.workers;
}

void read_data_options(JsonReader& r, DatasetOptions& d, const std::string& folder_key, const std::string& size_key) {
  r.get(folder_key, d.folder).get(size_key, d.size).get("synthetic", d.synthetic).get("crop", d.crop).get("flip", d.flip);
  r.get("batch_size", d.batch_size).get("workers", d.workers);
}

at::Tensor StepContext::normal_rows(int64_t batch, std::vector<int64_t> sample_shape) {
  sample_shape.insert(sample_shape.begin(), batch * world_size_);
  return at::randn(sample_shape, generator_).narrow(0, rank_ * batch, batch);
}

at::Tensor StepContext::uniform_rows(int64_t batch, std::vector<int64_t> sample_shape) {
  sample_shape.insert(sample_shape.begin(), batch * world_size_);
  return at::rand(sample_shape, generator_).narrow(0, rank_ * batch, batch);
}

void StepContext::average_gradients(const std::vector<at::Tensor>& parameters) {
  if (parallel_) parallel_->average_gradients(parameters);
}

std::vector<double> StepContext::average_scalars(const std::vector<double>& values) {
  return parallel_ ? parallel_->average_scalars(values) : values;
}

RecipeRegistry& recipe_registry() {
  static RecipeRegistry registry = [] {
    RecipeRegistry r("recipe", "recipe");
    register_builtin_gan_recipe(r);
    register_builtin_feedforward_recipe(r);
    register_builtin_cyclegan_recipe(r);
    register_builtin_adain_recipe(r);
    return r;
  }();
  return registry;
}

std::string recipe_of_run(const RunFolder& run, const Json& config) {
  if (config.contains(kRecipeKey)) {
    const Json& name = config[kRecipeKey];
    if (!name.is_string()) throw FormatError(run.file("config.json"), "\"recipe\" should be a name, got " + name.dump());
    return name.get<std::string>();
  }
  const std::string by_keys = recipe_from_config_keys(config);
  if (!by_keys.empty()) return by_keys;
  // A checkpoint's architecture is its recipe's name.
  const std::string latest = run.latest_checkpoint();
  if (!latest.empty()) {
    const std::string arch = load_checkpoint(latest).arch;
    if (recipe_registry().contains(arch)) return arch;
  }
  throw FormatError(run.file("config.json"), "cannot tell which recipe trained this run (no \"recipe\" key)");
}

Json recipe_options(Json config) {
  config.erase(kRecipeKey);
  return config;
}

TrainResult train_run(Recipe& recipe, const std::string& run_dir, const Callbacks& callbacks) {
  if (std::filesystem::exists(run_dir + "/config.json"))
    throw FileError(run_dir, "already holds a run; continue it with --resume, or choose another --out");
  const std::unique_ptr<Session> s = open_session(recipe, run_dir, callbacks);
  if (s->run) {
    s->run->write_config(config_of(recipe));
    const at::Tensor real = recipe.real_samples();
    if (real.defined()) write_image(s->run->real_samples_path(), real);
    write_samples(*s);  // step 0: the untrained model
  }
  synchronise_start(*s);
  callbacks.info("training " + recipe.describe() + " into " + run_dir);
  return run_steps(*s, callbacks);
}

TrainResult resume_run(const std::string& run_dir, int64_t steps, const Callbacks& callbacks, const std::string& expected) {
  if (!std::filesystem::exists(run_dir + "/config.json")) throw FileError(run_dir, "not a training run (no config.json)");
  const RunFolder folder(run_dir);
  const Json config = folder.read_config();
  const std::string name = recipe_of_run(folder, config);
  if (!expected.empty() && name != expected)
    throw OptionError("resume", run_dir + " holds a " + name + " run, not a " + expected + " one");
  Json options = recipe_options(config);
  if (steps > 0) {
    const int64_t decay_start = options.value("decay_start", int64_t{0});
    if (steps < decay_start)
      throw OptionError("steps", "this run's learning rate starts to decay at step " + std::to_string(decay_start) +
                                     " (decay_start in its config.json); give at least that many");
    options["steps"] = steps;
  }
  const std::unique_ptr<Recipe> recipe = recipe_registry().create(name, options);
  const std::string latest = folder.file("checkpoints/latest.ckpt");
  if (!std::filesystem::exists(latest)) throw FileError(latest, "no checkpoint to resume from");
  const std::unique_ptr<Session> s = open_session(*recipe, run_dir, callbacks);
  const Checkpoint checkpoint = load_checkpoint(latest);
  if (checkpoint.arch != name)
    throw FormatError(latest, "not a checkpoint of a " + name + " run (architecture '" + checkpoint.arch + "')");
  recipe->restore(checkpoint, latest);
  s->step = checkpoint.meta.value("step", int64_t{0});
  s->train_seconds = checkpoint.meta.value("train_seconds", 0.0);
  if (s->step >= s->settings.steps)
    callbacks.info("the run already has " + std::to_string(s->step) + " steps; pass more --steps to continue");
  if (s->run) {
    s->run->truncate_log_after(s->step);
    if (steps > 0) s->run->write_config(config_of(*recipe));
  }
  synchronise_start(*s);
  callbacks.info("resuming " + run_dir + " at step " + std::to_string(s->step));
  return run_steps(*s, callbacks);
}

}  // namespace impasto
