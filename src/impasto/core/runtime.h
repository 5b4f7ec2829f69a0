#pragma once
// Process-wide set-up: device choice, seeding, threads and allocator tuning.
#include <c10/core/Device.h>

#include <cstdint>
#include <string>

namespace impasto {

// "auto" (CUDA when LibTorch has it and a GPU is visible, else CPU), "cpu", "cuda" or "cuda:N".
// Throws OptionError("device") for other names, or for "cuda" when CUDA is not available.
c10::Device resolve_device(const std::string& name);

// Seeds LibTorch's CPU (and CUDA) generators. Same seed and machine -> identical output.
void seed_everything(uint64_t seed);

struct RuntimeOptions {
  int threads = 0;  // 0 = number of cores
};

// Call once at start-up, before any tensor work:
//  - sets LibTorch's intra-op threads (it defaults to 1 on Debian's build),
//  - OMP_WAIT_POLICY=PASSIVE unless set (busy-waiting threads collapse when a core is busy),
//  - keeps large activation buffers in the heap instead of returning them to the OS on every free
//    (glibc's mmap threshold + trim threshold), which saves 25-30% per optimization step.
void configure_runtime(const RuntimeOptions& options);

// Number of online cores.
int hardware_threads();

}  // namespace impasto
