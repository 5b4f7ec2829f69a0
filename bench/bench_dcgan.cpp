// Benchmarks of GAN training:
//   BM_DcganTraining/<batch>  training images/s of the GAN trainer (train/gan_trainer.h) on DCGAN-64
//                             with pytorch/examples' widths (z 100, ngf = ndf = 64, batch norm),
//                             nonsaturating objective, one D and one G update per step, no EMA;
//                             data: synthetic textures made by one worker thread. The rate is the
//                             trainer's own images_per_s over its logged intervals after a warm-up,
//                             so start-up and the final checkpoint are not counted.
//   BM_TexturesData            images/s the textures dataset alone delivers (one worker thread).
// Compare with bench/reference_dcgan_step.py (the same step in plain PyTorch).
#include <benchmark/benchmark.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>

#include "impasto/train/gan_trainer.h"
#include "impasto/io/run_dir.h"

using namespace impasto;

namespace {

constexpr int64_t kWarmupSteps = 4;
constexpr int64_t kMeasuredSteps = 16;

void BM_DcganTraining(benchmark::State& state) {
  const int64_t batch = state.range(0);
  double rate = 0;
  for (auto _ : state) {
    GanTrainOptions o;
    o.data.synthetic = "textures";
    o.data.size = 64;
    o.data.batch_size = batch;
    o.data.workers = 1;
    o.nets.arch = "dcgan";
    o.nets.size = 64;
    o.loss = "nonsaturating";
    o.steps = kWarmupSteps + kMeasuredSteps;
    o.ema = 0;
    o.log_every = kWarmupSteps;
    o.sample_every = 1000000;
    o.checkpoint_every = 1000000;
    o.device = "cpu";
    const std::string dir = "/tmp/impasto_bench_dcgan_" + std::to_string(getpid());
    std::filesystem::remove_all(dir);
    train_gan(o, dir, {});
    // Intervals after the first (warm-up) one: images over seconds.
    double images = 0, seconds = 0;
    for (const Json& r : RunFolder(dir).read_log()) {
      if (r["step"].get<int64_t>() <= kWarmupSteps) continue;
      images += static_cast<double>(kWarmupSteps * batch);
      seconds += kWarmupSteps * batch / r["images_per_s"].get<double>();
    }
    std::filesystem::remove_all(dir);
    rate = images / seconds;
    state.SetIterationTime(seconds / kMeasuredSteps);  // reported time = one training step
  }
  state.counters["images_per_s"] = rate;
}

void BM_TexturesData(benchmark::State& state) {
  DatasetOptions d;
  d.synthetic = "textures";
  d.size = 64;
  d.batch_size = 64;
  d.workers = 1;
  auto data = make_dataset(d);
  data->start(0);
  for (auto _ : state) benchmark::DoNotOptimize(data->next().samples.data_ptr());
  state.SetItemsProcessed(state.iterations() * d.batch_size);
}

}  // namespace

BENCHMARK(BM_DcganTraining)->Arg(64)->Unit(benchmark::kMillisecond)->UseManualTime()->Iterations(1);
BENCHMARK(BM_TexturesData)->Unit(benchmark::kMillisecond)->MinTime(2)->UseRealTime();
