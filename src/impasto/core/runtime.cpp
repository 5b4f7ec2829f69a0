#include "impasto/core/runtime.h"

#include <malloc.h>
#include <unistd.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include <cstdlib>
#include <thread>

#include "impasto/core/error.h"

namespace impasto {

c10::Device resolve_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? c10::Device(c10::kCUDA) : c10::Device(c10::kCPU);
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available())
      throw OptionError("device", "'" + name + "' requested but this LibTorch build has no usable CUDA device; use 'cpu' or 'auto'");
    try {
      return c10::Device(name);
    } catch (const std::exception&) {
      throw OptionError("device", "malformed CUDA device '" + name + "'; expected cuda or cuda:N");
    }
  }
  throw OptionError("device", "unknown device '" + name + "'; valid: auto, cpu, cuda, cuda:N");
}

void seed_everything(uint64_t seed) {
  torch::manual_seed(seed);
  if (torch::cuda::is_available()) torch::cuda::manual_seed_all(seed);
}

int hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

void reexec_with_passive_openmp(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  execv("/proc/self/exe", argv);
}

void configure_runtime(const RuntimeOptions& options) {
  // Keep freed activation buffers in the heap: never mmap large blocks, trim only above 1 GiB.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  if (options.threads < 0) throw OptionError("threads", "must be >= 0 (0 = number of cores)");
  torch::set_num_threads(options.threads == 0 ? hardware_threads() : options.threads);
}

}  // namespace impasto
