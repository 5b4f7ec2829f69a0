#include "impasto/nn/winograd.h"

#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <deque>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "impasto/nn/onednn.h"

namespace impasto {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using DataType = memory::data_type;

// One direction of a convolution (the forward pass: x -> y; the input gradient: dL/dy -> dL/dx):
// its input, in the caller's layout (NCHW or channels-last), reordered into the blocked layout
// (nChw16c) the Winograd kernel reads, the kernel run with its fixed arguments (the transformed
// weights, the bias), its blocked output reordered back to the caller's layout.
struct BlockedPass {
  dnnl::primitive kernel;
  int in_arg = 0, out_arg = 0;  // DNNL_ARG_SRC / DNNL_ARG_DST, or DNNL_ARG_DIFF_DST / DNNL_ARG_DIFF_SRC
  memory::desc user_in, blocked_in, user_out, blocked_out, scratch;
  dnnl::reorder to_blocked, from_blocked;
  std::unordered_map<int, memory> fixed;
};

// The forward and input-gradient passes of one convolution at one input shape. Held by the autograd
// graph (a capsule) while a backward pass may still need it, so the cache may drop it at any time.
struct Plan : torch::CustomClassHolder {
  BlockedPass forward, backward;
  std::string kernel;       // oneDNN's name for the forward kernel
  at::Tensor bias_storage;  // what the forward pass's bias points into
  // The caller's tensors (aliases sharing storage and version counter): kept so that the cache's
  // keys (their data pointers) cannot be reused while the plan lives; the weight also serves a double
  // backward (create_graph), which goes through LibTorch.
  at::Tensor weight, caller_bias;
  int64_t padding = 0;
  at::MemoryFormat format = at::MemoryFormat::Contiguous;  // of the input, the output and their gradients
};

dnnl::reorder make_reorder(const memory::desc& from, const memory::desc& to) {
  return dnnl::reorder(dnnl::reorder::primitive_desc(onednn_cpu_engine(), from, onednn_cpu_engine(), to));
}

// A copy of `weights` (plain OIHW) in the layout `desc`.
memory reordered_weights(const at::Tensor& weights, const memory::desc& desc) {
  const memory::dims dims(weights.sizes().begin(), weights.sizes().end());
  const memory::desc plain(dims, DataType::f32, Tag::oihw);
  memory out(desc, onednn_cpu_engine());
  dnnl::stream stream = onednn_stream();
  make_reorder(plain, desc).execute(stream, {{DNNL_ARG_FROM, onednn_wrap(plain, weights)}, {DNNL_ARG_TO, out}});
  stream.wait();
  return out;
}

// `weight` in the layout `desc`, made once and shared by the plans of every input shape that asks
// for that layout (Winograd-domain weights are 4x the kernel's size: vgg19's to relu5_1 take 320 MB
// per direction).
using WeightsIn = std::function<memory(const memory::desc& desc)>;

BlockedPass blocked_pass(const dnnl::primitive& kernel, int in_arg, int out_arg, const memory::desc& user_in,
                         const memory::desc& blocked_in, const memory::desc& user_out, const memory::desc& blocked_out,
                         const memory::desc& scratch, std::unordered_map<int, memory> fixed) {
  return BlockedPass{kernel,          in_arg, out_arg, user_in, blocked_in, user_out, blocked_out, scratch,
                     make_reorder(user_in, blocked_in), make_reorder(blocked_out, user_out), std::move(fixed)};
}

// Throws dnnl::error when oneDNN has no Winograd kernel for this shape on this CPU.
c10::intrusive_ptr<Plan> make_plan(const at::Tensor& weight, const at::Tensor& bias, at::IntArrayRef in_sizes, int64_t padding,
                                   bool channels_last, const WeightsIn& weights_in) {
  const int64_t n = in_sizes[0], c = in_sizes[1], h = in_sizes[2], w = in_sizes[3], oc = weight.size(0);
  const int64_t oh = h + 2 * padding - 2, ow = w + 2 * padding - 2;
  const memory::dims src{n, c, h, w}, wei{oc, c, 3, 3}, dst{n, oc, oh, ow}, stride{1, 1}, pad{padding, padding};
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // one buffer per call: calls may overlap
  const memory::desc any_src(src, DataType::f32, Tag::any), any_wei(wei, DataType::f32, Tag::any),
      any_dst(dst, DataType::f32, Tag::any), bias_desc({oc}, DataType::f32, Tag::x);
  const dnnl::convolution_forward::primitive_desc fpd(
      dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_winograd, any_src,
                                      any_wei, bias_desc, any_dst, stride, pad, pad),
      attr, onednn_cpu_engine());
  const dnnl::convolution_backward_data::primitive_desc bpd(
      dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_winograd, any_src, any_wei, any_dst, stride, pad, pad),
      attr, onednn_cpu_engine(), fpd);
  const Tag user = channels_last ? Tag::nhwc : Tag::nchw;  // the caller's layout, in and out
  const memory::desc user_src(src, DataType::f32, user), user_dst(dst, DataType::f32, user);
  auto plan = c10::make_intrusive<Plan>();
  plan->bias_storage = bias.defined() ? bias.detach().contiguous().clone() : at::zeros({oc}, weight.options());
  plan->forward = blocked_pass(dnnl::convolution_forward(fpd), DNNL_ARG_SRC, DNNL_ARG_DST, user_src, fpd.src_desc(), user_dst,
                               fpd.dst_desc(), fpd.scratchpad_desc(),
                               {{DNNL_ARG_WEIGHTS, weights_in(fpd.weights_desc())}, {DNNL_ARG_BIAS, onednn_wrap(bias_desc, plan->bias_storage)}});
  plan->backward = blocked_pass(dnnl::convolution_backward_data(bpd), DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC, user_dst,
                                bpd.diff_dst_desc(), user_src, bpd.diff_src_desc(), bpd.scratchpad_desc(),
                                {{DNNL_ARG_WEIGHTS, weights_in(bpd.weights_desc())}});
  plan->kernel = fpd.impl_info_str();
  plan->weight = weight.detach();
  plan->caller_bias = bias.defined() ? bias.detach() : at::Tensor();
  plan->padding = padding;
  plan->format = channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  return plan;
}

// `pass` on x (contiguous in `format`) into a new tensor of `out_sizes` in `format`.
at::Tensor run(const BlockedPass& pass, const at::Tensor& x, at::IntArrayRef out_sizes, at::MemoryFormat format) {
  dnnl::stream stream = onednn_stream();
  const at::Tensor in_blocked = onednn_buffer(pass.blocked_in), out_blocked = onednn_buffer(pass.blocked_out), scratch = onednn_buffer(pass.scratch);
  const memory in_b = onednn_wrap(pass.blocked_in, in_blocked), out_b = onednn_wrap(pass.blocked_out, out_blocked);
  pass.to_blocked.execute(stream, {{DNNL_ARG_FROM, onednn_wrap(pass.user_in, x)}, {DNNL_ARG_TO, in_b}});
  std::unordered_map<int, memory> args = pass.fixed;
  args.emplace(pass.in_arg, in_b);
  args.emplace(pass.out_arg, out_b);
  args.emplace(DNNL_ARG_SCRATCHPAD, onednn_wrap(pass.scratch, scratch));
  pass.kernel.execute(stream, args);
  at::Tensor out = at::empty(out_sizes, x.options().memory_format(format));
  pass.from_blocked.execute(stream, {{DNNL_ARG_FROM, out_b}, {DNNL_ARG_TO, onednn_wrap(pass.user_out, out)}});
  stream.wait();
  return out;
}

struct WinogradConv : torch::autograd::Function<WinogradConv> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, c10::intrusive_ptr<Plan> plan) {
    const at::Tensor in = x.contiguous(plan->format);
    const std::vector<int64_t> out_sizes{in.size(0), plan->weight.size(0), in.size(2) + 2 * plan->padding - 2,
                                         in.size(3) + 2 * plan->padding - 2};
    at::Tensor y = run(plan->forward, in, out_sizes, plan->format);
    ctx->saved_data["in_sizes"] = in.sizes().vec();
    ctx->saved_data["plan"] = c10::IValue::make_capsule(std::move(plan));
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const at::Tensor& gy = grads[0];
    if (!gy.defined()) return {at::Tensor(), at::Tensor()};
    auto holder = ctx->saved_data["plan"].toCapsule();
    const Plan& plan = *static_cast<const Plan*>(holder.get());
    // A gradient of the gradient (create_graph): the transposed convolution, differentiable in gy.
    if (torch::GradMode::is_enabled())
      return {at::conv_transpose2d(gy, plan.weight, {}, 1, plan.padding), at::Tensor()};
    return {run(plan.backward, gy.contiguous(plan.format), ctx->saved_data["in_sizes"].toIntVector(), plan.format), at::Tensor()};
  }
};

// oneDNN's kernel name for a small Winograd plan, or empty when it has none on this CPU.
std::string probe_kernel() {
  try {
    const at::Tensor w = at::zeros({16, 16, 3, 3});
    return make_plan(w, at::Tensor(), {1, 16, 8, 8}, 1, false, [&](const memory::desc& desc) { return reordered_weights(w, desc); })->kernel;
  } catch (const dnnl::error&) {
    return "";
  }
}

const std::string& probed_kernel() {
  static const std::string kernel = probe_kernel();
  return kernel;
}

}  // namespace

bool winograd_available() { return !probed_kernel().empty(); }

std::string winograd_report() {
  return winograd_available() ? "oneDNN " + probed_kernel()
                              : "not available (oneDNN has Winograd kernels for AVX-512 CPUs only): LibTorch's direct convolution";
}

namespace {
std::atomic<bool> g_enabled{true};
}  // namespace

void set_winograd_enabled(bool enabled) { g_enabled = enabled; }
bool winograd_enabled() { return g_enabled.load(); }

struct FrozenConvs::Impl {
  // One plan per weights (data and version), bias (same), input shape, padding and layout (NCHW or
  // channels-last); at most kPlans, oldest out.
  using Key = std::tuple<const void*, uint32_t, const void*, uint32_t, std::vector<int64_t>, int64_t, bool>;
  static constexpr size_t kPlans = 64;
  std::mutex mutex;
  std::map<Key, c10::intrusive_ptr<Plan>> plans;  // a null plan: oneDNN has no kernel for that shape
  std::deque<Key> order;
  // The weights in each layout the plans asked for (see WeightsIn); a form of older weights at the
  // same address is dropped when a newer one is made. Each holds an alias of its weights, so that
  // their address cannot be reused by other weights while the form is kept.
  struct WeightForm {
    const void* data;
    uint32_t version;
    memory::desc desc;
    memory form;
    at::Tensor weight;
  };
  std::vector<WeightForm> forms;

  memory weights_in(const at::Tensor& weight, const memory::desc& desc) {
    const void* data = weight.data_ptr();
    const uint32_t version = weight._version();
    for (const WeightForm& f : forms)
      if (f.data == data && f.version == version && f.desc == desc) return f.form;
    forms.erase(std::remove_if(forms.begin(), forms.end(), [&](const WeightForm& f) { return f.data == data && f.version != version; }),
                forms.end());
    forms.push_back(WeightForm{data, version, desc, reordered_weights(weight.contiguous(), desc), weight.detach()});
    return forms.back().form;
  }
  std::atomic<int64_t> winograd{0}, fallback{0};
};

FrozenConvs::FrozenConvs() : impl_(std::make_unique<Impl>()) {}
FrozenConvs::~FrozenConvs() = default;

int64_t FrozenConvs::winograd_calls() const { return impl_->winograd.load(); }
int64_t FrozenConvs::fallback_calls() const { return impl_->fallback.load(); }

at::Tensor FrozenConvs::conv3x3(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int64_t padding) {
  TORCH_CHECK(weight.dim() == 4 && weight.size(2) == 3 && weight.size(3) == 3, "FrozenConvs::conv3x3 takes 3x3 kernels");
  const bool eligible = winograd_enabled() && winograd_available() && x.dim() == 4 && x.device().is_cpu() && x.scalar_type() == at::kFloat &&
                        weight.scalar_type() == at::kFloat && !weight.requires_grad() &&
                        !(bias.defined() && bias.requires_grad()) && x.size(1) == weight.size(1) &&
                        x.size(1) % 16 == 0 && weight.size(0) % 16 == 0 && x.size(2) + 2 * padding >= 3 &&
                        x.size(3) + 2 * padding >= 3;
  c10::intrusive_ptr<Plan> plan;
  if (eligible) {
    // Channels-last input gives channels-last output (and gradients): the layout the network runs in.
    const bool channels_last = x.suggest_memory_format() == at::MemoryFormat::ChannelsLast;
    Impl::Key key{weight.data_ptr(), weight._version(), bias.defined() ? bias.data_ptr() : nullptr,
                  bias.defined() ? bias._version() : 0u, x.sizes().vec(), padding, channels_last};
    std::lock_guard<std::mutex> lock(impl_->mutex);
    auto it = impl_->plans.find(key);
    if (it == impl_->plans.end()) {
      try {
        plan = make_plan(weight, bias, x.sizes(), padding, channels_last,
                         [&](const memory::desc& desc) { return impl_->weights_in(weight, desc); });
      } catch (const dnnl::error&) {
        plan = c10::intrusive_ptr<Plan>();  // remembered: no kernel for this shape
      }
      if (impl_->order.size() == Impl::kPlans) {
        impl_->plans.erase(impl_->order.front());
        impl_->order.pop_front();
      }
      impl_->plans.emplace(key, plan);
      impl_->order.push_back(key);
    } else {
      plan = it->second;
    }
  }
  if (!plan) {
    ++impl_->fallback;
    return at::conv2d(x, weight, bias, 1, padding);
  }
  ++impl_->winograd;
  return WinogradConv::apply(x, std::move(plan));
}

}  // namespace impasto
