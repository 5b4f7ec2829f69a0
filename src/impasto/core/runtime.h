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
//  - keeps large activation buffers in the heap instead of returning them to the OS on every free
//    (glibc's mmap threshold + trim threshold), which saves 25-30% per optimization step.
void configure_runtime(const RuntimeOptions& options);

// For front ends, first thing in main(): OpenMP threads that busy-wait collapse when another
// process holds a core, so impasto runs with OMP_WAIT_POLICY=PASSIVE. libgomp reads the variable
// when it is loaded, before main(), so when it is unset this sets it and re-executes the program
// once (/proc/self/exe with the same arguments). Returns only if the variable was already set or
// the re-execution failed (then the program simply runs with libgomp's default).
void reexec_with_passive_openmp(char** argv);

// Number of online cores.
int hardware_threads();

}  // namespace impasto
