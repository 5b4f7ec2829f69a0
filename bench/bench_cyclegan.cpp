// Benchmark of CycleGAN training:
//   BM_CycleGanTraining   training images/s of the CycleGAN trainer (train/cyclegan_trainer.h) at
//                         256 px with the reference's defaults: resnet_9blocks generators (ngf 64),
//                         basic PatchGAN discriminators (ndf 64), instance norm, lsgan, identity
//                         loss 0.5, pools of 50, batch 1. One step = the four translations, the two
//                         identity passes and one update of both generators, then one update of both
//                         discriminators; an image counts once per pair (A and B), as the reference's
//                         iteration counter does. Data: synthetic textures (A) and digits (B) made by
//                         one worker thread each. The rate is the trainer's own images_per_s over its
//                         logged intervals after the warm-up, so start-up, samples and the final
//                         checkpoint are not counted.
// Compare with bench/reference_cyclegan_step.py (the same step in plain PyTorch).
#include <benchmark/benchmark.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>

#include "impasto/train/cyclegan_trainer.h"
#include "impasto/io/run_dir.h"

using namespace impasto;

namespace {

constexpr int64_t kWarmupSteps = 2;
constexpr int64_t kMeasuredSteps = 6;

void BM_CycleGanTraining(benchmark::State& state) {
  double rate = 0;
  for (auto _ : state) {
    CycleGanTrainOptions o;
    o.synthetic_a = "textures";
    o.synthetic_b = "digits";
    o.size = 256;
    o.batch_size = 1;
    o.workers = 1;
    o.steps = kWarmupSteps + kMeasuredSteps;
    o.log_every = kWarmupSteps;
    o.sample_every = 1000000;
    o.checkpoint_every = 1000000;
    o.num_samples = 1;
    o.device = "cpu";
    const std::string dir = "/tmp/impasto_bench_cyclegan_" + std::to_string(getpid());
    std::filesystem::remove_all(dir);
    train_cyclegan(o, dir, {});
    double images = 0, seconds = 0;
    for (const Json& r : RunFolder(dir).read_log()) {
      if (r["step"].get<int64_t>() <= kWarmupSteps) continue;
      images += static_cast<double>(kWarmupSteps * o.batch_size);
      seconds += kWarmupSteps * o.batch_size / r["images_per_s"].get<double>();
    }
    std::filesystem::remove_all(dir);
    rate = images / seconds;
    state.SetIterationTime(seconds / kMeasuredSteps);  // reported time = one training step
  }
  state.counters["images_per_s"] = rate;
}

}  // namespace

BENCHMARK(BM_CycleGanTraining)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(1);
