#include "impasto/nn/random_multiscale.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "impasto/nn/conv_ops.h"
#include "impasto/nn/precision.h"

namespace impasto {

namespace {

// fp32 through LibTorch's pads (whose errors callers such as metrics/evaluate name per file), other
// dtypes through conv_ops' (LibTorch 1.13 has no bf16 kernel).
at::Tensor pad_any(const at::Tensor& x, int64_t p, bool reflect) {
  if (x.scalar_type() == torch::kFloat32) {
    namespace F = torch::nn::functional;
    auto options = F::PadFuncOptions({p, p, p, p});
    if (reflect) options.mode(torch::kReflect); else options.mode(torch::kReplicate);
    return F::pad(x, options);
  }
  return reflect ? reflection_pad(x, p, p, p, p) : replication_pad(x, p, p, p, p);
}

}  // namespace

at::Tensor pyramid_down(const at::Tensor& image) {
  const int64_t c = image.size(1);
  auto k1 = torch::tensor({1.0, 4.0, 6.0, 4.0, 1.0}, image.options()) / 16.0;
  auto k2 = torch::outer(k1, k1).expand({c, 1, 5, 5}).contiguous();
  namespace F = torch::nn::functional;
  // Reflection needs at least 3 pixels per side; tiny inputs fall back to replication.
  const bool reflect = image.size(2) > 2 && image.size(3) > 2;
  const at::Tensor padded = pad_any(image, 2, reflect);
  return F::conv2d(padded, k2.contiguous(image.suggest_memory_format()), F::Conv2dFuncOptions().stride(2).groups(c));
}

namespace {

struct ScaleNetImpl : torch::nn::Module {
  ScaleNetImpl(int64_t width1, int64_t width2, int64_t kernel, at::Generator& gen) {
    conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, width1, kernel)));
    conv2 = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(width1, width2, kernel)));
    torch::NoGradGuard no_grad;
    for (auto* conv : {&conv1, &conv2}) {
      auto& w = (*conv)->weight;
      const double fan_in = static_cast<double>(w.size(1) * w.size(2) * w.size(3));
      w.copy_(at::randn(w.sizes(), gen, w.options()) * std::sqrt(2.0 / fan_in));  // Kaiming-normal
      (*conv)->bias.zero_();
    }
    pad = static_cast<int>(kernel / 2);
  }
  at::Tensor padded(const at::Tensor& x) const { return pad_any(x, pad, /*reflect=*/true); }
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  int pad = 1;
};
TORCH_MODULE(ScaleNet);

class RandomMultiscaleImpl : public BackboneImpl {
 public:
  explicit RandomMultiscaleImpl(uint64_t seed) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    for (int s = 0; s < kScales; ++s) {
      const std::string id = "s" + std::to_string(1 << s);
      nets_.push_back(register_module(id, ScaleNet(64, 128, 3, gen)));
      names_.push_back(id + "_relu1");
      names_.push_back(id + "_relu2");
    }
  }

  const std::vector<std::string>& layers() const override { return names_; }

  FeatureMaps extract(const at::Tensor& image, const std::set<std::string>& taps) override {
    int deepest = -1;
    for (const auto& t : taps) {
      check_layer(t, "layers");
      deepest = std::max(deepest, static_cast<int>(std::find(names_.begin(), names_.end(), t) - names_.begin()) / 2);
    }
    FeatureMaps out;
    // Centred input, as for the VGGs; a bf16 network (nn/precision.h) takes bf16 channels-last.
    at::Tensor x = to_precision(imagenet_normalise(image), module_precision(*this));
    for (int s = 0; s <= deepest; ++s) {
      if (s > 0) x = pyramid_down(x);
      auto& net = nets_[s];
      auto h1 = torch::relu(net->conv1(net->padded(x)));
      const std::string id = "s" + std::to_string(1 << s);
      if (taps.count(id + "_relu1")) out[id + "_relu1"] = h1;
      if (taps.count(id + "_relu2"))
        out[id + "_relu2"] = torch::relu(convs_.conv3x3(net->padded(h1), net->conv2->weight, net->conv2->bias, 0));
    }
    return out;
  }

  StyleRecipe recipe() const override {
    StyleRecipe r;
    for (const auto& n : names_) r.style_layers.emplace_back(n, 1.0);
    // Content on a half-resolution layer: full-resolution shallow features pin every pixel and
    // freeze the picture; coarser ones keep only the layout.
    r.content_layers = {{"s2_relu2", 1.0}};
    r.content_weight = 0.01;
    r.style_weight = 1.0;
    r.tv_weight = 0.0;
    r.normalisation = "energy";
    return r;
  }

  std::string name() const override { return "random-multiscale"; }

 private:
  static constexpr int kScales = 4;
  std::vector<ScaleNet> nets_;
  std::vector<std::string> names_;
};

}  // namespace

void register_builtin_random_backbones(BackboneRegistry& registry, BackboneInfoRegistry& infos) {
  const char* description = "seeded random-weight network over a 4-level image pyramid (no download)";
  registry.add(
      "random-multiscale",
      [](const BackboneOptions& o) -> Backbone {
        if (!o.weights.empty())
          throw OptionError("weights", "backbone random-multiscale is generated from --backbone-seed and takes no weight file");
        return std::make_shared<RandomMultiscaleImpl>(o.seed);
      },
      description);
  infos.add("random-multiscale", [] {
    const RandomMultiscaleImpl net(0);  // small (four 3x3 conv pairs): layers and recipe from an instance
    return BackboneInfo{net.layers(), net.recipe(), false};
  }, description);
}

}  // namespace impasto
