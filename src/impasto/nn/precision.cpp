#include "impasto/nn/precision.h"

#include <torch/torch.h>

#include "impasto/core/error.h"
#include "impasto/core/text.h"
#include "impasto/nn/int8.h"

namespace impasto {

const char* to_string(Precision precision) {
  switch (precision) {
    case Precision::bf16: return "bf16";
    case Precision::int8: return "int8";
    default: return "fp32";
  }
}

c10::ScalarType scalar_type(Precision precision) {
  return precision == Precision::bf16 ? torch::kBFloat16 : torch::kFloat32;
}

const std::vector<std::string>& precision_names(bool with_int8) {
  static const std::vector<std::string> names = {"auto", "fp32", "bf16"}, with = {"auto", "fp32", "bf16", "int8"};
  return with_int8 ? with : names;
}

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::fp32;
  if (name == "bf16") return Precision::bf16;
  if (name == "int8") return Precision::int8;
  throw OptionError("precision", "unknown precision '" + excerpt(name) + "'; valid: " + join(precision_names(true)));
}

void set_precision(torch::nn::Module& net, Precision precision) {
  torch::NoGradGuard no_grad;
  if (precision != Precision::int8 && has_int8_form(net)) enable_int8(net, false);
  net.to(scalar_type(precision));
  if (precision == Precision::int8) enable_int8(net, true);
  if (precision != Precision::bf16) return;
  for (auto& p : net.parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
}

Precision module_precision(const torch::nn::Module& net) {
  if (int8_enabled(net)) return Precision::int8;
  const auto params = net.parameters();
  return !params.empty() && params.front().scalar_type() == torch::kBFloat16 ? Precision::bf16 : Precision::fp32;
}

at::Tensor to_precision(const at::Tensor& x, Precision precision) {
  if (precision == Precision::int8) throw Error("an int8 network quantises its own input (nn/int8.h)");
  if (precision == Precision::fp32) return x.to(torch::kFloat32);
  return x.to(torch::kBFloat16).contiguous(at::MemoryFormat::ChannelsLast);
}

at::Tensor to_float32(const at::Tensor& x) {
  if (x.is_quantized()) return x.dequantize().contiguous();
  return x.to(torch::kFloat32).contiguous();
}

}  // namespace impasto
