#pragma once
// What nn/'s oneDNN code shares (internal: included by .cpp files only, never by a public header).
// LibTorch 1.13 links the same libdnnl.so.2; impasto calls it directly where LibTorch does not reach
// its fastest kernels (nn/winograd.h, nn/matmul.h).
#include <ATen/core/Tensor.h>
#include <oneapi/dnnl/dnnl.hpp>

namespace impasto {

const dnnl::engine& onednn_cpu_engine();

// A oneDNN view of t's data, laid out as `desc` says.
dnnl::memory onednn_wrap(const dnnl::memory::desc& desc, const at::Tensor& t);

// A fresh byte buffer the size of `desc` (blocked copies, user scratchpads).
at::Tensor onednn_buffer(const dnnl::memory::desc& desc);

// A stream for one call in this thread, with oneDNN's OpenMP team as large as LibTorch's here.
dnnl::stream onednn_stream();

}  // namespace impasto
