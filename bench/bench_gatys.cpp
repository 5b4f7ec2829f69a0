// Benchmarks of stylization by optimisation:
//   BM_GatysStep/<backbone>/<size>/bf16:<0|1>/winograd:<0|1>/matmul:<0|1>
//                                    one optimisation step: features of the current image, content +
//                                    style losses on the default layers, backward (what L-BFGS
//                                    evaluates once per iteration), through gatys_terms as the
//                                    method computes them; bf16:1 with the backbone in bf16 (the
//                                    first phase of GatysOptions::precision); winograd:0 with the
//                                    float32 convolutions in LibTorch instead of nn/winograd.h;
//                                    matmul:0 with the Gram products in LibTorch's bmm instead of
//                                    nn/matmul.h
//   BM_DefaultRun                    the whole default job (impasto demo: 256 px, 150 L-BFGS steps)
// VGG weights are random, full width, written once to a temporary impasto checkpoint so the real
// loading path is used (speed does not depend on the values).
// Run: build/impasto_bench [--benchmark_filter=...]; compare with bench/reference_gatys_step.py.
#include <benchmark/benchmark.h>
#include <torch/torch.h>
#include <unistd.h>

#include "impasto/data/synthetic.h"
#include "impasto/io/weights.h"
#include "impasto/losses/losses.h"
#include "impasto/nn/backbone.h"
#include "impasto/nn/matmul.h"
#include "impasto/nn/precision.h"
#include "impasto/nn/winograd.h"
#include "impasto/style/gatys.h"
#include "impasto/style/method.h"
#include "bench_support.h"

using namespace impasto;

namespace {

void BM_GatysStep(benchmark::State& state, const std::string& backbone_name) {
  const int64_t size = state.range(0);
  const bool bf16 = state.range(1) != 0;
  set_winograd_enabled(state.range(2) != 0);
  set_onednn_matmul_enabled(state.range(3) != 0);
  GatysOptions o;
  o.backbone.name = backbone_name;
  if (backbone_name != "random-multiscale") o.backbone.weights = bench::random_vgg_checkpoint(backbone_name);
  o = resolve_gatys_options(o);  // the backbone's recipe: layers, weights, normalisation
  Backbone backbone = make_backbone(o.backbone);
  const auto norm = parse_normalisation(*o.normalisation);
  at::Tensor content = synthetic_landscape(size, size, 1), style = synthetic_painting(size, size, 2);
  const GatysTargets targets = gatys_targets(*backbone, o, content, {StyleInput{"painting", style, 1.0, {}}}, {style}, size, size);
  const std::set<std::string> taps = gatys_taps(o);
  // The bf16 phase as GatysSession runs it: bf16 features from a bf16 copy, losses in fp32.
  Backbone reduced;
  if (bf16) {
    reduced = make_backbone(o.backbone);
    set_precision(*reduced, Precision::bf16);
  }
  at::Tensor x = content.clone().set_requires_grad(true);
  auto features = [&] { return bf16 ? reduced->extract(x, taps) : backbone->extract(x, taps); };
  for (auto _ : state) {
    if (x.grad().defined()) x.mutable_grad().zero_();
    gatys_terms(features(), x, targets, o, norm).total.backward();
    benchmark::DoNotOptimize(x.grad().data_ptr());
  }
  set_winograd_enabled(true);
  set_onednn_matmul_enabled(true);
  state.SetItemsProcessed(state.iterations());
  state.counters["px"] = static_cast<double>(size);
}

void BM_DefaultRun(benchmark::State& state) {
  StylizeInputs in;
  in.content.rgb = synthetic_landscape(192, 256, 1);
  in.styles.push_back(StyleInput{"painting", synthetic_painting(256, 256, 2), 1.0, {}});
  for (auto _ : state) {
    auto result = stylize_once("gatys", Json{{"image_size", 256}, {"iterations", 150}}, in);
    benchmark::DoNotOptimize(result.image.rgb.data_ptr());
  }
}

}  // namespace

// bf16 with winograd:0 only (its convolutions are LibTorch's bf16 ones either way).
void gatys_step_args(benchmark::internal::Benchmark* b) {
  for (int64_t size : {256, 512})
    for (const auto& [bf16, winograd, matmul] : {std::tuple<int, int, int>{0, 0, 0}, {0, 1, 0}, {0, 1, 1}, {1, 0, 0}, {1, 0, 1}})
      b->Args({size, bf16, winograd, matmul});
  b->ArgNames({"", "bf16", "winograd", "matmul"})->Unit(benchmark::kMillisecond)->MinTime(3);
}
BENCHMARK_CAPTURE(BM_GatysStep, random_multiscale, std::string("random-multiscale"))->Apply(gatys_step_args);
BENCHMARK_CAPTURE(BM_GatysStep, vgg19, std::string("vgg19"))->Apply(gatys_step_args);
BENCHMARK_CAPTURE(BM_GatysStep, vgg16, std::string("vgg16"))->ArgsProduct({{256, 512}, {0, 1}, {1}, {1}})->ArgNames({"", "bf16", "winograd", "matmul"})->Unit(benchmark::kMillisecond)->MinTime(3);
BENCHMARK(BM_DefaultRun)->Unit(benchmark::kSecond)->Iterations(1);
