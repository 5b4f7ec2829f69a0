#include "impasto/nn/int8.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/native/quantized/PackedParams.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "impasto/core/cpu_features.h"
#include "impasto/core/error.h"
#include "impasto/nn/conv_ops.h"

namespace impasto {
namespace {

thread_local int moments_passes = 0, range_passes = 0;

c10::optional<at::Tensor> optional(const at::Tensor& t) { return t.defined() ? c10::optional<at::Tensor>(t) : c10::nullopt; }

}  // namespace

void ActivationRange::observe(const at::Tensor& x) {
  if (x.numel() == 0) return;
  const at::Tensor flat = x.detach().to(torch::kFloat32).reshape({-1});
  const auto [lo_t, hi_t] = at::aminmax(flat);
  merge(lo_t.item<double>(), hi_t.item<double>());
  constexpr int64_t kSample = 1 << 16;
  if (flat.numel() <= kSample) {
    samples.push_back(flat.clone());
  } else {
    // A seeded generator, so that calibrating twice gives the same ranges and the global one is untouched.
    auto generator = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(samples.size()) + 1);
    samples.push_back(flat.index_select(0, at::randint(flat.numel(), {kSample}, generator, torch::kLong)));
  }
}

std::pair<double, double> ActivationRange::clipped() const {
  if (samples.empty()) return {lo, hi};
  at::Tensor values = at::cat(samples);
  // at::quantile takes at most 2^24 values; many calibration images are thinned evenly to 2^22.
  constexpr int64_t kMostValues = int64_t{1} << 22;
  if (values.numel() > kMostValues) values = values.slice(0, 0, values.numel(), (values.numel() + kMostValues - 1) / kMostValues).contiguous();
  auto quantisation_error = [&](double a, double b) {
    ActivationRange r;
    r.merge(a, b);
    const QuantParams p = QuantParams::of(r);
    const at::Tensor q = (at::round(values / p.scale) + static_cast<double>(p.zero_point)).clamp(0, 255);
    return (((q - static_cast<double>(p.zero_point)) * p.scale - values).pow(2)).mean().item<double>();
  };
  std::pair<double, double> best{lo, hi};
  double best_error = quantisation_error(lo, hi);
  for (double tail : {1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3}) {
    const at::Tensor q = at::quantile(values, torch::tensor({tail, 1 - tail}, torch::kFloat32));
    const double a = std::min(q[0].item<double>(), 0.0), b = std::max(q[1].item<double>(), 0.0);
    const double error = quantisation_error(a, b);
    if (error < best_error) {
      best_error = error;
      best = {a, b};
    }
  }
  return best;
}

void ActivationRange::merge(double lo_value, double hi_value) {
  lo = observed ? std::min(lo, lo_value) : lo_value;
  hi = observed ? std::max(hi, hi_value) : hi_value;
  observed = true;
}

QuantParams QuantParams::of(const ActivationRange& range) {
  const double lo = std::min(range.lo, 0.0), hi = std::max(range.hi, 0.0);
  QuantParams p;
  p.scale = hi > lo ? (hi - lo) / 255.0 : 1.0;
  p.zero_point = std::clamp<int64_t>(std::llround(-lo / p.scale), 0, 255);
  return p;
}

Int8Calibration::Int8Calibration(Pass pass) : pass_(pass) { ++(pass == Pass::moments ? moments_passes : range_passes); }
Int8Calibration::~Int8Calibration() { --(pass_ == Pass::moments ? moments_passes : range_passes); }
bool Int8Calibration::active(Pass pass) { return (pass == Pass::moments ? moments_passes : range_passes) > 0; }

void ChannelMoments::observe(const at::Tensor& x) {
  const at::Tensor v = x.detach().to(torch::kFloat64);
  const at::Tensor s = v.sum({0, 2, 3}), q = (v * v).sum({0, 2, 3});
  sum = sum.defined() ? sum + s : s;
  sum_squares = sum_squares.defined() ? sum_squares + q : q;
  count += static_cast<double>(x.numel() / x.size(1));
}

at::Tensor ChannelMoments::mean() const { return (sum / count).to(torch::kFloat32); }

at::Tensor ChannelMoments::std() const {
  const at::Tensor m = sum / count;
  const at::Tensor sd = (sum_squares / count - m * m).clamp_min(0).sqrt();
  return sd.clamp_min(std::max(sd.max().item<double>() * 1e-6, 1e-12)).to(torch::kFloat32);
}

void Int8Point::observe(const at::Tensor& x) {
  if (x.is_quantized()) return;
  if (channel_normalised && Int8Calibration::active(Int8Calibration::Pass::moments)) moments.observe(x);
  if (Int8Calibration::active(Int8Calibration::Pass::ranges)) {
    const at::Tensor v = channel_normalised ? normalise(x) : x;
    range.observe(non_negative ? at::relu(v) : v);
  }
}

at::Tensor Int8Point::normalise(const at::Tensor& x) const {
  if (!channel_normalised) return x;
  if (!shift.defined()) throw Error("a channel-normalised int8 point has no shift and scale: run the moments pass first");
  return (x.to(torch::kFloat32) - shift.view({1, -1, 1, 1})) / scale.view({1, -1, 1, 1});
}

at::Tensor Int8Point::denormalise(const at::Tensor& x) const {
  if (!channel_normalised) return x;
  return x.to(torch::kFloat32) * scale.view({1, -1, 1, 1}) + shift.view({1, -1, 1, 1});
}

std::pair<at::Tensor, at::Tensor> Int8Point::normalised_parameters(const at::Tensor& weight, const at::Tensor& bias, int64_t axis) const {
  const at::Tensor w = weight.detach().to(torch::kFloat32);
  const at::Tensor b = bias.defined() ? bias.detach().to(torch::kFloat32) : at::Tensor();
  if (!channel_normalised) return {w, b};
  std::vector<int64_t> shape(4, 1);
  shape[static_cast<size_t>(axis)] = -1;
  return {w / scale.view(shape), ((b.defined() ? b : at::zeros({w.size(axis)})) - shift) / scale};
}

at::Tensor Int8ResidualSum::add(const at::Tensor& x, const at::Tensor& branch) {
  if (x.is_quantized()) return int8_add(x, branch, sum_.params);
  at::Tensor y = x + branch;
  sum_.observe(y);
  return y;
}

std::vector<std::pair<std::string, Int8Point*>> int8_points(torch::nn::Module& net) {
  std::vector<std::pair<std::string, Int8Point*>> points;
  auto add = [&](const std::string& path, torch::nn::Module& m) {
    if (auto* q = dynamic_cast<Int8Quantizable*>(&m))
      for (auto& [name, point] : q->int8_points()) points.emplace_back(path + ":" + name, point);
  };
  add("", net);
  for (const auto& item : net.named_modules("", /*include_self=*/false)) add(item.key(), *item.value());
  return points;
}

void reset_int8_ranges(torch::nn::Module& net) {
  for (auto& [key, point] : int8_points(net)) {
    point->range = ActivationRange{};
    point->moments = ChannelMoments{};
    point->shift = point->scale = at::Tensor();
  }
}

void fix_channel_normalisation(torch::nn::Module& net) {
  for (auto& [key, point] : int8_points(net)) {
    if (!point->channel_normalised) continue;
    if (point->moments.count == 0) throw Error("int8 point '" + key + "' saw nothing in the moments pass");
    point->shift = point->moments.mean();
    point->scale = point->moments.std();
  }
}

namespace {

std::vector<float> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace

std::map<std::string, Int8PointStatistics> int8_statistics(torch::nn::Module& net) {
  std::map<std::string, Int8PointStatistics> statistics;
  for (auto& [key, point] : int8_points(net)) {
    if (!point->range.observed) throw Error("int8 point '" + key + "' observed nothing: calibrate the network first");
    Int8PointStatistics& s = statistics[key];
    std::tie(s.lo, s.hi) = point->range.clipped();
    if (point->channel_normalised) {
      s.shift = to_vector(point->shift);
      s.scale = to_vector(point->scale);
    }
  }
  return statistics;
}

void set_int8_statistics(torch::nn::Module& net, const std::map<std::string, Int8PointStatistics>& statistics,
                         const std::string& source) {
  const auto points = int8_points(net);
  for (const auto& [key, point] : points) {
    const auto it = statistics.find(key);
    if (it == statistics.end()) throw FormatError(source, "missing the statistics of '" + key + "'");
    const Int8PointStatistics& s = it->second;
    if (!(std::isfinite(s.lo) && std::isfinite(s.hi) && s.lo <= s.hi))
      throw FormatError(source, "the range of '" + key + "' must be finite with lo <= hi");
    if (point->channel_normalised) {
      const size_t channels = s.shift.size();
      const bool valid = channels > 0 && s.scale.size() == channels &&
                         std::all_of(s.shift.begin(), s.shift.end(), [](float v) { return std::isfinite(v); }) &&
                         std::all_of(s.scale.begin(), s.scale.end(), [](float v) { return std::isfinite(v) && v > 0; });
      if (!valid) throw FormatError(source, "'" + key + "' needs a finite shift and a positive scale per channel");
    }
  }
  for (const auto& [key, s] : statistics) {
    const bool known = std::any_of(points.begin(), points.end(), [&](const auto& p) { return p.first == key; });
    if (!known) throw FormatError(source, "unknown point '" + key + "' (not in this network)");
  }
  for (const auto& [key, point] : points) {
    const Int8PointStatistics& s = statistics.at(key);
    point->range = ActivationRange{};
    point->range.merge(s.lo, s.hi);
    if (point->channel_normalised) {
      point->shift = torch::tensor(s.shift);
      point->scale = torch::tensor(s.scale);
    }
  }
}

bool has_int8_form(const torch::nn::Module& net) {
  const auto* q = dynamic_cast<const Int8Quantizable*>(&net);
  return q && q->has_int8_form();
}

void enable_int8(torch::nn::Module& net, bool enabled) {
  if (enabled) {
    if (!has_int8_form(net)) throw Error("this network has no int8 form");
    select_int8_engine();
    for (auto& [key, point] : int8_points(net)) {
      if (!point->range.observed) throw Error("int8 point '" + key + "' has no range: calibrate the network first");
      const auto [lo, hi] = point->range.clipped();
      ActivationRange chosen;
      chosen.merge(point->non_negative ? 0.0 : lo, hi);
      point->params = QuantParams::of(chosen);
    }
  }
  if (auto* q = dynamic_cast<Int8Quantizable*>(&net)) q->set_int8(enabled);
  for (const auto& item : net.named_modules("", /*include_self=*/false))
    if (auto* q = dynamic_cast<Int8Quantizable*>(item.value().get())) q->set_int8(enabled);
}

bool int8_enabled(const torch::nn::Module& net) {
  const auto* q = dynamic_cast<const Int8Quantizable*>(&net);
  return q && q->int8();
}

bool int8_stem_in_bf16(c10::Device device) { return device.is_cpu() && cpu_features().native_bf16(); }

void StemCopies::make(const at::Tensor& float_weight, const at::Tensor& float_bias) {
  weight = float_weight.detach().to(torch::kBFloat16).contiguous(at::MemoryFormat::ChannelsLast);
  bias = float_bias.defined() ? float_bias.detach().to(torch::kBFloat16) : at::Tensor();
}

bool StemCopies::wanted(const at::Tensor& x, const at::Tensor& float_weight) const {
  const bool want = x.scalar_type() == torch::kBFloat16 && float_weight.scalar_type() == torch::kFloat32;
  if (want && !weight.defined()) throw Error("a bf16 input to a float32 layer outside an int8 network's stem");
  return want;
}

void select_int8_engine() {
  static std::once_flag once;
  static std::string failure;
  std::call_once(once, [] {
    const auto& engines = at::globalContext().supportedQEngines();
    for (at::QEngine wanted : {at::QEngine::ONEDNN, at::QEngine::QNNPACK})
      if (std::find(engines.begin(), engines.end(), wanted) != engines.end()) {
        at::globalContext().setQEngine(wanted);
        return;
      }
    failure = "this LibTorch has no quantised engine for int8 (neither oneDNN nor QNNPACK)";
  });
  if (!failure.empty()) throw Error(failure);
}

std::string int8_engine() {
  switch (at::globalContext().qEngine()) {
    case at::QEngine::ONEDNN: return "onednn";
    case at::QEngine::QNNPACK: return "qnnpack";
    case at::QEngine::FBGEMM: return "fbgemm";
    default: return "none";
  }
}

at::Tensor quantize(const at::Tensor& x, const QuantParams& params) {
  // round(x / scale) + zero point, clamped to the bytes' range, written into a quint8 tensor's bytes:
  // the arithmetic runs in LibTorch's vectorised, threaded elementwise kernels (quantize_per_tensor
  // on channels-last float32 took 3x as long here: 7.5 ms for 128 x 128 x 128 values on 2 threads).
  // Rounding half to even, as quantize_per_tensor's nearbyint.
  if (x.dim() != 4) throw SourceError("input", "int8 quantisation expects [N,C,H,W], got shape " + c10::str(x.sizes()));
  const at::Tensor v = x.to(torch::kFloat32).contiguous(at::MemoryFormat::ChannelsLast);
  at::Tensor q = int8_empty(v.sizes(), params);
  const at::Tensor steps = at::round(v * (1.0 / params.scale)).add_(static_cast<double>(params.zero_point)).clamp_(0, 255);
  int8_bytes(q).copy_(steps);
  return q;
}

QuantParams quant_params(const at::Tensor& q) {
  QuantParams p;
  p.scale = q.q_scale();
  p.zero_point = q.q_zero_point();
  return p;
}

struct Int8Conv::Packed {
  c10::intrusive_ptr<ConvPackedParamsBase<2>> params;
};

Int8Conv::Int8Conv(const at::Tensor& weight, const at::Tensor& bias, int64_t stride, int64_t padding) : packed_(std::make_shared<Packed>()) {
  torch::NoGradGuard no_grad;
  select_int8_engine();
  const at::Tensor w = weight.detach().to(torch::kFloat32).contiguous();
  const int64_t c_out = w.size(0);
  // Symmetric per output channel: max |w| maps to 127 (an all-zero channel keeps a tiny scale).
  const at::Tensor scales = (std::get<0>(w.abs().reshape({c_out, -1}).max(1)).clamp_min(1e-12) / 127.0).to(torch::kDouble);
  const at::Tensor qw = at::quantize_per_channel(w, scales, at::zeros({c_out}, torch::kLong), 0, torch::kQInt8);
  static const auto prepack =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow("quantized::conv2d_prepack", "")
          .typed<c10::intrusive_ptr<ConvPackedParamsBase<2>>(at::Tensor, c10::optional<at::Tensor>, torch::List<int64_t>,
                                                             torch::List<int64_t>, torch::List<int64_t>, int64_t)>();
  const at::Tensor b = bias.defined() ? bias.detach().to(torch::kFloat32).contiguous() : at::Tensor();
  packed_->params = prepack.call(qw, optional(b), torch::List<int64_t>({stride, stride}), torch::List<int64_t>({padding, padding}),
                                 torch::List<int64_t>({1, 1}), 1);
}

at::Tensor Int8Conv::forward(const at::Tensor& x, const QuantParams& out) const {
  return packed_->params->apply(x.contiguous(at::MemoryFormat::ChannelsLast), out.scale, out.zero_point);
}

at::Tensor int8_bytes(const at::Tensor& q) {
  return at::from_blob(q.data_ptr(), q.sizes(), q.strides(), [keep = q](void*) {}, at::TensorOptions().dtype(torch::kByte).device(q.device()));
}

at::Tensor int8_empty(at::IntArrayRef sizes, const QuantParams& params) {
  return at::_empty_affine_quantized(sizes, at::TensorOptions().dtype(torch::kQUInt8), params.scale, params.zero_point,
                                     at::MemoryFormat::ChannelsLast);
}

namespace {

at::Tensor int8_pad(const at::Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom, bool reflect) {
  if (x.dim() != 4) throw SourceError("input", "padding expects [N,C,H,W], got shape " + c10::str(x.sizes()));
  if (left < 0 || right < 0 || top < 0 || bottom < 0) throw SourceError("input", "pads must not be negative");
  at::Tensor y = int8_empty({x.size(0), x.size(1), x.size(2) + top + bottom, x.size(3) + left + right}, quant_params(x));
  pad_by_copies_into(int8_bytes(x), int8_bytes(y), left, right, top, bottom, reflect);
  return y;
}

}  // namespace

at::Tensor int8_reflection_pad(const at::Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom) {
  return int8_pad(x, left, right, top, bottom, /*reflect=*/true);
}

at::Tensor int8_replication_pad(const at::Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom) {
  return int8_pad(x, left, right, top, bottom, /*reflect=*/false);
}

at::Tensor int8_instance_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps,
                              const at::Tensor& fixed_mean, const at::Tensor& fixed_var, const QuantParams& out) {
  const int64_t c = x.size(1);
  const at::Tensor gamma = weight.defined() ? weight.detach().to(torch::kFloat32) : at::ones({c});
  const at::Tensor beta = bias.defined() ? bias.detach().to(torch::kFloat32) : at::zeros({c});
  at::Tensor y;
  if (fixed_mean.defined()) {
    // Fixed statistics: batch norm's inference formula, as the float32 path (nn/instance_norm.cpp).
    static const auto batch_norm = c10::Dispatcher::singleton()
                                       .findSchemaOrThrow("quantized::batch_norm2d", "")
                                       .typed<at::Tensor(at::Tensor, c10::optional<at::Tensor>, c10::optional<at::Tensor>,
                                                         at::Tensor, at::Tensor, double, double, int64_t)>();
    y = batch_norm.call(x, gamma, beta, fixed_mean.to(torch::kFloat32), fixed_var.to(torch::kFloat32), eps, out.scale, out.zero_point);
  } else {
    static const auto instance_norm =
        c10::Dispatcher::singleton()
            .findSchemaOrThrow("quantized::instance_norm", "")
            .typed<at::Tensor(at::Tensor, c10::optional<at::Tensor>, c10::optional<at::Tensor>, double, double, int64_t)>();
    y = instance_norm.call(x, gamma, beta, eps, out.scale, out.zero_point);
  }
  return y.contiguous(at::MemoryFormat::ChannelsLast);
}

at::Tensor int8_add(const at::Tensor& a, const at::Tensor& b, const QuantParams& out) {
  static const auto add =
      c10::Dispatcher::singleton().findSchemaOrThrow("quantized::add", "").typed<at::Tensor(at::Tensor, at::Tensor, double, int64_t)>();
  return add.call(a.contiguous(at::MemoryFormat::ChannelsLast), b.contiguous(at::MemoryFormat::ChannelsLast), out.scale, out.zero_point);
}

}  // namespace impasto
