// The test binary's main: the runtime set-up the CLI uses (core/runtime.h: glibc keeps freed
// activation buffers instead of unmapping them, threads = cores), so tests run what users run and
// optimisation tests do not spend most of their time in page faults (4x slower without it).
#include <gtest/gtest.h>

#include "impasto/core/runtime.h"

int main(int argc, char** argv) {
  impasto::configure_runtime(impasto::RuntimeOptions{});
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
