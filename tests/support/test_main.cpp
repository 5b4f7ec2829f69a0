// The test binary's main: the process set-up the CLI uses (core/runtime.h: OpenMP threads wait
// passively, glibc keeps freed activation buffers instead of unmapping them, threads = cores), so
// tests run what users run; without it optimisation tests spend most of their time in page faults
// (4x slower alone), and spinning OpenMP threads of two tests run side by side take each other's cores.
#include <gtest/gtest.h>

#include "impasto/core/runtime.h"

int main(int argc, char** argv) {
  impasto::reexec_with_passive_openmp(argv);
  impasto::configure_runtime(impasto::RuntimeOptions{});
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
