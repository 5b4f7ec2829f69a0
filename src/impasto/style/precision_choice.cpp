#include "impasto/style/precision_choice.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdio>

#include "impasto/core/cpu_features.h"
#include "impasto/core/error.h"
#include "impasto/data/synthetic.h"
#include "impasto/metrics/ssim.h"
#include "impasto/nn/int8.h"
#include "impasto/style/int8_calibration.h"

#include <filesystem>

namespace impasto {
namespace {

std::string decibels(double db) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f dB", db);
  return text;
}

}  // namespace

void check_precision_option(const std::string& requested, c10::Device device) {
  if (requested == "auto") return;
  const Precision precision = parse_precision(requested);
  if (precision == Precision::int8 && !device.is_cpu())
    throw OptionError("precision", "int8 runs on the CPU only (the quantised engines are CPU kernels); use auto, fp32 or bf16 on " + device.str());
  if (precision == Precision::bf16 && device.is_cpu() && !cpu_features().native_bf16())
    throw OptionError("precision", "bf16 needs a CPU with native bf16 (AVX512-BF16 or AMX); this one has: " + cpu_features().flags() +
                                       ". Use auto or fp32");
}

PrecisionChoice choose_precision(const std::string& requested, c10::Device device, const std::vector<torch::nn::Module*>& modules,
                                 const std::function<at::Tensor(const at::Tensor&)>& run, const std::string& int8_statistics) {
  torch::NoGradGuard no_grad;
  check_precision_option(requested, device);
  PrecisionChoice choice;
  choice.report = Json{{"requested", requested}, {"cpu_flags", cpu_features().flags()}};
  auto use = [&](Precision p, const std::string& reason) {
    if (p != choice.precision)
      for (torch::nn::Module* m : modules) set_precision(*m, p);
    choice.precision = p;
    choice.report["used"] = to_string(p);
    choice.report["reason"] = reason;
    return choice;
  };
  const at::Tensor picture = (synthetic_landscape(kBf16GateSize, kBf16GateSize * 5 / 4, /*seed=*/7) * 255).round() / 255;
  const bool int8_possible = modules.size() == 1 && has_int8_form(*modules.front());
  const bool have_statistics = !int8_statistics.empty() && std::filesystem::exists(int8_statistics);
  // int8: calibrate (the file beside the model, else the built-in pictures), then the gate's PSNR.
  auto try_int8 = [&](const at::Tensor& exact) {
    torch::nn::Module& net = *modules.front();
    if (have_statistics) {
      const Json file = read_int8_statistics(int8_statistics, net);
      choice.report["calibration"] = Json{{"source", int8_statistics}, {"images", file.value("images", Json::array())}};
    } else {
      const std::vector<at::Tensor> pictures = builtin_calibration_pictures();
      calibrate_int8(net, run, pictures);
      choice.report["calibration"] = Json{{"source", "built-in pictures (impasto calibrate --model MODEL PHOTOS... measures yours)"},
                                          {"images", pictures.size()}};
    }
    use(Precision::int8, "");
    choice.report["engine"] = int8_engine();
    const double db = psnr(run(picture).clamp(0, 1), exact);
    choice.report["int8_gate_psnr_db"] = std::isfinite(db) ? Json(db) : Json("inf");
    return db;
  };
  if (requested == "int8") {
    if (!int8_possible)
      throw OptionError("precision", "int8 is available for TransformerNet models and ResNet generators with instance norm; this network runs in auto, fp32 or bf16");
    const at::Tensor exact = run(picture).clamp(0, 1);
    try_int8(exact);
    return use(Precision::int8, "requested");
  }
  if (requested != "auto") return use(parse_precision(requested), "requested");
  if (!device.is_cpu()) return use(Precision::fp32, "auto keeps fp32 off the CPU");
  const at::Tensor exact = run(picture).clamp(0, 1);
  if (int8_possible && have_statistics && cpu_features().native_int8()) {
    const double db = try_int8(exact);
    if (db >= kInt8GateDb) return use(Precision::int8, "calibrated, native int8, output within " + decibels(kInt8GateDb) + " of fp32");
    use(Precision::fp32, "");
  }
  if (!cpu_features().native_bf16()) return use(Precision::fp32, "this CPU has no native bf16");
  // The gate: one picture through the model in fp32 and in bf16.
  std::vector<std::vector<at::Tensor>> fp32_parameters;
  for (torch::nn::Module* m : modules) {
    fp32_parameters.emplace_back();
    for (const auto& p : m->parameters()) fp32_parameters.back().push_back(p.detach().clone());
  }
  use(Precision::bf16, "");
  const double db = psnr(run(picture).clamp(0, 1), exact);
  choice.report["gate_psnr_db"] = std::isfinite(db) ? Json(db) : Json("inf");
  if (db >= kBf16GateDb) return use(Precision::bf16, "native bf16, output within " + decibels(kBf16GateDb) + " of fp32");
  // Failed: back to the exact weights (converting bf16 back would keep its rounding).
  for (size_t k = 0; k < modules.size(); ++k) {
    modules[k]->to(torch::kFloat32);
    size_t i = 0;
    for (auto& p : modules[k]->parameters()) p.set_data(fp32_parameters[k][i++]);
  }
  choice.precision = Precision::fp32;
  return use(Precision::fp32, "bf16 output " + decibels(db) + " from fp32, under the " + decibels(kBf16GateDb) + " gate");
}

}  // namespace impasto
