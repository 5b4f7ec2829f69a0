#include "impasto/nn/matmul.h"

#include <ATen/ops/bmm.h>
#include <ATen/ops/empty.h>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "impasto/nn/onednn.h"

namespace impasto {
namespace {

using dnnl::memory;

std::atomic<bool> g_enabled{true};

struct Kernel {
  dnnl::matmul primitive;
  memory::desc a, b, out, scratch;
};

// Whether oneDNN reads t's matrices in place: one of the last two dimensions has unit stride, and
// nothing is broadcast (zero strides).
bool plain_matrices(const at::Tensor& t) {
  const auto s = t.strides();
  return s[0] != 0 && s[1] != 0 && s[2] != 0 && (s[2] == 1 || s[1] == 1);
}

memory::desc strided(const at::Tensor& t, memory::data_type type) {
  return memory::desc(memory::dims(t.sizes().begin(), t.sizes().end()), type,
                      memory::dims(t.strides().begin(), t.strides().end()));
}

// One kernel per shapes, strides and dtype (a Gatys run asks for a few dozen); none when oneDNN
// has no kernel for them. At most kKernels are kept: a service sees many image sizes.
std::optional<Kernel> kernel_for(const at::Tensor& a, const at::Tensor& b) {
  static constexpr size_t kKernels = 128;
  static std::mutex mutex;
  static std::map<std::vector<int64_t>, std::optional<Kernel>> kernels;
  std::vector<int64_t> key{static_cast<int64_t>(a.scalar_type())};
  for (const at::Tensor* t : {&a, &b}) {
    key.insert(key.end(), t->sizes().begin(), t->sizes().end());
    key.insert(key.end(), t->strides().begin(), t->strides().end());
  }
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = kernels.find(key); it != kernels.end()) return it->second;
  if (kernels.size() >= kKernels) kernels.clear();
  std::optional<Kernel> kernel;
  try {
    const auto type = a.scalar_type() == at::kBFloat16 ? memory::data_type::bf16 : memory::data_type::f32;
    const memory::desc ad = strided(a, type), bd = strided(b, type),
                       od({a.size(0), a.size(1), b.size(2)}, memory::data_type::f32, memory::format_tag::abc);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // one buffer per call: calls may overlap
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(ad, bd, od), attr, onednn_cpu_engine());
    kernel = Kernel{dnnl::matmul(pd), ad, bd, od, pd.scratchpad_desc()};
  } catch (const dnnl::error&) {
    kernel.reset();
  }
  kernels.emplace(std::move(key), kernel);
  return kernel;
}

}  // namespace

void set_onednn_matmul_enabled(bool enabled) { g_enabled = enabled; }

at::Tensor dense_bmm(const at::Tensor& a_in, const at::Tensor& b_in) {
  TORCH_CHECK(a_in.dim() == 3 && b_in.dim() == 3 && a_in.size(0) == b_in.size(0) && a_in.size(2) == b_in.size(1),
              "dense_bmm takes [B,M,K] and [B,K,N], got ", a_in.sizes(), " and ", b_in.sizes());
  const bool floats = a_in.scalar_type() == b_in.scalar_type() &&
                      (a_in.scalar_type() == at::kFloat || a_in.scalar_type() == at::kBFloat16);
  const bool eligible = floats && g_enabled.load() && a_in.device().is_cpu() && b_in.device().is_cpu() &&
                        a_in.numel() > 0 && b_in.numel() > 0;
  // bf16 through at::bmm would round the result to bf16: float32 copies keep the sums in float32.
  auto fallback = [](const at::Tensor& a, const at::Tensor& b) {
    return a.scalar_type() == at::kBFloat16 && b.scalar_type() == at::kBFloat16 ? at::bmm(a.to(at::kFloat), b.to(at::kFloat))
                                                                                 : at::bmm(a, b);
  };
  if (!eligible) return fallback(a_in, b_in);
  const at::Tensor a = plain_matrices(a_in) ? a_in : a_in.contiguous();
  const at::Tensor b = plain_matrices(b_in) ? b_in : b_in.contiguous();
  const std::optional<Kernel> kernel = kernel_for(a, b);
  if (!kernel) return fallback(a, b);
  at::Tensor out = at::empty({a.size(0), a.size(1), b.size(2)}, a.options().dtype(at::kFloat));
  const at::Tensor scratch = onednn_buffer(kernel->scratch);
  dnnl::stream stream = onednn_stream();
  kernel->primitive.execute(stream, {{DNNL_ARG_SRC, onednn_wrap(kernel->a, a)},
                                     {DNNL_ARG_WEIGHTS, onednn_wrap(kernel->b, b)},
                                     {DNNL_ARG_DST, onednn_wrap(kernel->out, out)},
                                     {DNNL_ARG_SCRATCHPAD, onednn_wrap(kernel->scratch, scratch)}});
  stream.wait();
  return out;
}

}  // namespace impasto
