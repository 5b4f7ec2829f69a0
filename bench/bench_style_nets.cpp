// Benchmarks of one-pass stylization networks (random weights, published widths):
//   BM_StyleNet/transformer_net/<side>    fast_neural_style TransformerNet (width 32, 5 blocks), one
//                                         side x side image, canonical in and out
//   BM_StyleNet/resnet_9blocks/<side>     CycleGAN's ResNet generator (ngf 64, instance norm)
//   BM_AdainBuiltin/<side>                the `adain` method's session as the built-in model runs it:
//                                         random-vgg19 encoder (quarter width) and a random decoder
//                                         of the same widths (128 channels in), one side x side photo,
//                                         the style's statistics cached (the second photo onwards)
//   BM_TiledPeakRss/<side>/<tile>/<statistics>
//                                         `impasto stylize --model` (style/network.h) with a random
//                                         TransformerNet on a side x side image in tile x tile tiles;
//                                         statistics 0 = tile (each tile its own instance-norm
//                                         statistics), 1 = image (the shrunk whole image's), 2 =
//                                         exact. Counter peak_rss_mib is the process's peak resident
//                                         memory, so run one per process:
//                                         --benchmark_filter=TiledPeakRss/4096/768/1
//   BM_TilingError/<tile>/<statistics>    the same stylizer on a 1024x1024 synthetic photo, tiled
//                                         (overlap 64) against untiled: counters mean_abs_diff,
//                                         max_abs_diff (canonical [0,1] images) and correlation. The
//                                         random net's last conv is rescaled so that its output
//                                         spans [0,1] (the published nets' range) instead of
//                                         clamping to black.
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <unistd.h>

#include "impasto/data/synthetic.h"
#include "impasto/io/weights.h"
#include "impasto/nn/adain.h"
#include "impasto/nn/backbone.h"
#include "impasto/nn/cyclegan_nets.h"
#include "impasto/nn/transformer_net.h"
#include "impasto/style/network.h"

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

// A random TransformerNet at the published width as a .ckpt that `stylize --model` loads, its last
// conv scaled (and shifted) so that the output of a photo spans [0,255] like a trained net's.
std::string random_transformer_file() {
  static std::string path;
  if (!path.empty()) return path;
  torch::manual_seed(0);
  TransformerNet net = make_transformer_net();
  net->eval();
  {
    torch::NoGradGuard no_grad;
    const at::Tensor raw = net->forward_raw(synthetic_landscape(256, 256, 9) * 255);
    const double scale = 64.0 / raw.std().item<double>();
    for (auto& p : net->named_parameters()) {
      if (p.key() == "deconv3.conv2d.weight") p.value().mul_(scale);
      if (p.key() == "deconv3.conv2d.bias") p.value().mul_(scale).add_(127.5 - scale * raw.mean().item<double>());
    }
  }
  Checkpoint ck;
  ck.arch = "transformer_net";
  ck.tensors = module_state_dict(*net);
  path = "/tmp/impasto_bench_transformer_" + std::to_string(getpid()) + ".ckpt";
  save_checkpoint(path, ck);
  return path;
}

// A random AdaIN decoder for random-vgg19 (relu4_1: 128 channels), as `train adain` exports one.
std::string random_adain_decoder_file() {
  static std::string path;
  if (!path.empty()) return path;
  torch::manual_seed(0);
  AdainDecoder decoder = make_adain_decoder(128);
  Checkpoint ck;
  ck.arch = "adain_decoder";
  ck.meta = Json{{"kind", "adain_decoder"}, {"encoder", "random-vgg19"}, {"encoder_seed", 0}, {"encoder_weights", ""}};
  ck.tensors = module_state_dict(*decoder);
  path = "/tmp/impasto_bench_adain_" + std::to_string(getpid()) + ".ckpt";
  save_checkpoint(path, ck);
  return path;
}

void BM_AdainBuiltin(benchmark::State& state) {
  const int64_t side = state.range(0);
  StyleSet styles;
  styles.styles.push_back({"painting", synthetic_painting(512, 512, 1), 1.0, {}});
  auto session = open_session("adain", Json{{"decoder", random_adain_decoder_file()}, {"image_size", side}, {"device", "cpu"}}, styles);
  Image photo;
  photo.rgb = torch::rand({1, 3, side, side});
  session->stylize(photo, {});  // encodes the style once
  for (auto _ : state) {
    StylizeResult r = session->stylize(photo, {});
    benchmark::DoNotOptimize(r.image.rgb.data_ptr());
  }
  state.counters["px"] = static_cast<double>(side);
}

Json stylizer_options(int64_t tile, int64_t statistics) {
  const char* const names[] = {"tile", "image", "exact"};
  return Json{{"model", random_transformer_file()}, {"tile", tile}, {"overlap", 64}, {"device", "cpu"},
              {"tile_statistics", names[std::clamp<int64_t>(statistics, 0, 2)]}};
}

void BM_TiledPeakRss(benchmark::State& state) {
  const int64_t side = state.range(0);
  auto session = open_session("network", stylizer_options(state.range(1), state.range(2)));  // weights count
  Image photo;
  photo.rgb = torch::rand({1, 3, side, side});
  for (auto _ : state) {
    StylizeResult r = session->stylize(photo, {});
    benchmark::DoNotOptimize(r.image.rgb.data_ptr());
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  state.counters["peak_rss_mib"] = static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB
}

void BM_TilingError(benchmark::State& state) {
  StylizeInputs in;
  in.content.rgb = synthetic_landscape(1024, 1024, 5);
  const at::Tensor whole = stylize_once("network", stylizer_options(2048, 1), in, {}).image.rgb;  // one tile
  auto session = open_session("network", stylizer_options(state.range(0), state.range(1)));
  at::Tensor tiled;
  for (auto _ : state) tiled = session->stylize(in.content, {}).image.rgb;
  const at::Tensor a = tiled.flatten() - tiled.mean(), b = whole.flatten() - whole.mean();
  state.counters["mean_abs_diff"] = (tiled - whole).abs().mean().item<double>();
  state.counters["max_abs_diff"] = (tiled - whole).abs().max().item<double>();
  state.counters["correlation"] = (a * b).sum().item<double>() / (a.norm() * b.norm()).item<double>();
}

}  // namespace

BENCHMARK_CAPTURE(BM_StyleNet, transformer_net, std::string("transformer_net"))->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond)->MinTime(3);
BENCHMARK_CAPTURE(BM_StyleNet, resnet_9blocks, std::string("resnet_9blocks"))->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond)->MinTime(3);
BENCHMARK(BM_AdainBuiltin)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond)->MinTime(3);
BENCHMARK(BM_TiledPeakRss)->Args({4096, 768, 1})->Args({4096, 768, 0})->Args({4096, 768, 2})->Args({4096, 1024, 1})
    ->Args({4096, 512, 1})->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK(BM_TilingError)->Args({256, 0})->Args({256, 1})->Args({256, 2})->Args({512, 0})->Args({512, 1})->Args({512, 2})
    ->Unit(benchmark::kSecond)->Iterations(1);
