#include "impasto/nn/backbone.h"

#include <torch/torch.h>

#include "impasto/nn/inception.h"
#include "impasto/nn/random_multiscale.h"
#include "impasto/nn/vgg.h"

namespace impasto {

void BackboneImpl::check_layer(const std::string& layer, const std::string& option) const {
  const auto& names = layers();
  if (std::find(names.begin(), names.end(), layer) != names.end()) return;
  std::string valid;
  for (const auto& n : names) valid += (valid.empty() ? "" : ", ") + n;
  throw OptionError(option, "unknown layer '" + layer + "' for backbone " + name() + "; valid: " + valid);
}

BackboneRegistry& backbone_registry() {
  static BackboneRegistry registry = [] {
    BackboneRegistry r("backbone", "backbone");
    register_builtin_vgg_backbones(r);
    register_builtin_random_backbones(r);
    register_builtin_inception_backbone(r);
    return r;
  }();
  return registry;
}

Backbone make_backbone(const BackboneOptions& options) {
  if (options.pooling != "max" && options.pooling != "avg")
    throw OptionError("pooling", "unknown pooling '" + options.pooling + "'; valid: avg, max");
  Backbone backbone = backbone_registry().create(options.name, options);
  backbone->eval();
  for (auto& p : backbone->parameters()) p.set_requires_grad(false);
  return backbone;
}

at::Tensor imagenet_normalise(const at::Tensor& image) {
  auto opts = image.options();
  auto mean = torch::tensor({0.485, 0.456, 0.406}, opts).view({1, 3, 1, 1});
  auto std = torch::tensor({0.229, 0.224, 0.225}, opts).view({1, 3, 1, 1});
  return (image - mean) / std;
}

static std::string shape_str(at::IntArrayRef sizes) {
  std::string s = "[";
  for (size_t i = 0; i < sizes.size(); ++i) s += (i ? ", " : "") + std::to_string(sizes[i]);
  return s + "]";
}

void load_state_dict(torch::nn::Module& module, const StateDict& dict, const std::string& source,
                     const std::function<std::string(const std::string&)>& rename,
                     const std::vector<std::string>& ignored_prefixes) {
  auto targets = module.named_parameters(/*recurse=*/true);
  auto buffers = module.named_buffers(/*recurse=*/true);
  std::map<std::string, at::Tensor> wanted;
  for (const auto& item : targets) wanted[item.key()] = item.value();
  for (const auto& item : buffers) wanted[item.key()] = item.value();

  std::set<std::string> seen;
  torch::NoGradGuard no_grad;
  for (const auto& [file_key, tensor] : dict) {
    bool ignored = false;
    for (const auto& prefix : ignored_prefixes) ignored |= file_key.rfind(prefix, 0) == 0;
    if (ignored) continue;
    std::string key = rename ? rename(file_key) : file_key;
    auto it = wanted.find(key);
    if (it == wanted.end())
      throw FormatError(source, "unexpected key '" + file_key + "' (not part of the architecture)");
    if (it->second.sizes() != tensor.sizes())
      throw FormatError(source, "shape mismatch for '" + file_key + "': file has " + shape_str(tensor.sizes()) +
                                    ", architecture expects " + shape_str(it->second.sizes()));
    it->second.copy_(tensor.to(it->second.dtype()));
    seen.insert(key);
  }
  for (const auto& item : targets)
    if (!seen.count(item.key())) throw FormatError(source, "missing key '" + item.key() + "'");
}

StateDict module_state_dict(const torch::nn::Module& module) {
  StateDict out;
  for (const auto& item : module.named_parameters(true)) out.emplace_back(item.key(), item.value().detach().cpu());
  for (const auto& item : module.named_buffers(true)) out.emplace_back(item.key(), item.value().detach().cpu());
  return out;
}

}  // namespace impasto
