#pragma once
// Instance normalisation (Ulyanov, Vedaldi, Lempitsky 2016, "Instance Normalization: The Missing
// Ingredient for Fast Stylization"): y = (x - mu) / sqrt(var + eps) * gamma + beta, with mu and var
// the mean and biased variance of each channel of each image over its pixels. The module computes
// exactly what torch::nn::InstanceNorm2d computes (the same kernel, the keys `weight` and `bias`
// when affine, no running statistics), so the networks that use it load PyTorch's files and match
// PyTorch bit for bit. It adds two things for applying a network to a large image tile by tile
// (style/tiling.h), where each tile's own statistics would differ from the whole image's:
//
//   fixed statistics  per-channel mean and variance given from outside (the whole image's) replace
//                     each input's own, so every tile is normalised as the whole image would be;
//   measuring         while on, each forward merges the per-channel count, mean and sum of squared
//                     deviations of its input over a region into running totals (the pairwise
//                     update of Chan, Golub, LeVeque 1979, in float64), so the statistics of the
//                     whole image are computed one tile at a time. The region is given in fractions
//                     of the network input's height and width and mapped to this layer's resolution,
//                     so one region serves every layer of a strided network. A norm can also end
//                     the forward pass right after measuring (it throws ForwardStopped), so that
//                     measuring a norm costs only the layers before it.
//
// A norm's input depends on the statistics of every norm before it, so the whole image's
// statistics are exact only when measured norm by norm, each with all earlier ones fixed at theirs
// (WholeImageNorms::measure_one). Measuring all norms in one pass with other statistics fixed
// upstream gives each norm the statistics of inputs it will not see once the upstream ones change.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "impasto/nn/int8.h"

namespace impasto {

// A rectangle of the network's input in fractions of its height and width, [top, bottom) x [left, right).
struct NormRegion {
  double top = 0, bottom = 1, left = 0, right = 1;
};

// Thrown by a norm that ends the forward pass after measuring (see above); callers catch it.
struct ForwardStopped {};

class InstanceNormImpl : public torch::nn::Module, public Int8Quantizable {
 public:
  explicit InstanceNormImpl(int64_t channels, bool affine = false, double eps = 1e-5);

  // [N,C,H,W] -> the same shape, dtype and memory format (float32 or bf16; bf16 computes the
  // statistics in float32; quint8 in the int8 form, nn/int8.h). SourceError for another shape or
  // channel count.
  at::Tensor forward(const at::Tensor& x);

  std::vector<std::pair<std::string, Int8Point*>> int8_points() override {
    if (keep_float_) return {};
    return {{"output", &output_}};
  }
  void set_int8(bool enabled) override { int8_ = enabled && !keep_float_; }
  // Part of a network's float stem: no int8 form.
  void keep_float() { keep_float_ = true; }
  bool int8() const override { return int8_; }
  // The output is only read through a ReLU (nn/int8.h's non-negative point): in int8 the output's
  // quantisation is that ReLU.
  void set_relu_after(bool relu_after) { output_.non_negative = relu_after; }
  // The point of the convolution whose output only this norm reads, which becomes channel-normalised
  // (nn/int8.h): in int8 the input arrives normalised with its shift and scale, which fixed
  // statistics and measuring take into account. Must outlive the norm (both belong to one network).
  void set_int8_input(Int8Point* input) {
    input->channel_normalised = true;
    int8_input_ = input;
  }

  int64_t channels() const { return channels_; }
  double eps() const { return eps_; }
  bool affine() const { return weight.defined(); }

  // Fixed statistics, [C] each (moved to the input's device and dtype when used); undefined = each
  // input's own (the default).
  void set_statistics(const at::Tensor& mean, const at::Tensor& var);
  void clear_statistics();
  bool has_statistics() const { return fixed_mean_.defined(); }
  const at::Tensor& fixed_mean() const { return fixed_mean_; }
  const at::Tensor& fixed_var() const { return fixed_var_; }

  // Measuring over `region` (on until stop_measuring; the totals persist until reset_totals); with
  // `stop_forward`, forward throws ForwardStopped right after measuring.
  void start_measuring(const NormRegion& region, bool stop_forward = false);
  void stop_measuring() { measuring_ = stop_forward_ = false; }
  void reset_totals();
  // The totals as mean and biased variance, [C] float32 on the CPU; Error when nothing was measured.
  std::pair<at::Tensor, at::Tensor> measured_statistics() const;
  double measured_count() const { return count_; }

  at::Tensor weight, bias;  // [C] when affine, else undefined

 private:
  void accumulate(const at::Tensor& x);
  at::Tensor float_forward(const at::Tensor& x) const;              // float32 or bf16
  at::Tensor reduced_precision_forward(const at::Tensor& x) const;  // bf16 input (nn/precision.h)

  int64_t channels_;
  double eps_;
  at::Tensor fixed_mean_, fixed_var_;
  bool measuring_ = false;
  bool stop_forward_ = false;
  NormRegion region_;
  Int8Point output_;
  const Int8Point* int8_input_ = nullptr;
  bool int8_ = false;
  bool keep_float_ = false;
  double count_ = 0;               // values per channel merged so far
  at::Tensor total_mean_, total_m2_;  // [C] float64
};
TORCH_MODULE(InstanceNorm);

// Every InstanceNorm inside `net`, with its name, in registration order.
std::vector<std::pair<std::string, InstanceNormImpl*>> instance_norms(torch::nn::Module& net);

// The whole-image statistics of all the instance norms of one network, for tiling. Either
//   measure(whole); net(shrunk copy); fix_measured();      statistics of a copy of the image shrunk
//                                                          to one tile (approximate), or, exactly,
//   for k in 0..size()-1:                                  norm by norm, each pass ending at norm k:
//     for each tile: measure_one(k, core of the tile); try { net(tile); } catch (ForwardStopped&) {}
//     fix_measured();
// then for each tile: out = net(tile) (all tiles normalised alike); release().
// Norms are numbered in registration order, which is their order in the forward pass for the style
// networks. (The network must not be used by another thread meanwhile: the statistics live in its
// modules.)
class WholeImageNorms {
 public:
  explicit WholeImageNorms(torch::nn::Module& net);
  ~WholeImageNorms();  // release()
  WholeImageNorms(const WholeImageNorms&) = delete;
  WholeImageNorms& operator=(const WholeImageNorms&) = delete;

  bool empty() const { return norms_.empty(); }
  size_t size() const { return norms_.size(); }
  // Every norm measures `region` in the following forward calls (keeping its fixed statistics, if any).
  void measure(const NormRegion& region);
  // Norm k alone measures `region` and then ends the forward pass (ForwardStopped).
  void measure_one(size_t k, const NormRegion& region);
  // The measured totals become the fixed statistics of every norm that measured something (the
  // others keep theirs); totals cleared, measuring off.
  void fix_measured();
  // Back to each input's own statistics; totals cleared, measuring off.
  void release();
  // name -> (mean, var) currently fixed, for inspection and tests.
  std::vector<std::pair<std::string, std::pair<at::Tensor, at::Tensor>>> fixed() const;

 private:
  std::vector<std::pair<std::string, InstanceNormImpl*>> norms_;
};

}  // namespace impasto
