#include "impasto/nn/vgg.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "impasto/nn/precision.h"
#include "impasto/nn/precision_modules.h"

namespace impasto {
namespace {

enum class Arch { vgg16, vgg19, vgg19_normalised, random_vgg19 };

// Convs per block (blocks 1..5 have 64, 128, 256, 512, 512 channels at full width).
std::vector<int> block_depths(Arch arch) {
  if (arch == Arch::vgg16) return {2, 2, 3, 3, 3};
  return {2, 2, 4, 4, 4};
}

const char* arch_name(Arch arch) {
  switch (arch) {
    case Arch::vgg16: return "vgg16";
    case Arch::vgg19: return "vgg19";
    case Arch::vgg19_normalised: return "vgg19-normalised";
    case Arch::random_vgg19: return "random-vgg19";
  }
  return "?";
}

class VggImpl : public BackboneImpl {
 public:
  VggImpl(Arch arch, int64_t width_divisor, bool avg_pool) : arch_(arch) {
    const bool normalised = arch == Arch::vgg19_normalised || arch == Arch::random_vgg19;
    features_ = register_module("features", torch::nn::Sequential());
    int64_t in = 3;
    if (normalised) {  // index 0: 1x1 colour conversion, no ReLU after it
      features_->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 3, 1)));
      names_.push_back("conv0");
    }
    const int64_t widths[5] = {64, 128, 256, 512, 512};
    const auto depths = block_depths(arch);
    for (int b = 0; b < 5; ++b) {
      const int64_t out = widths[b] / width_divisor;
      for (int k = 0; k < depths[b]; ++k) {
        const std::string id = std::to_string(b + 1) + "_" + std::to_string(k + 1);
        if (normalised) {
          features_->push_back(AnyPrecisionReflectionPad2d(1));  // every dtype (nn/precision_modules.h)
          names_.push_back("pad" + id);
          features_->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3)));
        } else {
          features_->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1)));
        }
        conv_padding_.resize(names_.size(), -1);
        conv_padding_.push_back(normalised ? 0 : 1);
        names_.push_back("conv" + id);
        features_->push_back(torch::nn::ReLU());
        names_.push_back("relu" + id);
        in = out;
      }
      // The normalised VGG19 ends at relu5_4 (no fifth pool); torchvision's has pool5.
      if (normalised && b == 4) break;
      if (avg_pool)
        features_->push_back(torch::nn::AvgPool2d(torch::nn::AvgPool2dOptions(2).stride(2).ceil_mode(normalised)));
      else
        features_->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2).stride(2).ceil_mode(normalised)));
      names_.push_back("pool" + std::to_string(b + 1));
    }
    conv_padding_.resize(names_.size(), -1);
    for (const auto& n : names_)
      if (n.rfind("pad", 0) != 0) tappable_.push_back(n);
  }

  const std::vector<std::string>& layers() const override { return tappable_; }

  FeatureMaps extract(const at::Tensor& image, const std::set<std::string>& taps) override {
    size_t last = 0;
    for (const auto& t : taps) {
      check_layer(t, "layers");
      last = std::max(last, index_of(t));
    }
    FeatureMaps out;
    at::Tensor x = arch_ == Arch::vgg19_normalised || arch_ == Arch::random_vgg19 ? image : imagenet_normalise(image);
    x = to_precision(x, module_precision(*this));  // a bf16 network (nn/precision.h) takes bf16 channels-last
    // float32 on CPU runs channels-last too: LibTorch's max-pooling and ReLU gradient are several
    // times faster on it than on NCHW (64 x 256 x 256: pooling 21 -> 0.8 ms), and the Winograd
    // convolutions read and write it at the same cost. The features come out channels-last.
    if (x.scalar_type() == at::kFloat && x.device().is_cpu()) x = x.contiguous(at::MemoryFormat::ChannelsLast);
    size_t i = 0;
    for (auto& module : *features_) {
      if (i > last) break;
      if (conv_padding_[i] >= 0) {
        const auto& conv = *module.ptr()->as<torch::nn::Conv2dImpl>();
        x = convs_.conv3x3(x, conv.weight, conv.bias, conv_padding_[i]);
      } else {
        x = module.forward(x);
      }
      if (taps.count(names_[i])) out[names_[i]] = x;
      ++i;
    }
    return out;
  }

  StyleRecipe recipe() const override {
    // Layers of Gatys et al. 2015 (style relu1_1..relu5_1, content relu4_2 as in neural-style).
    // Energy normalisation makes every term a relative error, so the weights do not depend on the
    // input range or the activation scale of the weight file.
    StyleRecipe r;
    r.content_layers = {{"relu4_2", 1.0}};
    r.style_layers = {{"relu1_1", 1.0}, {"relu2_1", 1.0}, {"relu3_1", 1.0}, {"relu4_1", 1.0}, {"relu5_1", 1.0}};
    r.normalisation = "energy";
    r.content_weight = 1.0;
    r.style_weight = 1.0;
    r.tv_weight = 0.0;
    return r;
  }

  std::string name() const override { return arch_name(arch_); }

  // random-vgg19's weights: conv0 the ImageNet normalisation (so the first 3x3 conv sees centred input
  // of about unit variance), every 3x3 conv Kaiming-normal (He et al. 2015: variance 2 / fan_in keeps
  // the activations' second moment through ReLUs) with zero bias. Drawn in double precision from the
  // CPU generator and rounded to float: torch's float normal draws take a vectorised path on some CPUs
  // only, the double ones do not, so every machine makes the same network from the same seed.
  void randomise(uint64_t seed) {
    torch::NoGradGuard no_grad;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    bool first = true;
    for (auto& module : *features_) {
      auto* conv = module.ptr()->as<torch::nn::Conv2dImpl>();
      if (!conv) continue;
      at::Tensor& w = conv->weight;
      at::Tensor& b = conv->bias;
      if (first) {  // x -> (x - mean) / std per channel, as imagenet_normalise
        const double mean[3] = {0.485, 0.456, 0.406}, std[3] = {0.229, 0.224, 0.225};
        w.zero_();
        for (int c = 0; c < 3; ++c) {
          w[c][c][0][0] = 1.0 / std[c];
          b[c] = -mean[c] / std[c];
        }
        first = false;
        continue;
      }
      const double fan_in = static_cast<double>(w.size(1) * w.size(2) * w.size(3));
      w.copy_(at::randn(w.sizes(), gen, w.options().dtype(at::kDouble)) * std::sqrt(2.0 / fan_in));
      b.zero_();
    }
  }

 private:
  size_t index_of(const std::string& name) const {
    return static_cast<size_t>(std::find(names_.begin(), names_.end(), name) - names_.begin());
  }

  Arch arch_;
  torch::nn::Sequential features_{nullptr};
  std::vector<std::string> names_;     // one per module in features_
  std::vector<int64_t> conv_padding_;  // per module: a 3x3 conv's zero padding, -1 for other modules
  std::vector<std::string> tappable_;  // names_ without the padding modules
};

// The width divisor of a (possibly width-reduced) file: the out-channels of its first 3x3 conv
// relative to 64. Must divide every width evenly; shapes are then checked one by one on load.
int64_t infer_width_divisor(const StateDict& dict, const std::string& first_conv_key, const std::string& source) {
  const at::Tensor* w = find_tensor(dict, first_conv_key);
  if (!w) throw FormatError(source, "missing key '" + first_conv_key + "' (is this a VGG weight file?)");
  if (w->dim() != 4 || w->size(0) == 0 || 64 % w->size(0) != 0)
    throw FormatError(source, "'" + first_conv_key + "' has an unexpected shape for a VGG first conv");
  return 64 / w->size(0);
}

Backbone make_vgg(Arch arch, const BackboneOptions& options) {
  if (options.weights.empty())
    throw OptionError("weights", std::string("backbone ") + arch_name(arch) +
                                     " needs a weight file (--weights FILE: torchvision .pth, or an impasto "
                                     "checkpoint from `impasto weights import`); see README 'Pretrained weights'");
  std::string file_arch;
  StateDict dict = load_weights(options.weights, &file_arch);
  if (!file_arch.empty() && file_arch != arch_name(arch))
    throw FormatError(options.weights, "checkpoint is for architecture '" + file_arch + "', not " + arch_name(arch));
  const bool normalised = arch == Arch::vgg19_normalised;
  // impasto checkpoints always use the `features.N` keys; vgg_normalised.pth uses bare `N`.
  const bool bare_keys = normalised && find_tensor(dict, "2.weight") != nullptr;
  const std::string first_conv = normalised ? (bare_keys ? "2.weight" : "features.2.weight") : "features.0.weight";
  const int64_t divisor = infer_width_divisor(dict, first_conv, options.weights);
  auto model = std::make_shared<VggImpl>(arch, divisor, options.pooling == "avg");
  auto rename = [bare_keys](const std::string& k) { return bare_keys ? "features." + k : k; };
  // torchvision files also hold the classifier, which feature extraction does not use.
  load_state_dict(*model, dict, options.weights, rename, {"classifier."});
  return model;
}

// random-vgg19 is the normalised VGG19's layout at a quarter of its widths (16, 32, 64, 128, 128
// channels: a sixteenth of the work), with seeded random weights.
constexpr int64_t kRandomVggWidthDivisor = 4;

Backbone make_random_vgg(const BackboneOptions& options) {
  if (!options.weights.empty())
    throw OptionError("weights", "backbone random-vgg19 makes its weights from --backbone-seed; it takes no weight file");
  auto model = std::make_shared<VggImpl>(Arch::random_vgg19, kRandomVggWidthDivisor, options.pooling == "avg");
  model->randomise(options.seed);
  return model;
}

}  // namespace

void register_builtin_vgg_backbones(BackboneRegistry& registry, BackboneInfoRegistry& infos) {
  const std::pair<Arch, const char*> archs[] = {
      {Arch::vgg19, "torchvision VGG19 (vgg19-dcbb9e9d.pth), ImageNet-normalised input"},
      {Arch::vgg16, "torchvision VGG16 (vgg16-397923af.pth), ImageNet-normalised input"},
      {Arch::vgg19_normalised, "Gatys' normalised VGG19 as used by AdaIN (vgg_normalised.pth)"}};
  for (const auto& [arch, description] : archs) {
    registry.add(arch_name(arch), [arch = arch](const BackboneOptions& o) { return make_vgg(arch, o); }, description);
    // The layer names do not depend on the widths: a skeleton at 1/64 of the width (at most 8
    // channels, no file) names them.
    infos.add(arch_name(arch), [arch = arch] {
      VggImpl skeleton(arch, 64, false);
      return BackboneInfo{skeleton.layers(), skeleton.recipe(), true};
    }, description);
  }
  const char* random_description =
      "the normalised VGG19's layout at a quarter of its widths with seeded random weights (--backbone-seed); no file";
  registry.add(arch_name(Arch::random_vgg19), make_random_vgg, random_description);
  infos.add(arch_name(Arch::random_vgg19), [] {
    VggImpl skeleton(Arch::random_vgg19, 64, false);
    return BackboneInfo{skeleton.layers(), skeleton.recipe(), false};
  }, random_description);
}

}  // namespace impasto
