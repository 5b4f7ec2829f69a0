// The benchmark binary's entry point: the runtime is set up as the CLI sets it up (threads = cores,
// passive OpenMP waiting, allocator tuning), then Google Benchmark runs the selected benchmarks.
#include <benchmark/benchmark.h>

#include "impasto/core/runtime.h"

int main(int argc, char** argv) {
  impasto::reexec_with_passive_openmp(argv);
  impasto::configure_runtime(impasto::RuntimeOptions{});
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
