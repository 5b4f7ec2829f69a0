#pragma once
// Batched matrix products in float32 through oneDNN's matmul (its brgemm kernels) on CPU.
//
// The Gram matrices of stylization by optimisation are long, thin products: 128 channels by 262144
// pixels for random-multiscale at 512 px. LibTorch 1.13's bmm hands them to the BLAS (OpenBLAS on
// Debian), which reaches 100-130 GFLOP/s on two cores for F F^T and only 15-30 GFLOP/s for the
// loss's gradient S F (a 128x128 matrix times 128 x 262144); oneDNN's matmul reaches 230-320 and
// 190-270 on the same products (docs/benchmarks.md).
#include <ATen/core/Tensor.h>

namespace impasto {

// a [B, M, K] times b [B, K, N] -> [B, M, N] (contiguous). Two float32 or two bfloat16 tensors give
// float32 (bf16: exact products, float32 sums), through oneDNN's matmul on CPU, which reads any
// strides whose last two dimensions have a unit stride (transposed views) in place. Anything else
// (CUDA, float64, a CPU oneDNN has no kernel for) is at::bmm(a, b), of float32 copies for bf16
// inputs. Not differentiable: callers write the backward.
at::Tensor dense_bmm(const at::Tensor& a, const at::Tensor& b);

// Off: dense_bmm is at::bmm (benchmarks and tests compare the two). On by default. Process-wide.
void set_onednn_matmul_enabled(bool enabled);

}  // namespace impasto
