// Benchmark of feed-forward style-network training:
//   BM_FeedforwardTraining/<backbone>   training images/s of `impasto train feedforward`
//                         (train/feedforward_trainer.h) with fast-neural-style's set-up: the
//                         TransformerNet at its published width (32, 5 residual blocks), 256-px
//                         content images in batches of 4, Adam 1e-3, no adversarial term. One step =
//                         the network forward, the loss network on the outputs (with gradients) and
//                         on the content images (without), the losses, one backward and one update.
//                         Backbones: vgg16 with random full-width weights and fast-neural-style's
//                         layers (content relu2_2; style relu1_2, relu2_2, relu3_3, relu4_3), the
//                         setting of bench/reference_feedforward_step.py; and impasto's default
//                         random-multiscale with its own recipe. Content: synthetic textures made by
//                         one worker thread; style: a synthetic painting. The rate is the trainer's
//                         own images_per_s over its logged intervals after the warm-up, so start-up,
//                         samples and the final checkpoint are not counted.
#include <benchmark/benchmark.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>

#include "bench_support.h"
#include "impasto/data/synthetic.h"
#include "impasto/io/image.h"
#include "impasto/train/feedforward_trainer.h"
#include "impasto/io/run_dir.h"

using namespace impasto;

namespace {

constexpr int64_t kWarmupSteps = 2;
constexpr int64_t kMeasuredSteps = 8;

void BM_FeedforwardTraining(benchmark::State& state, const std::string& backbone) {
  double rate = 0;
  const std::string dir = "/tmp/impasto_bench_feedforward_" + std::to_string(getpid());
  for (auto _ : state) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    FeedforwardTrainOptions o;
    o.style = dir + "/style.png";
    write_image(o.style, synthetic_painting(256, 256, 1));
    o.data.synthetic = "textures";
    o.data.size = 256;
    o.data.batch_size = 4;
    o.data.workers = 1;
    o.backbone.name = backbone;
    if (backbone == "vgg16") {
      o.backbone.weights = bench::random_vgg_checkpoint("vgg16");
      o.content_layers = {{"relu2_2", 1.0}};
      o.style_layers = {{"relu1_2", 1.0}, {"relu2_2", 1.0}, {"relu3_3", 1.0}, {"relu4_3", 1.0}};
    }
    o.steps = kWarmupSteps + kMeasuredSteps;
    o.log_every = kWarmupSteps;
    o.sample_every = 1000000;
    o.checkpoint_every = 1000000;
    o.num_samples = 1;
    o.device = "cpu";
    train_feedforward(o, dir + "/run", {});
    double images = 0, seconds = 0;
    for (const Json& r : RunFolder(dir + "/run").read_log()) {
      if (r["step"].get<int64_t>() <= kWarmupSteps) continue;
      const double n = static_cast<double>(kWarmupSteps * o.data.batch_size);
      images += n;
      seconds += n / r["images_per_s"].get<double>();
    }
    rate = images / seconds;
    state.SetIterationTime(seconds / kMeasuredSteps);  // reported time = one training step
  }
  std::filesystem::remove_all(dir);
  state.counters["images_per_s"] = rate;
}

}  // namespace

BENCHMARK_CAPTURE(BM_FeedforwardTraining, vgg16, std::string("vgg16"))->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(1);
BENCHMARK_CAPTURE(BM_FeedforwardTraining, random_multiscale, std::string("random-multiscale"))->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(1);
