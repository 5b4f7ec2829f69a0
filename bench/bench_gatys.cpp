// Benchmarks of stylization by optimisation:
//   BM_GatysStep/<backbone>/<size>   one optimisation step: features of the current image, content +
//                                    style losses on the default layers, backward (what L-BFGS
//                                    evaluates once per iteration)
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
#include "impasto/style/method.h"
#include "bench_support.h"

using namespace impasto;

namespace {

void BM_GatysStep(benchmark::State& state, const std::string& backbone_name) {
  const int64_t size = state.range(0);
  BackboneOptions bo;
  bo.name = backbone_name;
  if (backbone_name != "random-multiscale") bo.weights = bench::random_vgg_checkpoint(backbone_name);
  Backbone backbone = make_backbone(bo);
  const StyleRecipe recipe = backbone->recipe();
  const auto norm = parse_normalisation(recipe.normalisation);
  std::set<std::string> taps, content_taps, style_taps;
  for (const auto& [n, w] : recipe.content_layers) taps.insert(n), content_taps.insert(n);
  for (const auto& [n, w] : recipe.style_layers) taps.insert(n), style_taps.insert(n);
  at::Tensor content = synthetic_landscape(size, size, 1), style = synthetic_painting(size, size, 2);
  FeatureMaps content_targets;
  std::map<std::string, at::Tensor> grams;
  {
    torch::NoGradGuard no_grad;
    content_targets = backbone->extract(content, content_taps);
    for (const auto& [n, f] : backbone->extract(style, style_taps)) grams[n] = gram_matrix(f);
  }
  at::Tensor x = content.clone().set_requires_grad(true);
  for (auto _ : state) {
    if (x.grad().defined()) x.mutable_grad().zero_();
    auto feats = backbone->extract(x, taps);
    at::Tensor loss = torch::zeros({});
    for (const auto& [n, w] : recipe.content_layers) loss = loss + w * content_loss(feats.at(n), content_targets.at(n), norm);
    for (const auto& [n, w] : recipe.style_layers) loss = loss + w * style_loss(gram_matrix(feats.at(n)), grams.at(n), norm);
    loss.backward();
    benchmark::DoNotOptimize(x.grad().data_ptr());
  }
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

BENCHMARK_CAPTURE(BM_GatysStep, random_multiscale, std::string("random-multiscale"))->Arg(256)->Arg(512)->Unit(benchmark::kMillisecond)->MinTime(3);
BENCHMARK_CAPTURE(BM_GatysStep, vgg19, std::string("vgg19"))->Arg(256)->Arg(512)->Unit(benchmark::kMillisecond)->MinTime(3);
BENCHMARK_CAPTURE(BM_GatysStep, vgg16, std::string("vgg16"))->Arg(256)->Arg(512)->Unit(benchmark::kMillisecond)->MinTime(3);
BENCHMARK(BM_DefaultRun)->Unit(benchmark::kSecond)->Iterations(1);
