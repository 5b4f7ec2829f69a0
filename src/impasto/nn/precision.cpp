#include "impasto/nn/precision.h"

#include <torch/torch.h>

#include "impasto/core/error.h"
#include "impasto/core/text.h"

namespace impasto {

const char* to_string(Precision precision) { return precision == Precision::bf16 ? "bf16" : "fp32"; }

c10::ScalarType scalar_type(Precision precision) {
  return precision == Precision::bf16 ? torch::kBFloat16 : torch::kFloat32;
}

const std::vector<std::string>& precision_names() {
  static const std::vector<std::string> names = {"auto", "fp32", "bf16"};
  return names;
}

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::fp32;
  if (name == "bf16") return Precision::bf16;
  throw OptionError("precision", "unknown precision '" + excerpt(name) + "'; valid: " + join(precision_names()));
}

void set_precision(torch::nn::Module& net, Precision precision) {
  torch::NoGradGuard no_grad;
  net.to(scalar_type(precision));
  if (precision != Precision::bf16) return;
  for (auto& p : net.parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
}

Precision module_precision(const torch::nn::Module& net) {
  const auto params = net.parameters();
  return !params.empty() && params.front().scalar_type() == torch::kBFloat16 ? Precision::bf16 : Precision::fp32;
}

at::Tensor to_precision(const at::Tensor& x, Precision precision) {
  if (precision == Precision::fp32) return x.to(torch::kFloat32);
  return x.to(torch::kBFloat16).contiguous(at::MemoryFormat::ChannelsLast);
}

at::Tensor to_float32(const at::Tensor& x) { return x.to(torch::kFloat32).contiguous(); }

}  // namespace impasto
