// The test binary's main: the process set-up the CLI uses (core/runtime.h: OpenMP threads wait
// passively, glibc keeps freed activation buffers instead of unmapping them); without it
// optimisation tests spend most of their time in page faults (4x slower). One thread per test, as
// LibTorch's default gave the tests before: CTest runs tests side by side on every core, and the
// golden tests' references (and the learning tests' tuned runs) were made single-threaded (with two
// threads InceptionGolden's Mixed_7c differs from pytorch-fid by 1.3e-4, with one by 0).
#include <gtest/gtest.h>

#include "impasto/core/runtime.h"

int main(int argc, char** argv) {
  impasto::reexec_with_passive_openmp(argv);
  impasto::configure_runtime(impasto::RuntimeOptions{1});
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
