#include "impasto/nn/fastgan.h"

#include <torch/torch.h>

#include <algorithm>
#include <map>

#include "impasto/core/error.h"
#include "impasto/nn/spectral_norm.h"

namespace impasto {
namespace {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

// Channels at side r of a net whose image side is S: width * min(S / r, 8).
int64_t channels_at(int64_t width, int64_t size, int64_t side) { return width * std::min<int64_t>(size / side, 8); }

// A normalisation layer by name (identity for "none"); `side` for layer norm's shape.
nn::AnyModule norm_layer(const std::string& norm, int64_t channels, int64_t side) {
  if (norm == "batch") return nn::AnyModule(nn::BatchNorm2d(channels));
  if (norm == "instance") return nn::AnyModule(nn::InstanceNorm2d(nn::InstanceNorm2dOptions(channels).affine(true)));
  if (norm == "layer") return nn::AnyModule(nn::LayerNorm(nn::LayerNormOptions({channels, side, side})));
  if (norm == "pixel" || norm == "none") return nn::AnyModule(nn::Identity());
  throw OptionError("norm", "unknown normalisation '" + norm + "'");
}

// A conv, spectrally normalised or not.
nn::AnyModule conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, bool spectral, bool bias) {
  const auto options = nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(bias);
  if (spectral) return nn::AnyModule(SNConv2d(options));
  return nn::AnyModule(nn::Conv2d(options));
}

// Runs one of the small modules made by conv()/norm_layer() (stored as nn::Module).
at::Tensor run(const std::shared_ptr<nn::Module>& m, const at::Tensor& x) {
  if (auto* c = m->as<nn::Conv2d>()) return c->forward(x);
  if (auto* c = m->as<SNConv2d>()) return c->forward(x);
  if (auto* b = m->as<nn::BatchNorm2d>()) return b->forward(x);
  if (auto* i = m->as<nn::InstanceNorm2d>()) return i->forward(x);
  if (auto* l = m->as<nn::LayerNorm>()) return l->forward(x);
  return x;  // Identity
}

// Skip-layer excitation (Liu et al. 2021, sec. 3.1): small features -> a channel gate on big ones.
class ExcitationImpl : public nn::Module {
 public:
  ExcitationImpl(int64_t small_channels, int64_t big_channels, bool spectral) {
    squeeze_ = register_module("squeeze", conv(small_channels, big_channels, 4, 1, 0, spectral, false).ptr());
    excite_ = register_module("excite", conv(big_channels, big_channels, 1, 1, 0, spectral, false).ptr());
  }
  at::Tensor forward(const at::Tensor& small, const at::Tensor& big) {
    at::Tensor gate = run(squeeze_, F::adaptive_avg_pool2d(small, F::AdaptiveAvgPool2dFuncOptions(4)));
    gate = gate * torch::sigmoid(gate);  // Swish
    return big * torch::sigmoid(run(excite_, gate));
  }

 private:
  std::shared_ptr<nn::Module> squeeze_, excite_;
};
TORCH_MODULE(Excitation);

// One step of the generator or decoder: [upsample 2x], 3x3 conv to 2*out, norm, GLU; `twice` repeats
// conv/norm/GLU at the new side.
class GluBlockImpl : public nn::Module {
 public:
  GluBlockImpl(int64_t in, int64_t out, int64_t side, const std::string& norm, bool twice, bool spectral) : norm_name_(norm) {
    const bool bias = norm == "none" || norm == "pixel";
    for (int i = 0; i < (twice ? 2 : 1); ++i) {
      convs_.push_back(register_module("conv" + std::to_string(i), conv(i == 0 ? in : out, 2 * out, 3, 1, 1, spectral, bias).ptr()));
      norms_.push_back(register_module("norm" + std::to_string(i), norm_layer(norm, 2 * out, side).ptr()));
    }
  }
  at::Tensor forward(at::Tensor x, bool upsample) {
    if (upsample) x = F::interpolate(x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest));
    for (size_t i = 0; i < convs_.size(); ++i) {
      x = run(convs_[i], x);
      x = norm_name_ == "pixel" ? pixel_norm(x) : run(norms_[i], x);
      x = F::glu(x, F::GLUFuncOptions(1));
    }
    return x;
  }

 private:
  std::string norm_name_;
  std::vector<std::shared_ptr<nn::Module>> convs_, norms_;
};
TORCH_MODULE(GluBlock);

at::Tensor lrelu(const at::Tensor& x) { return F::leaky_relu(x, F::LeakyReLUFuncOptions().negative_slope(0.2)); }

// ---- generator -------------------------------------------------------------------------------------

class FastganGeneratorImpl : public GeneratorImpl {
 public:
  explicit FastganGeneratorImpl(const GanNetOptions& o) : norm_(o.g_norm) {
    z_dim = o.z_dim;
    const int64_t c4 = channels_at(o.g_width, o.size, 4);
    init_ = register_module("init", nn::ConvTranspose2d(nn::ConvTranspose2dOptions(o.z_dim, 2 * c4, 4).bias(norm_ != "batch")));
    init_norm_ = register_module("init_norm", norm_layer(norm_, 2 * c4, 4).ptr());
    int64_t in = c4, level = 0;
    for (int64_t side = 8; side <= o.size; side *= 2, ++level) {
      const int64_t out = channels_at(o.g_width, o.size, side);
      blocks_.push_back(register_module("up" + std::to_string(side), GluBlock(in, out, side, norm_, level % 2 == 0, false)));
      if (side >= 32) {  // SLE from side / 8
        const int64_t small = side / 8;
        excite_.emplace(side, register_module("sle" + std::to_string(small) + "_" + std::to_string(side),
                                              Excitation(channels_at(o.g_width, o.size, small), out, false)));
      }
      in = out;
    }
    to_rgb_ = register_module("to_rgb", nn::Conv2d(nn::Conv2dOptions(in, o.channels, 3).padding(1)));
    for (auto& p : named_parameters()) {  // DCGAN-style small init for the convs (as the paper's code)
      torch::NoGradGuard no_grad;
      if (p.key().find("weight") != std::string::npos && p.value().dim() == 4) p.value().normal_(0.0, 0.02);
      if (p.key().find("norm") != std::string::npos && p.key().find("weight") != std::string::npos) p.value().normal_(1.0, 0.02);
    }
  }

  at::Tensor forward(const at::Tensor& z) override {
    at::Tensor x = init_->forward(z.reshape({z.size(0), z_dim, 1, 1}));
    x = norm_ == "pixel" ? pixel_norm(x) : run(init_norm_, x);
    x = F::glu(x, F::GLUFuncOptions(1));
    std::map<int64_t, at::Tensor> features{{4, x}};
    int64_t side = 8;
    for (auto& block : blocks_) {
      x = block->forward(x, true);
      auto it = excite_.find(side);
      if (it != excite_.end()) x = it->second->forward(features.at(side / 8), x);
      features[side] = x;
      side *= 2;
    }
    return torch::tanh(to_rgb_->forward(x));
  }

 private:
  std::string norm_;
  nn::ConvTranspose2d init_{nullptr};
  std::shared_ptr<nn::Module> init_norm_;
  std::vector<GluBlock> blocks_;
  std::map<int64_t, Excitation> excite_;
  nn::Conv2d to_rgb_{nullptr};
};

// ---- discriminator ---------------------------------------------------------------------------------

// The paper's DownBlockComp: (strided 4x4 conv, norm, lrelu, 3x3 conv, norm, lrelu) and (2x2 average
// pool, 1x1 conv, norm, lrelu), averaged.
class DownBlockImpl : public nn::Module {
 public:
  DownBlockImpl(int64_t in, int64_t out, int64_t side_out, const std::string& norm, bool spectral) {
    conv_a_ = register_module("conv_a", conv(in, out, 4, 2, 1, spectral, false).ptr());
    norm_a_ = register_module("norm_a", norm_layer(norm, out, side_out).ptr());
    conv_b_ = register_module("conv_b", conv(out, out, 3, 1, 1, spectral, false).ptr());
    norm_b_ = register_module("norm_b", norm_layer(norm, out, side_out).ptr());
    conv_skip_ = register_module("conv_skip", conv(in, out, 1, 1, 0, spectral, false).ptr());
    norm_skip_ = register_module("norm_skip", norm_layer(norm, out, side_out).ptr());
  }
  at::Tensor forward(const at::Tensor& x) {
    const at::Tensor main = lrelu(run(norm_b_, run(conv_b_, lrelu(run(norm_a_, run(conv_a_, x))))));
    const at::Tensor skip = lrelu(run(norm_skip_, run(conv_skip_, F::avg_pool2d(x, F::AvgPool2dFuncOptions(2)))));
    return (main + skip) * 0.5;
  }

 private:
  std::shared_ptr<nn::Module> conv_a_, norm_a_, conv_b_, norm_b_, conv_skip_, norm_skip_;
};
TORCH_MODULE(DownBlock);

// Rebuilds an image of side `out_side` from 8x8 features: GLU up-blocks of `width` channels with
// batch norm, 3x3 conv, tanh. Narrow on purpose: at the discriminator's widths the decoders would
// otherwise cost many times D's own layers.
class DecoderImpl : public nn::Module {
 public:
  DecoderImpl(int64_t in, int64_t out_side, int64_t channels, int64_t width) {
    int64_t c = in;
    for (int64_t side = 16; side <= out_side; side *= 2) {
      const int64_t out = width;
      blocks_.push_back(register_module("up" + std::to_string(side), GluBlock(c, out, side, "batch", false, false)));
      c = out;
    }
    to_rgb_ = register_module("to_rgb", nn::Conv2d(nn::Conv2dOptions(c, channels, 3).padding(1)));
  }
  at::Tensor forward(at::Tensor x) {
    for (auto& block : blocks_) x = block->forward(x, true);
    return torch::tanh(to_rgb_->forward(x));
  }

 private:
  std::vector<GluBlock> blocks_;
  nn::Conv2d to_rgb_{nullptr};
};
TORCH_MODULE(Decoder);

class FastganDiscriminatorImpl : public DiscriminatorImpl {
 public:
  FastganDiscriminatorImpl(const GanNetOptions& o, const std::string& norm) : size_(o.size) {
    const bool sn = o.spectral_norm;
    stem_ = register_module("stem", conv(o.channels, o.d_width, 3, 1, 1, sn, false).ptr());
    int64_t in = o.d_width;
    for (int64_t side = o.size / 2; side >= 8; side /= 2) {
      const int64_t out = channels_at(o.d_width, o.size, side);
      down_.push_back(register_module("down" + std::to_string(side), DownBlock(in, out, side, norm, sn)));
      if (side * 8 <= o.size) {  // SLE from side * 8 down to side
        excite_.emplace(side, register_module("sle" + std::to_string(side * 8) + "_" + std::to_string(side),
                                              Excitation(channels_at(o.d_width, o.size, side * 8), out, sn)));
      }
      in = out;
    }
    score_conv_ = register_module("score_conv", conv(in, in, 1, 1, 0, sn, false).ptr());
    score_norm_ = register_module("score_norm", norm_layer(norm, in, 8).ptr());
    score_ = register_module("score", conv(in, 1, 4, 1, 0, sn, true).ptr());
    if (o.categories > 0) category_ = register_module("category", conv(in, o.categories, 4, 1, 0, sn, true).ptr());
    const int64_t decoded = std::min<int64_t>(o.size, 128);
    decode_whole_ = register_module("decode_whole", Decoder(channels_at(o.d_width, o.size, 8), decoded, o.channels, o.d_width));
    decode_part_ = register_module("decode_part", Decoder(channels_at(o.d_width, o.size, 16), decoded, o.channels, o.d_width));
    for (auto& p : named_parameters()) {
      torch::NoGradGuard no_grad;
      const bool conv_weight = p.value().dim() == 4 && (p.key().find("weight") != std::string::npos);
      if (conv_weight) p.value().normal_(0.0, 0.02);
    }
  }

  at::Tensor forward(const at::Tensor& x) override { return scores(features(x)); }

  FakeJudgement judge_fake(const at::Tensor& x) override {
    if (!category_) return {forward(x), {}};
    const std::map<int64_t, at::Tensor> f = features(x);
    const at::Tensor h = head_features(f);
    return {run(score_, h).mean({1, 2, 3}), run(category_, h).mean({2, 3})};
  }

  RealJudgement judge_real(const at::Tensor& x, at::Generator& generator) override {
    const std::map<int64_t, at::Tensor> f = features(x);
    const int64_t decoded = std::min<int64_t>(size_, 128);
    auto resize = [&](const at::Tensor& image) {
      if (image.size(2) == decoded) return image;
      return F::interpolate(image, F::InterpolateFuncOptions().size(std::vector<int64_t>{decoded, decoded}).mode(torch::kBilinear)
                                       .align_corners(false).antialias(true));
    };
    // The whole image from the 8x8 features; one quadrant (the same for the batch, drawn from the
    // step's generator) from the matching half of the 16x16 features.
    const at::Tensor whole = decode_whole_->forward(f.at(8));
    const int64_t quadrant = at::randint(0, 4, {1}, generator).item<int64_t>();
    const int64_t qy = quadrant / 2, qx = quadrant % 2, half = size_ / 2;
    const at::Tensor part_features = f.at(16).narrow(2, qy * 8, 8).narrow(3, qx * 8, 8);
    const at::Tensor part = decode_part_->forward(part_features);
    const at::Tensor target_whole = resize(x.detach());
    const at::Tensor target_part = resize(x.detach().narrow(2, qy * half, half).narrow(3, qx * half, half));
    at::Tensor loss = (whole - target_whole).abs().mean() + (part - target_part).abs().mean();
    return {scores(f), loss};
  }

 private:
  std::map<int64_t, at::Tensor> features(const at::Tensor& x) {
    std::map<int64_t, at::Tensor> f;
    at::Tensor h = lrelu(run(stem_, x));
    f[size_] = h;
    int64_t side = size_ / 2;
    for (auto& block : down_) {
      h = block->forward(h);
      auto it = excite_.find(side);
      if (it != excite_.end()) h = it->second->forward(f.at(side * 8), h);
      f[side] = h;
      side /= 2;
    }
    return f;
  }
  // What the score and category heads read: the 8x8 features through a 1x1 conv and the norm.
  at::Tensor head_features(const std::map<int64_t, at::Tensor>& f) {
    return lrelu(run(score_norm_, run(score_conv_, f.at(8))));
  }
  at::Tensor scores(const std::map<int64_t, at::Tensor>& f) {
    return run(score_, head_features(f)).mean({1, 2, 3});  // the 5x5 patch logits, averaged
  }

  int64_t size_;
  std::shared_ptr<nn::Module> stem_, score_conv_, score_norm_, score_, category_;
  std::vector<DownBlock> down_;
  std::map<int64_t, Excitation> excite_;
  Decoder decode_whole_{nullptr}, decode_part_{nullptr};
};

}  // namespace

std::shared_ptr<GeneratorImpl> make_fastgan_generator(const GanNetOptions& options) {
  return std::make_shared<FastganGeneratorImpl>(options);
}

std::shared_ptr<DiscriminatorImpl> make_fastgan_discriminator(const GanNetOptions& options, const std::string& norm) {
  return std::make_shared<FastganDiscriminatorImpl>(options, norm);
}

}  // namespace impasto
