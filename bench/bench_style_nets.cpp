// Benchmarks of one-pass stylization networks (random weights, published widths):
//   BM_StyleNet/transformer_net/<side>/<precision>
//                                         fast_neural_style TransformerNet (width 32, 5 blocks), one
//                                         side x side image, canonical in and out; precision 0 =
//                                         fp32, 1 = bf16 (nn/precision.h), 2 = int8 (nn/int8.h,
//                                         calibrated on the built-in pictures). Counters: GFLOP/s (the
//                                         network's multiply-adds x 2, transposed convolutions
//                                         counted as LibTorch's direct kernel does them) and, for
//                                         bf16 and int8, psnr_db of the output against fp32 on a photo-like
//                                         picture (the last conv scaled so the output spans the
//                                         range, as a trained net's does)
//   BM_StyleNet/resnet_9blocks/<side>/<precision>
//                                         CycleGAN's ResNet generator (ngf 64, instance norm)
//   BM_ConvPeak/<mode>                    one 3x3 convolution, 128 -> 128 channels on 128x128: this
//                                         machine's reachable GFLOP/s per mode (0 fp32 NCHW, 1 fp32
//                                         channels-last, 2 bf16 channels-last, 3 int8 channels-last:
//                                         quint8 activations, per-channel qint8 weights)
//   BM_AdainBuiltin/<side>/<precision>    the `adain` method's session as the built-in model runs it
//                                         (precision 0 = fp32, 1 = bf16):
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

#include <functional>

#include "impasto/core/cpu_features.h"
#include "impasto/data/synthetic.h"
#include "impasto/io/weights.h"
#include "impasto/metrics/ssim.h"
#include "impasto/nn/adain.h"
#include "impasto/nn/backbone.h"
#include "impasto/nn/cyclegan_nets.h"
#include "impasto/nn/int8.h"
#include "impasto/nn/precision.h"
#include "impasto/nn/transformer_net.h"
#include "impasto/style/int8_calibration.h"
#include "impasto/style/network.h"

using namespace impasto;

namespace {

// Multiply-adds x 2 of one pass on side x side (a multiple of 4), layer by layer as the networks are
// built (nn/transformer_net.h, nn/cyclegan_nets.h).
double style_net_flops(const std::string& arch, int64_t side) {
  const double s = static_cast<double>(side), full = s * s, half = full / 4, quarter = full / 16;
  auto conv = [](double k, double in, double out, double pixels) { return 2 * k * k * in * out * pixels; };
  if (arch == "transformer_net")
    return conv(9, 3, 32, full) + conv(3, 32, 64, half) + conv(3, 64, 128, quarter) + 10 * conv(3, 128, 128, quarter) +
           conv(3, 128, 64, half) + conv(3, 64, 32, full) + conv(9, 32, 3, full);
  // resnet_9blocks, ngf 64; a transposed convolution's work counted at its input's pixels.
  return conv(7, 3, 64, full) + conv(3, 64, 128, half) + conv(3, 128, 256, quarter) + 18 * conv(3, 256, 256, quarter) +
         conv(3, 256, 128, quarter) + conv(3, 128, 64, half) + conv(7, 64, 3, full);
}

// A random TransformerNet at the published width, its last conv scaled (and shifted) so that the
// output of a photo spans [0,255] like a trained net's (random weights alone give flat grey, on which
// any precision would pass and any tiling would look seamless).
TransformerNet scaled_transformer_net() {
  torch::manual_seed(0);
  TransformerNet net = make_transformer_net();
  net->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor raw = net->forward_raw(synthetic_landscape(256, 256, 9) * 255);
  const double scale = 64.0 / raw.std().item<double>();
  for (auto& p : net->named_parameters()) {
    if (p.key() == "deconv3.conv2d.weight") p.value().mul_(scale);
    if (p.key() == "deconv3.conv2d.bias") p.value().mul_(scale).add_(127.5 - scale * raw.mean().item<double>());
  }
  return net;
}

// The network as a function on canonical images, in `precision`.
std::function<at::Tensor(const at::Tensor&)> style_net(const std::string& arch, Precision precision) {
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  if (arch == "transformer_net") {
    TransformerNet net = scaled_transformer_net();
    auto run = [net](const at::Tensor& x) { return net->forward(x); };
    if (precision == Precision::int8) calibrate_int8(*net, run, builtin_calibration_pictures());
    set_precision(*net, precision);
    return run;
  }
  CycleGanGeneratorOptions o;
  o.arch = arch;
  CycleGanGenerator net = make_cyclegan_generator(o);
  net->eval();
  auto run = [net](const at::Tensor& x) { return translate(*net, x); };
  if (precision == Precision::int8) calibrate_int8(*net, run, builtin_calibration_pictures());
  set_precision(*net, precision);
  return run;
}

void BM_StyleNet(benchmark::State& state, const std::string& arch) {
  const int64_t side = state.range(0);
  const Precision precision = state.range(1) == 2 ? Precision::int8 : state.range(1) == 1 ? Precision::bf16 : Precision::fp32;
  const auto net = style_net(arch, precision);
  torch::NoGradGuard no_grad;
  if (precision != Precision::fp32) {
    const at::Tensor photo = (synthetic_landscape(side, side, 3) * 255).round() / 255;  // 8-bit, as decoded photos
    state.counters["psnr_db"] = psnr(net(photo).clamp(0, 1), style_net(arch, Precision::fp32)(photo).clamp(0, 1));
  }
  const at::Tensor image = torch::rand({1, 3, side, side});
  for (auto _ : state) {
    at::Tensor out = net(image);
    benchmark::DoNotOptimize(out.data_ptr());
  }
  state.counters["px"] = static_cast<double>(side);
  state.counters["GFLOP/s"] = benchmark::Counter(style_net_flops(arch, side) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(to_string(precision)) + "; cpu " + cpu_features().flags());
}

void BM_ConvPeak(benchmark::State& state) {
  const int64_t mode = state.range(0);
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  const auto dtype = mode == 2 ? torch::kBFloat16 : torch::kFloat32;
  const auto format = mode == 0 ? at::MemoryFormat::Contiguous : at::MemoryFormat::ChannelsLast;
  const at::Tensor x = torch::randn({1, 128, 128, 128}).to(dtype).contiguous(format);
  const at::Tensor w = torch::randn({128, 128, 3, 3}).to(dtype).contiguous(format);
  if (mode == 3) {
    const at::Tensor qx = quantize(x.relu(), QuantParams{4.0 / 255, 0});
    const Int8Conv conv(w, {}, 1, 1);
    for (auto _ : state) {
      at::Tensor y = conv.forward(qx, QuantParams{0.5, 128});
      benchmark::DoNotOptimize(y.data_ptr());
    }
  } else {
    for (auto _ : state) {
      at::Tensor y = at::conv2d(x, w, {}, 1, 1);
      benchmark::DoNotOptimize(y.data_ptr());
    }
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * 9 * 128 * 128 * 128 * 128 / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  const char* const names[] = {"fp32 NCHW", "fp32 channels-last", "bf16 channels-last", "int8 channels-last"};
  state.SetLabel(std::string(names[std::clamp<int64_t>(mode, 0, 3)]) + "; cpu " + cpu_features().flags());
}

// scaled_transformer_net as a .ckpt that `stylize --model` loads.
std::string random_transformer_file() {
  static std::string path;
  if (!path.empty()) return path;
  TransformerNet net = scaled_transformer_net();
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
  const char* precision = state.range(1) == 1 ? "bf16" : "fp32";
  auto session = open_session(
      "adain", Json{{"decoder", random_adain_decoder_file()}, {"image_size", side}, {"device", "cpu"}, {"precision", precision}}, styles);
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

// Wall time (UseRealTime): the work runs on every core, and GFLOP/s are per second of wall time.
BENCHMARK_CAPTURE(BM_StyleNet, transformer_net, std::string("transformer_net"))
    ->ArgsProduct({{512, 1024}, {0, 1, 2}})->Unit(benchmark::kMillisecond)->MinTime(3)->UseRealTime();
BENCHMARK_CAPTURE(BM_StyleNet, resnet_9blocks, std::string("resnet_9blocks"))
    ->ArgsProduct({{512, 1024}, {0, 1, 2}})->Unit(benchmark::kMillisecond)->MinTime(3)->UseRealTime();
BENCHMARK(BM_ConvPeak)->DenseRange(0, 3)->Unit(benchmark::kMillisecond)->MinTime(2)->UseRealTime();
BENCHMARK(BM_AdainBuiltin)->ArgsProduct({{512, 1024}, {0, 1}})->Unit(benchmark::kMillisecond)->MinTime(3)->UseRealTime();
BENCHMARK(BM_TiledPeakRss)->Args({4096, 768, 1})->Args({4096, 768, 0})->Args({4096, 768, 2})->Args({4096, 1024, 1})
    ->Args({4096, 512, 1})->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK(BM_TilingError)->Args({256, 0})->Args({256, 1})->Args({256, 2})->Args({512, 0})->Args({512, 1})->Args({512, 2})
    ->Unit(benchmark::kSecond)->Iterations(1);
