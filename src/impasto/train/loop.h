#pragma once
// The one training loop. A recipe (gan_trainer.h, feedforward_trainer.h, cyclegan_trainer.h,
// adain_trainer.h) says
// what one step does, what its checkpoints hold, what its samples show and which model it exports;
// the loop does the rest, the same way for every recipe:
//
//   - randomness: step s draws from an at::Generator seeded with sample_seed(seed ^ salt, s), the
//     salt being the recipe's, and data batches are pure functions of their index (data/dataset.h);
//   - the learning-rate schedule: the factor lr_factor(schedule, s, steps, decay_start) of
//     optimizer_support.h, handed to the step;
//   - training time: every log.jsonl record holds train_s, the seconds spent in steps since the run
//     began (over resumed sessions too; evaluation, samples and checkpoints not counted), so curves
//     can be drawn against time as well as steps;
//   - evaluation: the recipe's evaluate() every eval_every steps, its figures in that step's record;
//   - the cadence: a log.jsonl record every log_every steps and at the last one, samples every
//     sample_every, a checkpoint (with the exported model and report.html) every checkpoint_every
//     and at the end, the newest keep_checkpoints step files kept;
//   - progress events (the recipe's metrics, then images/s) and stop requests (Callbacks); a stopped
//     run writes a checkpoint and samples, and can be resumed;
//   - data-parallel training (train/distributed.h) from the torchrun variables: the recipe's modules
//     start from rank 0's weights, replicas are compared at every checkpoint, every process stops at
//     the same step, and only rank 0 writes files;
//   - the run folder (io/run_dir.h): config.json with the recipe's name under "recipe", and exact
//     resume from checkpoints/latest.ckpt with the log truncated after its step.
//
// So a run resumed from a checkpoint repeats the uninterrupted run exactly, and W processes with
// batch B train like one process with batch W*B (when nothing depends on batch statistics across
// the split, i.e. no batch norm).
//
// A new recipe is one file (its options, its Recipe subclass, a `register_builtin_<name>_recipe`)
// and one registration line (with its header's include) in loop.cpp's recipe_registry().
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "impasto/core/json_options.h"
#include "impasto/core/log.h"
#include "impasto/core/registry.h"
#include "impasto/data/dataset.h"
#include "impasto/io/run_dir.h"
#include "impasto/io/weights.h"

namespace impasto {

class DataParallel;

// Options every recipe takes, under the same names in config.json and as CLI flags.
struct LoopOptions {
  uint64_t seed = 0;
  std::string device = "auto";
  int64_t log_every = 10;         // a log.jsonl record every N steps (and at the last)
  int64_t sample_every = 500;     // samples/step-N.png every N steps (and at the last)
  int64_t checkpoint_every = 1000;
  int keep_checkpoints = 0;       // 0 = keep every step checkpoint
};

// OptionError naming the first bad one of log_every, sample_every, checkpoint_every, keep_checkpoints.
void check_loop_options(const LoopOptions& options);
// The options as config.json keys, added to `json`; and read back (marking the keys as known).
void add_loop_options(Json& json, const LoopOptions& options);
void read_loop_options(JsonReader& reader, LoopOptions& options);
// A recipe's training data as config.json keys: the folder and the image side under the recipe's
// names for them (`folder_key`, `size_key`), then synthetic, crop, flip, batch_size, workers.
void add_data_options(Json& json, const DatasetOptions& data, const std::string& folder_key, const std::string& size_key);
void read_data_options(JsonReader& reader, DatasetOptions& data, const std::string& folder_key, const std::string& size_key);

// What the loop needs from a recipe's resolved options.
struct LoopSettings {
  LoopOptions options;
  int64_t steps = 1;                  // the total
  uint64_t seed_salt = 0;             // step s draws from sample_seed(options.seed ^ seed_salt, s)
  std::string schedule = "constant";  // lr_factor's: constant | linear | cosine
  int64_t decay_start = 0;
  int64_t eval_every = 0;             // Recipe::evaluate() every N steps and at the last; 0 = never
};

struct SetupContext {
  int rank = 0;        // this process in a data-parallel run
  int world_size = 1;  // processes in it
  const Callbacks& callbacks;
};

// What a step gets from the loop.
class StepContext {
 public:
  StepContext(int64_t step, double lr_factor, at::Generator generator, int rank, int world_size, DataParallel* parallel)
      : step_(step), lr_factor_(lr_factor), generator_(std::move(generator)), rank_(rank), world_size_(world_size),
        parallel_(parallel) {}

  int64_t step() const { return step_; }            // 1-based: the step being taken
  double lr_factor() const { return lr_factor_; }   // the schedule's factor on the learning rates
  at::Generator& generator() { return generator_; } // this step's randomness
  int rank() const { return rank_; }
  int world_size() const { return world_size_; }

  // This process's `batch` rows of one draw for the global batch (world_size * batch rows), so W
  // processes with batch B draw what one process with batch W*B draws. CPU tensors.
  at::Tensor normal_rows(int64_t batch, std::vector<int64_t> sample_shape = {});
  at::Tensor uniform_rows(int64_t batch, std::vector<int64_t> sample_shape = {});
  // Replaces each gradient by its mean over the processes (nothing to do for one process): call it
  // between backward() and the optimizer's step.
  void average_gradients(const std::vector<at::Tensor>& parameters);
  // The mean of each value over the processes (the values themselves for one process).
  std::vector<double> average_scalars(const std::vector<double>& values);

 private:
  int64_t step_;
  double lr_factor_;
  at::Generator generator_;
  int rank_, world_size_;
  DataParallel* parallel_;
};

struct StepResult {
  Json metrics = Json::object();  // for log.jsonl; the loop adds step, images_per_s and skipped_files
  std::vector<std::pair<std::string, double>> progress;  // for progress events; the loop adds img/s
  int64_t images = 0;  // samples trained on in this step by all processes together
};

// A file a recipe exports beside its run (model.ckpt ...), and what it is ("A -> B"; "" = the model).
struct ExportedModel {
  std::string file;  // relative to the run folder, or (in TrainResult) its full path
  std::string what;
};

class Recipe {
 public:
  virtual ~Recipe() = default;

  virtual std::string name() const = 0;  // as registered: "gan", "feedforward", "cyclegan", "adain"
  virtual Json config() const = 0;       // the resolved options as config.json holds them
  virtual LoopSettings settings() const = 0;
  // Datasets (this process's share of each batch), nets (initial weights from the seed), optimizers.
  virtual void setup(const SetupContext& context) = 0;
  // What is trained on what, completing "training ... into <run>".
  virtual std::string describe() const = 0;
  // The modules data-parallel processes keep identical: broadcast from rank 0 at the start and
  // compared at every checkpoint.
  virtual std::vector<torch::nn::Module*> replicated_modules() = 0;
  // Positions the data streams so that the next step is `step` + 1.
  virtual void start(int64_t step) = 0;
  // One step. Throws impasto::Error when the losses are no longer finite.
  virtual StepResult step(StepContext& context) = 0;
  // Everything a resumed run needs, with arch = name() and meta["step"] = step. restore() gets a
  // checkpoint of this recipe (the loop checks arch and reads the step); FormatError(file) when its
  // contents do not fit.
  virtual Checkpoint checkpoint(int64_t step) = 0;
  virtual void restore(const Checkpoint& checkpoint, const std::string& file) = 0;
  // Measures the model as it is now (e.g. FID of samples against real images), for log.jsonl: called on
  // rank 0 every eval_every steps and at the last one, outside the training time. Keys must not
  // clash with step()'s metrics. An empty object when the recipe measures nothing.
  virtual Json evaluate() { return Json::object(); }
  // The picture of samples/step-N.png (canonical image), from inputs fixed for the run.
  virtual at::Tensor samples() = 0;
  // samples/real.png, written when a run starts: what the samples should look like (undefined: none).
  virtual at::Tensor real_samples() { return {}; }
  virtual RunReport report(const RunFolder& run, int64_t step, double seconds) const = 0;
  // Files written beside the run with every checkpoint, for use outside training.
  virtual std::vector<ExportedModel> exported_models() const { return {}; }
  virtual void export_models(const RunDirectory& /*run*/, int64_t /*step*/) {}
  virtual int64_t skipped_files() const = 0;  // unreadable data files so far
};

// Recipes by name, for resuming a run from its config.json. The factory takes the options as
// config.json holds them (without the "recipe" key) and resolves them.
using RecipeRegistry = Registry<std::unique_ptr<Recipe>, const Json&>;
RecipeRegistry& recipe_registry();  // filled with the built-ins on first use

// The factory of `RecipeType`, constructed from the options `from_json` reads (strictly).
template <class RecipeType, class Options>
RecipeRegistry::Factory recipe_factory(Options (*from_json)(const Json&)) {
  return [from_json](const Json& options) -> std::unique_ptr<Recipe> { return std::make_unique<RecipeType>(from_json(options)); };
}

// The recipe of the run in `run` with this config.json: its "recipe" key, or for runs written before
// that key existed, the keys only one recipe writes, else the latest checkpoint's architecture.
// FormatError when none tells.
std::string recipe_of_run(const RunFolder& run, const Json& config);
inline const char* const kRecipeKey = "recipe";
// config.json without its "recipe" key: the options the recipe's strict *_from_json reads.
Json recipe_options(Json config);

struct TrainResult {
  std::string recipe;
  int64_t step = 0;          // last completed step
  bool interrupted = false;  // stopped by callbacks.should_stop (a checkpoint was written)
  Json last_metrics;         // the last logged record
  int64_t skipped_files = 0;
  double seconds = 0;
  std::vector<ExportedModel> models;  // full paths
};

// Trains `recipe` (options resolved) into `run_dir`, which must not hold a run yet.
TrainResult train_run(Recipe& recipe, const std::string& run_dir, const Callbacks& callbacks);
// Continues the run in `run_dir` from checkpoints/latest.ckpt with the options of its config.json,
// whatever its recipe; `steps` > 0 changes the total (OptionError("steps") when that is before the
// run's decay_start: the schedule stays as it was). With `recipe` given, a run of another recipe is
// an OptionError("resume").
TrainResult resume_run(const std::string& run_dir, int64_t steps, const Callbacks& callbacks,
                       const std::string& recipe = "");

}  // namespace impasto
