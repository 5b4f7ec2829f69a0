#include "impasto/nn/onednn.h"

#include <ATen/Parallel.h>
#include <ATen/ops/empty.h>

namespace impasto {

const dnnl::engine& onednn_cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::memory onednn_wrap(const dnnl::memory::desc& desc, const at::Tensor& t) {
  return dnnl::memory(desc, onednn_cpu_engine(), t.data_ptr());
}

at::Tensor onednn_buffer(const dnnl::memory::desc& desc) {
  return at::empty({static_cast<int64_t>(desc.get_size())}, at::kByte);
}

dnnl::stream onednn_stream() {
  at::internal::lazy_init_num_threads();
  return dnnl::stream(onednn_cpu_engine());
}

}  // namespace impasto
