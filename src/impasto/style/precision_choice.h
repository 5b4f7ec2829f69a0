#pragma once
// The `precision` option of the one-pass methods (network, adain): which of fp32, bf16
// (nn/precision.h) and int8 (nn/int8.h) a loaded model runs in.
//   fp32   always; the model's own numbers.
//   bf16   requested: on a CPU only with native bf16 (AVX512-BF16 or AMX; oneDNN would emulate it,
//          slower than fp32), OptionError("precision") otherwise.
//   auto   bf16 when the device is a CPU with native bf16 and the model passes a quality gate once,
//          when it is loaded: its bf16 output on a photo-like picture (data/synthetic.h's landscape,
//          in 8-bit steps as a decoded photo is) is within kBf16GateDb of its fp32 output (PSNR);
//          otherwise fp32 (off the CPU too). Before that, int8 when the network has an int8 form,
//          the CPU has native int8 dot products (VNNI), a statistics file lies beside the model (the
//          user calibrated it: style/int8_calibration.h) and its output is within kInt8GateDb of fp32.
//   int8   requested: networks with an int8 form (TransformerNet, ResNet generators with instance
//          norm), on the CPU; calibrated by the
//          statistics file beside the model, else on the built-in pictures. Its PSNR against fp32
//          on the gate's picture is reported, not enforced.
// The decision is reported as JSON for the result's summary: requested, used, reason, gate_psnr_db
// (auto on a bf16 CPU), cpu_flags.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/nn/module.h>

#include <functional>
#include <string>
#include <vector>

#include "impasto/core/json_options.h"
#include "impasto/nn/precision.h"

namespace impasto {

constexpr double kBf16GateDb = 40.0;
constexpr double kInt8GateDb = 30.0;
// The gate's picture is this high (and 5/4 as wide: both multiples of 8).
constexpr int64_t kBf16GateSize = 128;

// OptionError("precision") for a name other than auto, fp32, bf16, or for bf16 on `device` when it is
// a CPU without native bf16 (checks that need no model: the methods' check()).
void check_precision_option(const std::string& requested, c10::Device device);

struct PrecisionChoice {
  Precision precision = Precision::fp32;
  Json report = Json::object();
};

// Puts `modules` (loaded in fp32) into the precision `requested` names, as described above. `run`
// maps a canonical image [1,3,H,W] to the model's output image in [0,1]-ish float32 (clamped here),
// in whatever precision the modules are in; it is called twice for the auto gate.
// `int8_statistics`: the statistics file beside the model (style/int8_calibration.h), used when it
// exists. The report then also has `calibration` {source, images} and `engine` for int8.
PrecisionChoice choose_precision(const std::string& requested, c10::Device device, const std::vector<torch::nn::Module*>& modules,
                                 const std::function<at::Tensor(const at::Tensor&)>& run, const std::string& int8_statistics = "");

}  // namespace impasto
