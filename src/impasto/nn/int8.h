#pragma once
// Post-training int8 quantisation of the one-pass networks (nn/precision.h's Precision::int8), on
// the quantised engine this LibTorch ships (oneDNN on x86; QNNPACK elsewhere): after a float stem
// (the network's first layers, see int8_stem_in_bf16), activations are quint8 tensors kept
// channels-last to the network's output, convolution weights qint8 with one scale per output
// channel, and every layer in between (padding, instance norm, ReLU, residual sums, upsampling)
// works on the quantised values directly, so nothing is converted back to float between layers.
//
// Each quantised value is q = round(x / scale) + zero_point in 0..255, with the scale and zero point
// of the range [lo, hi] that value took on a few calibration images (Jacob et al. 2018, "Quantization
// and Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference": asymmetric
// uint8 activations over the observed min/max, widened to include 0 so that zero padding and ReLU
// are exact). Weights are symmetric per output channel (scale max|w| / 127).
//
// Calibration: the modules that have an int8 form (Int8Quantizable) observe the ranges of the
// values they output while an Int8Calibration is alive, during ordinary float32 forward passes.
// The ranges are the "statistics" saved beside a model (style/int8_calibration.h) and read back
// with set_int8_ranges; enable_int8 then builds each module's int8 form from its float32
// parameters (which stay, so the network can go back to fp32 or bf16 exactly).
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace impasto {

// The values one tensor took: the running min and max over everything observed, and a sample of
// the values (up to 2^16 per observation) from which `clipped` chooses the range to quantise.
struct ActivationRange {
  double lo = 0, hi = 0;
  bool observed = false;
  std::vector<at::Tensor> samples;
  void observe(const at::Tensor& x);
  void merge(double lo_value, double hi_value);
  // The range whose 8-bit quantisation of the sampled values has the least squared error: [lo, hi]
  // itself or a quantile range that clips rare outliers (1e-5 .. 3e-3 in each tail) for finer steps
  // (the idea of PyTorch's HistogramObserver, after Migacz 2017, "8-bit Inference with TensorRT").
  // [lo, hi] when nothing was sampled (ranges read from a file).
  std::pair<double, double> clipped() const;
};

// scale and zero point of a quint8 tensor.
struct QuantParams {
  double scale = 1;
  int64_t zero_point = 0;
  // The parameters that cover [min(lo, 0), max(hi, 0)] with 256 steps (0 exactly representable).
  static QuantParams of(const ActivationRange& range);
};

// While one is alive on this thread, Int8Quantizable modules observe their outputs in float32
// forward passes (not nested across threads: the ranges live in the modules). Calibration takes two
// passes over the images: first the per-channel moments of the channel-normalised points, then the
// ranges (of those points normalised with them).
class Int8Calibration {
 public:
  enum class Pass { moments, ranges };
  explicit Int8Calibration(Pass pass);
  ~Int8Calibration();
  Int8Calibration(const Int8Calibration&) = delete;
  Int8Calibration& operator=(const Int8Calibration&) = delete;
  static bool active(Pass pass);

 private:
  Pass pass_;
};

// Per-channel mean and standard deviation of a value [N,C,H,W] over everything observed.
struct ChannelMoments {
  at::Tensor sum, sum_squares;  // [C] float64
  double count = 0;
  void observe(const at::Tensor& x);
  at::Tensor mean() const;
  at::Tensor std() const;  // at least 1e-6 of the largest, so that no channel divides by zero
};

// One calibrated point of a network: the range observed there and, once enabled, its parameters.
// A non-negative point is only read through a ReLU: its range starts at 0, so that quantising is
// the ReLU (negative values saturate to the zero point 0) and all 256 steps cover what is read.
//
// A channel-normalised point is a convolution's output read only by an instance norm. Instance norm
// gives the same output for (x - shift_c) / scale_c as for x (it removes each channel's mean and
// divides by its spread; exactly, but for eps), so the convolution computes that instead, with its
// weights and bias transformed (shift and scale: the channel's mean and standard deviation over the
// calibration images). One scale per tensor then fits every channel alike: otherwise channels with
// a large mean widen the range and the norm amplifies the steps of channels with a small spread by
// 1 / their spread. (A use of the norm's invariance in the spirit of cross-layer equalisation:
// Nagel et al. 2019, "Data-Free Quantization Through Weight Equalization and Bias Correction".)
struct Int8Point {
  ActivationRange range;
  QuantParams params;
  bool non_negative = false;
  bool channel_normalised = false;
  ChannelMoments moments;
  at::Tensor shift, scale;  // [C] float32, set by the moments pass (or a statistics file)
  // Observes x in the calibration pass that wants it (float32 x; a no-op otherwise).
  void observe(const at::Tensor& x);
  // x in this point's normalised domain, and back.
  at::Tensor normalise(const at::Tensor& x) const;
  at::Tensor denormalise(const at::Tensor& x) const;
  // The float32 weight and bias of the convolution whose output this is, so that it computes the
  // normalised output (conv(x) - shift) / scale when the point is channel-normalised (as they are
  // otherwise). Output channels lie along `axis` of the weight: 0 for a convolution, 1 for a
  // transposed one. An undefined bias stays undefined unless the shift needs one.
  std::pair<at::Tensor, at::Tensor> normalised_parameters(const at::Tensor& weight, const at::Tensor& bias, int64_t axis) const;
};

// A module with an int8 form.
class Int8Quantizable {
 public:
  virtual ~Int8Quantizable() = default;
  // Its calibrated points, named within the module ("output", "sum"; none for a network's root).
  virtual std::vector<std::pair<std::string, Int8Point*>> int8_points() = 0;
  // Builds the int8 form from the float32 parameters and the points' ranges (true), or drops it.
  virtual void set_int8(bool enabled) = 0;
  virtual bool int8() const = 0;
  // False for a network whose configuration has none (a ResNet generator with batch norm).
  virtual bool has_int8_form() const { return true; }
};

// The sum x + branch of a residual block, with its calibrated point "sum" (quantized::add in int8).
class Int8ResidualSum : public Int8Quantizable {
 public:
  at::Tensor add(const at::Tensor& x, const at::Tensor& branch);
  std::vector<std::pair<std::string, Int8Point*>> int8_points() override { return {{"sum", &sum_}}; }
  void set_int8(bool enabled) override { int8_ = enabled; }
  bool int8() const override { return int8_; }

 private:
  Int8Point sum_;
  bool int8_ = false;
};

// Every point of every Int8Quantizable inside `net` (the root included), keyed "<module path>:<point>"
// (the path "" for the root), in registration order.
std::vector<std::pair<std::string, Int8Point*>> int8_points(torch::nn::Module& net);
// Forgets every observed range and moment (before a new calibration).
void reset_int8_ranges(torch::nn::Module& net);
// After the moments pass: each channel-normalised point's shift and scale from its moments.
void fix_channel_normalisation(torch::nn::Module& net);

// What a statistics file keeps of a point: its (clipped) range and, when channel-normalised, its
// shift and scale.
struct Int8PointStatistics {
  double lo = 0, hi = 0;
  std::vector<float> shift, scale;
};
// The calibrated statistics {key: ...}; Error naming a point that observed nothing.
std::map<std::string, Int8PointStatistics> int8_statistics(torch::nn::Module& net);
// Sets every point's statistics; FormatError(source) naming a key that is missing or unknown, a
// range that is not finite with lo <= hi, or a shift/scale of the wrong length or not positive.
void set_int8_statistics(torch::nn::Module& net, const std::map<std::string, Int8PointStatistics>& statistics,
                         const std::string& source);
// True when `net` (its root) is an Int8Quantizable network that has an int8 form.
bool has_int8_form(const torch::nn::Module& net);
// Switches every Int8Quantizable inside `net` to its int8 form (Error when a point has no range) or
// back to float.
void enable_int8(torch::nn::Module& net, bool enabled);
// True when `net`'s root is in its int8 form.
bool int8_enabled(const torch::nn::Module& net);

// The float stem of an int8 network (its first layers, whose 8-bit errors would run through
// everything after them; see nn/transformer_net.cpp): in bf16 on a CPU with native bf16, else float32.
bool int8_stem_in_bf16(c10::Device device);

// bf16 channels-last copies of a float32 layer's weight and bias, for a stem run in bf16 (the
// float32 parameters stay, so the network can go back to fp32 exactly).
struct StemCopies {
  at::Tensor weight, bias;
  void make(const at::Tensor& float_weight, const at::Tensor& float_bias);
  void clear() { weight = bias = at::Tensor(); }
  // True when x is bf16 while the layer's parameters are float32 (the copies are wanted); Error when
  // they were not made.
  bool wanted(const at::Tensor& x, const at::Tensor& float_weight) const;
};

// ---- Quantised operations (quint8 activations, channels-last) ----

// Selects the quantised engine (oneDNN where this LibTorch has it, else QNNPACK); once per process.
// Error when this LibTorch has none.
void select_int8_engine();
// The name of the engine in use ("onednn", "qnnpack").
std::string int8_engine();

// float32 [N,C,H,W] -> quint8 channels-last with `params`.
at::Tensor quantize(const at::Tensor& x, const QuantParams& params);
QuantParams quant_params(const at::Tensor& q);

// A convolution (groups 1, dilation 1, zero padding `padding`) with packed qint8 weights: quint8 in,
// quint8 out with the given output parameters. The weight and bias are float32.
class Int8Conv {
 public:
  Int8Conv(const at::Tensor& weight, const at::Tensor& bias, int64_t stride, int64_t padding);
  at::Tensor forward(const at::Tensor& x, const QuantParams& out) const;

 private:
  struct Packed;
  std::shared_ptr<Packed> packed_;
};

// Reflection / replication padding of a quint8 tensor (the same scale and zero point), copying the
// stored bytes as conv_ops' pads copy values; SourceError as theirs for pads too large.
at::Tensor int8_reflection_pad(const at::Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom);
at::Tensor int8_replication_pad(const at::Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom);
// Instance norm (optionally with fixed per-channel statistics, nn/instance_norm.h) of a quint8 tensor.
at::Tensor int8_instance_norm(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps,
                              const at::Tensor& fixed_mean, const at::Tensor& fixed_var, const QuantParams& out);
// a + b of two quint8 tensors into `out`'s parameters.
at::Tensor int8_add(const at::Tensor& a, const at::Tensor& b, const QuantParams& out);
// The bytes of a quint8 tensor as a uint8 tensor of the same sizes and strides (shares its storage).
at::Tensor int8_bytes(const at::Tensor& q);
// An uninitialised quint8 channels-last tensor.
at::Tensor int8_empty(at::IntArrayRef sizes, const QuantParams& params);

}  // namespace impasto
