// impasto dataset: writes samples of a built-in synthetic set to an image folder, so that recipes can
// be tried on a folder as a user would give one (train gan --data DIR), at a fixed size and count.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include <torch/torch.h>

#include "commands.h"
#include "impasto/core/error.h"
#include "impasto/data/dataset.h"
#include "impasto/io/image.h"

namespace impasto::cli {

CLI::App* add_dataset_command(CLI::App& app, Context& context) {
  struct DatasetFlags {
    std::string synthetic;
    std::string output;
    int64_t count = 1000;
    int64_t size = 32;
    int64_t channels = 3;
    uint64_t seed = 0;
  };
  auto f = std::make_shared<DatasetFlags>();
  CLI::App* cmd = app.add_subcommand("dataset", "Write samples of a built-in synthetic image set to a folder of PNG files");
  cmd->add_option("--synthetic", f->synthetic, "the set: digits, digits-paper, digits-neon, digits-ttf, textures")->required();
  cmd->add_option("-o,--out", f->output, "the folder (created; must be empty or absent)")->required();
  cmd->add_option("-n,--count", f->count, "how many images")->capture_default_str()->check(CLI::Range(1, 1000000));
  cmd->add_option("--size", f->size, "side in pixels")->capture_default_str()->check(CLI::Range(8, 1024));
  cmd->add_option("--channels", f->channels, "3 (RGB) or 1 (grey)")->capture_default_str();
  cmd->add_option("--seed", f->seed, "seed of the samples (sample i is a function of seed and i)")->capture_default_str();
  cmd->callback([f, &context] {
    namespace fs = std::filesystem;
    if (f->synthetic == "ring8") throw OptionError("synthetic", "ring8 holds points, not images");
    if (fs::exists(f->output) && !fs::is_empty(f->output))
      throw OptionError("out", "'" + f->output + "' exists and is not empty");
    DatasetOptions d;
    d.synthetic = f->synthetic;
    d.size = f->size;
    d.channels = f->channels;
    d.seed = f->seed;
    d.batch_size = 64;
    auto data = make_dataset(d, context.callbacks());
    const bool labelled = data->num_classes() > 0;
    fs::create_directories(f->output);
    data->start(0);
    const Callbacks callbacks = context.callbacks();
    const auto start = std::chrono::steady_clock::now();
    int64_t written = 0;
    while (written < f->count) {
      const Batch batch = data->next();
      for (int64_t i = 0; i < batch.samples.size(0) && written < f->count; ++i, ++written) {
        // Labelled sets go into one sub-folder per class (the ImageFolder layout), named by the label.
        std::string dir = f->output;
        if (labelled) dir += "/" + std::to_string(batch.labels[i].item<int64_t>());
        fs::create_directories(dir);
        char name[32];
        std::snprintf(name, sizeof name, "/%06lld.png", static_cast<long long>(written));
        write_image(dir + name, batch.samples[i]);
      }
      ProgressEvent event;
      event.stage = "writing " + f->synthetic;
      event.step = written;
      event.total = f->count;
      event.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      callbacks.report(event);
    }
    if (!context.quiet)
      std::printf("wrote %lld images of %s to %s%s\n", static_cast<long long>(written), data->describe().c_str(),
                  f->output.c_str(), labelled ? " (one folder per class)" : "");
  });
  return cmd;
}

}  // namespace impasto::cli
