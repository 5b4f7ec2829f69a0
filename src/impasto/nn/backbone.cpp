#include "impasto/nn/backbone.h"

#include <torch/torch.h>

#include <mutex>

#include "impasto/core/error.h"
#include "impasto/core/text.h"
#include "impasto/nn/inception.h"
#include "impasto/nn/random_multiscale.h"
#include "impasto/nn/vgg.h"

namespace impasto {

namespace {

void check_layer_in(const std::vector<std::string>& names, const std::string& backbone, const std::string& layer,
                    const std::string& option) {
  if (std::find(names.begin(), names.end(), layer) != names.end()) return;
  throw OptionError(option, "unknown layer '" + excerpt(layer) + "' for backbone " + backbone + "; valid: " + join(names));
}

// Both registries are filled together, so every backbone has its info.
struct BuiltinBackbones {
  BackboneRegistry networks{"backbone", "backbone"};
  BackboneInfoRegistry infos{"backbone", "backbone"};
  BuiltinBackbones() {
    register_builtin_vgg_backbones(networks, infos);
    register_builtin_random_backbones(networks, infos);
    register_builtin_inception_backbone(networks, infos);
  }
};

BuiltinBackbones& builtin_backbones() {
  static BuiltinBackbones backbones;
  return backbones;
}

}  // namespace

void BackboneImpl::check_layer(const std::string& layer, const std::string& option) const {
  check_layer_in(layers(), name(), layer, option);
}

BackboneRegistry& backbone_registry() { return builtin_backbones().networks; }

BackboneInfoRegistry& backbone_info_registry() { return builtin_backbones().infos; }

const BackboneInfo& backbone_info(const std::string& name) {
  static std::mutex mutex;
  static std::map<std::string, BackboneInfo> known;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = known.find(name);
  if (it == known.end()) it = known.emplace(name, backbone_info_registry().create(name)).first;
  return it->second;
}

void check_backbone_layer(const std::string& backbone, const std::string& layer, const std::string& option) {
  const BackboneInfo& info = backbone_info(backbone);
  if (!info.layers.empty()) check_layer_in(info.layers, backbone, layer, option);
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
      throw FormatError(source, "shape mismatch for '" + file_key + "': file has " + c10::str(tensor.sizes()) +
                                    ", architecture expects " + c10::str(it->second.sizes()));
    it->second.copy_(tensor.to(it->second.dtype()));
    seen.insert(key);
  }
  for (const auto& item : targets)
    if (!seen.count(item.key()))
      throw FormatError(source, "missing key '" + item.key() + "' (architecture expects " + c10::str(item.value().sizes()) + ")");
}

StateDict module_state_dict(const torch::nn::Module& module) {
  StateDict out;
  for (const auto& item : module.named_parameters(true)) out.emplace_back(item.key(), item.value().detach().cpu());
  for (const auto& item : module.named_buffers(true)) out.emplace_back(item.key(), item.value().detach().cpu());
  return out;
}

Json layer_weights_to_json(const LayerWeights& layers) {
  Json j = Json::object();
  for (const auto& [name, w] : layers) j[name] = w;
  return j;
}

LayerWeights layer_weights_from_json(const Json& j, const std::string& option) {
  LayerWeights out;
  auto add = [&](const std::string& name, double w) {
    if (name.empty()) throw OptionError(option, "empty layer name");
    // Each layer once: a list repeating one would multiply the objective's cost.
    for (const auto& [given, weight] : out)
      if (given == name) throw OptionError(option, "layer '" + excerpt(name) + "' is given twice");
    out.emplace_back(name, w);
  };
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!it->is_number()) throw OptionError(option, "weight of layer '" + excerpt(it.key()) + "' must be a number");
      add(it.key(), it->get<double>());
    }
  } else if (j.is_array()) {
    for (const auto& item : j) {
      if (item.is_string()) {
        const std::string s = item.get<std::string>();
        const auto colon = s.find(':');
        if (colon == std::string::npos) {
          add(s, 1.0);
        } else {
          try {
            size_t used = 0;
            const std::string num = s.substr(colon + 1);
            const double w = std::stod(num, &used);
            if (used != num.size()) throw std::invalid_argument(num);
            add(s.substr(0, colon), w);
          } catch (const std::exception&) {
            throw OptionError(option, "bad layer weight in '" + excerpt(s) + "'; expected name or name:weight");
          }
        }
      } else if (item.is_array() && item.size() == 2 && item[0].is_string() && item[1].is_number()) {
        add(item[0].get<std::string>(), item[1].get<double>());
      } else {
        throw OptionError(option, "expected layer names, name:weight strings or [name, weight] pairs");
      }
    }
  } else if (!j.is_null()) {
    throw OptionError(option, "expected an object or a list of layers");
  }
  return out;
}

}  // namespace impasto
