#pragma once
// 3x3 convolutions with fixed weights through oneDNN's Winograd kernels.
//
// The feature backbones (nn/backbone.h: the VGGs, random-multiscale) never train their weights:
// stylization by optimisation runs them forward and back to the image hundreds of times, and the
// feed-forward and AdaIN trainers use them as losses. LibTorch 1.13 computes their 3x3 convolutions
// with oneDNN's direct kernel and reorders the weights into its blocked layout on every call. Here
// the weights are reordered once, and the forward pass and the input's gradient run oneDNN's
// Winograd F(4x4, 3x3) kernels (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural
// Networks": a 6x6 input tile and the 3x3 kernel are transformed so that 16 outputs cost 36
// multiplications per channel pair instead of 144). Their float32 error is of the direct kernel's
// order: 9e-7 relative (direct: 6e-7) on a 256-channel layer against a double-precision reference.
//
// oneDNN has these kernels for AVX-512 CPUs only, and only for channel counts that are multiples of
// 16; everything else (other CPUs, the 3-channel first layers, bf16, CUDA, weights that train)
// goes through LibTorch's at::conv2d, so callers need not ask.
#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace impasto {

// Whether this CPU and oneDNN build have the Winograd kernels (probed once), and in words, for
// summaries and `impasto list`: "oneDNN jit_wino_4x3:avx512_core" or why not.
bool winograd_available();
std::string winograd_report();

// Off: every FrozenConvs call goes through at::conv2d (benchmarks and tests compare the two paths).
// On by default. Process-wide.
void set_winograd_enabled(bool enabled);
bool winograd_enabled();

// The convolutions of one network, each with its weights in Winograd form (made on first use and
// again when the weights change). Thread-safe: sessions sharing a cached backbone may call at once.
class FrozenConvs {
 public:
  FrozenConvs();
  ~FrozenConvs();
  FrozenConvs(const FrozenConvs&) = delete;
  FrozenConvs& operator=(const FrozenConvs&) = delete;

  // conv2d(x, weight, bias, stride 1, padding `padding`) for a 3x3 kernel, differentiable in x (not
  // in the weights, which must not require grad). Winograd when it applies (see above), else
  // at::conv2d with the same arguments. The output is in x's layout (NCHW or channels-last).
  at::Tensor conv3x3(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int64_t padding);

  // How many calls went through Winograd and how many through at::conv2d (tests, benchmarks).
  int64_t winograd_calls() const;
  int64_t fallback_calls() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace impasto
