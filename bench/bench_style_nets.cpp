// Benchmarks of one-pass stylization networks (random weights, published widths):
//   BM_StyleNet/transformer_net/<side>    fast_neural_style TransformerNet (width 32, 5 blocks), one
//                                         side x side image, canonical in and out
//   BM_StyleNet/resnet_9blocks/<side>     CycleGAN's ResNet generator (ngf 64, instance norm)
//   BM_TiledPeakRss/<side>/<tile>         TransformerNet over a side x side image in tile x tile tiles
//                                         (style/tiling.h); counter peak_rss_mib is the process's
//                                         peak resident memory, so run it alone:
//                                         --benchmark_filter=TiledPeakRss
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include "impasto/nn/cyclegan_nets.h"
#include "impasto/nn/transformer_net.h"
#include "impasto/style/tiling.h"

using namespace impasto;

namespace {

void BM_StyleNet(benchmark::State& state, const std::string& arch) {
  const int64_t side = state.range(0);
  torch::manual_seed(0);
  TransformerNet transformer;
  CycleGanGenerator cyclegan;
  if (arch == "transformer_net") {
    transformer = make_transformer_net();
    transformer->eval();
  } else {
    CycleGanGeneratorOptions o;
    o.arch = arch;
    cyclegan = make_cyclegan_generator(o);
    cyclegan->eval();
  }
  const at::Tensor image = torch::rand({1, 3, side, side});
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    at::Tensor out = transformer ? transformer->forward(image) : translate(*cyclegan, image);
    benchmark::DoNotOptimize(out.data_ptr());
  }
  state.counters["px"] = static_cast<double>(side);
}

void BM_TiledPeakRss(benchmark::State& state) {
  const int64_t side = state.range(0);
  torch::manual_seed(0);
  TransformerNet net = make_transformer_net();  // (built before the image: weights are part of the peak)
  net->eval();
  const at::Tensor image = torch::rand({1, 3, side, side});
  TileOptions tiles;
  tiles.tile = state.range(1);
  tiles.overlap = 64;
  tiles.multiple = 1;
  for (auto _ : state) {
    at::Tensor out = apply_tiled(image, [&](const at::Tensor& x) { return net->forward(x); }, tiles);
    benchmark::DoNotOptimize(out.data_ptr());
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  state.counters["peak_rss_mib"] = static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB
}

}  // namespace

BENCHMARK_CAPTURE(BM_StyleNet, transformer_net, std::string("transformer_net"))->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond)->MinTime(3);
BENCHMARK_CAPTURE(BM_StyleNet, resnet_9blocks, std::string("resnet_9blocks"))->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond)->MinTime(3);
BENCHMARK(BM_TiledPeakRss)->Args({4096, 1024})->Args({4096, 768})->Args({4096, 512})->Unit(benchmark::kSecond)->Iterations(1);
