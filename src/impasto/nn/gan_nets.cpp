#include "impasto/nn/gan_nets.h"

#include <torch/torch.h>

#include <algorithm>

#include "impasto/core/error.h"
#include "impasto/core/text.h"
#include "impasto/nn/fastgan.h"
#include "impasto/nn/onnx_export.h"
#include "impasto/nn/spectral_norm.h"

namespace impasto {
namespace {

namespace nn = torch::nn;

const std::vector<std::string> kNorms = {"batch", "layer", "instance", "none", "auto"};

void check_positive(int64_t value, const std::string& option) {
  if (value <= 0) throw OptionError(option, "must be positive, got " + std::to_string(value));
}

// Stride-2 levels of a DCGAN of side `size`: 4 -> 8 -> ... -> size, i.e. log2(size) - 2.
int64_t dcgan_levels(int64_t size) {
  int64_t levels = 0;
  for (int64_t s = 4; s < size; s *= 2) ++levels;
  return levels;
}

// Channel multiplier of level i counted from the image end (0 = the full-resolution layer): 2^i
// capped at 8, so 64x64 gives the 1, 2, 4, 8 of Radford et al. and pytorch/examples.
int64_t width_multiplier(int64_t level) { return std::min<int64_t>(int64_t{1} << std::min<int64_t>(level, 3), 8); }

void check_options(const GanNetOptions& o) {
  const auto archs = gan_arch_names();
  if (std::find(archs.begin(), archs.end(), o.arch) == archs.end())
    throw OptionError("arch", "unknown GAN architecture '" + o.arch + "'; valid: " + join(archs));
  check_positive(o.z_dim, "z_dim");
  if (o.categories != 0 && o.arch != "fastgan") throw OptionError("categories", "latent categories need the fastgan nets (--arch fastgan)");
  if (o.arch == "dcgan" || o.arch == "fastgan") {
    if (o.size != 32 && o.size != 64 && o.size != 128 && o.size != 256)
      throw OptionError("size", "dcgan supports image sizes 32, 64, 128, 256; got " + std::to_string(o.size));
    check_positive(o.channels, "channels");
    check_positive(o.g_width, "g_width");
    check_positive(o.d_width, "d_width");
    if (o.g_norm != "batch" && o.g_norm != "pixel" && o.g_norm != "none")
      throw OptionError("g_norm", "unknown generator normalisation '" + o.g_norm + "'; valid: batch, pixel, none");
    if (o.g_upsample != "transposed" && o.g_upsample != "nearest")
      throw OptionError("g_upsample", "unknown generator upsampling '" + o.g_upsample + "'; valid: transposed, nearest");
    if (o.pack < 1 || o.pack > 16) throw OptionError("pack", "must be in 1..16, got " + std::to_string(o.pack));
    if (o.arch == "fastgan" && o.pack != 1) throw OptionError("pack", "is only for the dcgan discriminator");
    if (o.arch == "fastgan" && o.minibatch_stddev) throw OptionError("minibatch_stddev", "is only for the dcgan discriminator");
    if (o.categories < 0 || o.categories == 1 || o.categories >= o.z_dim)
      throw OptionError("categories", "must be 0 (none) or in 2..z_dim-1 (" + std::to_string(o.z_dim - 1) + "), got " + std::to_string(o.categories));
  } else {
    if (o.minibatch_stddev) throw OptionError("minibatch_stddev", "is only for the dcgan discriminator");
    if (o.pack != 1) throw OptionError("pack", "is only for the dcgan discriminator");
    check_positive(o.data_dim, "data_dim");
    check_positive(o.mlp_hidden, "mlp_hidden");
    check_positive(o.mlp_layers, "mlp_layers");
  }
}

// ---- DCGAN -----------------------------------------------------------------------------------------

// Karras et al. 2018, sec. 3: per group of samples, the standard deviation of every feature over the
// group, averaged over features and positions, as one extra channel [N,1,H,W]. Groups are runs of 4
// consecutive samples (so each data-parallel slice of a multiple of 4 holds whole groups), or the
// whole batch when N is not a multiple of 4.
at::Tensor minibatch_stddev_channel(const at::Tensor& h) {
  const int64_t n = h.size(0), group = n % 4 == 0 ? 4 : n;
  const at::Tensor grouped = h.reshape({n / group, group, -1});
  const at::Tensor std = (grouped.var(1, /*unbiased=*/false) + 1e-8).sqrt().mean(1);  // [n / group]
  return std.repeat_interleave(group).view({n, 1, 1, 1}).expand({n, 1, h.size(2), h.size(3)});
}

// pixel_norm as a module (g_norm pixel of the dcgan G), exportable to ONNX.
class PixelNormImpl : public nn::Module, public OnnxExportable {
 public:
  explicit PixelNormImpl(int64_t channels) : channels_(channels) {}
  at::Tensor forward(const at::Tensor& x) { return pixel_norm(x); }
  // The mean over channels and its broadcast back are 1x1 convolutions (weights 1/C, and 1), so that
  // every operation works on whole tensors of one shape: runtimes differ in how they broadcast.
  std::string to_onnx(OnnxGraph& g, const std::string& x, const std::string& path) const override {
    const std::string square = g.node("Mul", {x, x}, {}, path + ".square");
    const std::string mean = g.node("Conv", {square, g.constant(torch::full({1, channels_, 1, 1}, 1.0 / channels_), path + ".mean_weight")},
                                    {OnnxAttribute::integers("kernel_shape", {1, 1})}, path + ".mean");
    const std::string norm = g.node("Sqrt", {g.node("Add", {mean, g.constant_scalar(1e-8f, path + ".eps")}, {}, path + ".plus_eps")}, {},
                                    path + ".norm");
    const std::string spread = g.node("Conv", {norm, g.constant(torch::ones({channels_, 1, 1, 1}), path + ".spread_weight")},
                                      {OnnxAttribute::integers("kernel_shape", {1, 1})}, path + ".spread");
    return g.node("Div", {x, spread}, {}, path);
  }

 private:
  int64_t channels_;
};
TORCH_MODULE(PixelNorm);

// pytorch/examples dcgan/main.py's netG generalised to other sizes: `main` is
//   ConvT(z, ngf*m_top, 4, 1, 0), BN, ReLU, [ConvT(ngf*m_i, ngf*m_{i-1}, 4, 2, 1), BN, ReLU]..., ConvT(ngf, nc, 4, 2, 1), Tanh
// with no conv biases, so that the example's checkpoints load under the same keys.
// g_norm pixel puts PixelNorm where BN was; none leaves it out (the indices close up). Without batch
// norm the convs get biases (batch norm's shift played their part). g_upsample nearest replaces each
// stride-2 transposed conv by a nearest-neighbour 2x upsampling and a 3x3 conv (Odena, Dumoulin, Olah
// 2016, "Deconvolution and Checkerboard Artifacts"): every output pixel then sees the same number of
// weights, so no checkerboard.
class DcganGeneratorImpl : public GeneratorImpl, public OnnxExportable {
 public:
  explicit DcganGeneratorImpl(const GanNetOptions& o) {
    z_dim = o.z_dim;
    main_ = register_module("main", nn::Sequential());
    const bool bias = o.g_norm != "batch";
    auto up = [&](int64_t in, int64_t out) {
      if (o.g_upsample == "nearest") {
        main_->push_back(nn::Upsample(nn::UpsampleOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest)));
        main_->push_back(nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).bias(bias)));
      } else {
        main_->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(in, out, 4).stride(2).padding(1).bias(bias)));
      }
    };
    const int64_t levels = dcgan_levels(o.size);
    int64_t in = o.z_dim;
    for (int64_t level = levels - 1; level >= 0; --level) {
      const int64_t out = o.g_width * width_multiplier(level);
      if (level == levels - 1)  // z as a 1x1 map -> 4x4
        main_->push_back(nn::ConvTranspose2d(nn::ConvTranspose2dOptions(in, out, 4).stride(1).padding(0).bias(bias)));
      else
        up(in, out);
      if (o.g_norm == "batch") main_->push_back(nn::BatchNorm2d(out));
      if (o.g_norm == "pixel") main_->push_back(PixelNorm(out));
      main_->push_back(nn::ReLU());
      in = out;
    }
    up(in, o.channels);
    main_->push_back(nn::Tanh());
  }

  // The layers after the reshape of z to [N, z_dim, 1, 1] (done by the exported graph's input).
  std::string to_onnx(OnnxGraph& g, const std::string& x, const std::string& path) const override {
    return onnx_forward(*main_, g, x, path + ".main");
  }
  at::Tensor forward(const at::Tensor& z) override {
    return main_->forward(z.reshape({z.size(0), z_dim, 1, 1}));
  }

 private:
  nn::Sequential main_{nullptr};
};

// netD generalised: Conv(nc, ndf, 4, 2, 1), LReLU, [Conv(ndf*m_{i-1}, ndf*m_i, 4, 2, 1), norm, LReLU]...
// down to 4x4, Conv(ndf*m, 1, 4, 1, 0). The example's trailing Sigmoid is left out (the losses take
// logits); it has no parameters, so the keys are unchanged. With d_norm "none" the norm's index is
// simply skipped (the Sequential is renumbered).
class DcganDiscriminatorImpl : public DiscriminatorImpl {
 public:
  DcganDiscriminatorImpl(const GanNetOptions& o, const std::string& norm) {
    main_ = register_module("main", nn::Sequential());
    auto conv = [&](int64_t in, int64_t out, int64_t stride, int64_t padding) {
      auto options = nn::Conv2dOptions(in, out, 4).stride(stride).padding(padding).bias(false);
      if (o.spectral_norm)
        main_->push_back(SNConv2d(options));
      else
        main_->push_back(nn::Conv2d(options));
    };
    auto lrelu = [&] { main_->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2))); };
    const int64_t levels = dcgan_levels(o.size);
    int64_t side = o.size / 2;
    pack_ = o.pack;
    conv(o.channels * o.pack, o.d_width, 2, 1);
    lrelu();
    int64_t in = o.d_width;
    for (int64_t level = 1; level < levels; ++level) {
      const int64_t out = o.d_width * width_multiplier(level);
      side /= 2;
      conv(in, out, 2, 1);
      if (norm == "batch")
        main_->push_back(nn::BatchNorm2d(out));
      else if (norm == "instance")
        main_->push_back(nn::InstanceNorm2d(nn::InstanceNorm2dOptions(out).affine(true)));
      else if (norm == "layer")
        main_->push_back(nn::LayerNorm(nn::LayerNormOptions({out, side, side})));
      lrelu();
      in = out;
    }
    minibatch_stddev_ = o.minibatch_stddev;
    conv(in + (minibatch_stddev_ ? 1 : 0), 1, 1, 0);
  }

  at::Tensor forward(const at::Tensor& x) override {
    at::Tensor h = x;
    if (pack_ > 1) {
      if (x.size(0) % pack_ != 0)
        throw OptionError("pack", "the discriminator judges packs of " + std::to_string(pack_) +
                                      " samples; a batch of " + std::to_string(x.size(0)) + " is not a multiple");
      // Consecutive samples 0..pack-1 become one input of pack*C channels (Lin et al. 2018).
      h = x.reshape({x.size(0) / pack_, pack_ * x.size(1), x.size(2), x.size(3)});
    }
    const int64_t n = h.size(0);
    if (!minibatch_stddev_) return main_->forward(h).reshape({n});
    auto layer = main_->begin();
    for (size_t i = 0; i + 1 < main_->size(); ++i, ++layer) h = layer->forward(h);
    h = torch::cat({h, minibatch_stddev_channel(h)}, 1);
    return layer->forward(h).reshape({n});
  }

 private:
  nn::Sequential main_{nullptr};
  bool minibatch_stddev_ = false;
  int64_t pack_ = 1;
};

// ---- MLP -------------------------------------------------------------------------------------------

class MlpGeneratorImpl : public GeneratorImpl {
 public:
  explicit MlpGeneratorImpl(const GanNetOptions& o) {
    z_dim = o.z_dim;
    net_ = register_module("net", nn::Sequential());
    int64_t in = o.z_dim;
    for (int64_t i = 0; i < o.mlp_layers; ++i) {
      net_->push_back(nn::Linear(in, o.mlp_hidden));
      net_->push_back(nn::ReLU());
      in = o.mlp_hidden;
    }
    net_->push_back(nn::Linear(in, o.data_dim));
  }

  at::Tensor forward(const at::Tensor& z) override { return net_->forward(z.reshape({z.size(0), z_dim})); }

 private:
  nn::Sequential net_{nullptr};
};

// No normalisation layers: d_norm is checked but does not apply to the MLP critic.
class MlpDiscriminatorImpl : public DiscriminatorImpl {
 public:
  explicit MlpDiscriminatorImpl(const GanNetOptions& o) {
    net_ = register_module("net", nn::Sequential());
    auto linear = [&](int64_t in, int64_t out) {
      if (o.spectral_norm)
        net_->push_back(SNLinear(nn::LinearOptions(in, out)));
      else
        net_->push_back(nn::Linear(in, out));
    };
    int64_t in = o.data_dim;
    for (int64_t i = 0; i < o.mlp_layers; ++i) {
      linear(in, o.mlp_hidden);
      net_->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
      in = o.mlp_hidden;
    }
    linear(in, 1);
  }

  at::Tensor forward(const at::Tensor& x) override { return net_->forward(x.reshape({x.size(0), -1})).reshape({x.size(0)}); }

 private:
  nn::Sequential net_{nullptr};
};

}  // namespace

at::Tensor pixel_norm(const at::Tensor& x) { return x * torch::rsqrt(x.pow(2).mean(1, /*keepdim=*/true) + 1e-8); }

std::vector<std::string> gan_arch_names() { return {"dcgan", "fastgan", "mlp"}; }

std::string resolve_d_norm(const std::string& d_norm, bool spectral_norm, const std::string& loss) {
  if (std::find(kNorms.begin(), kNorms.end(), d_norm) == kNorms.end())
    throw OptionError("d_norm", "unknown discriminator normalisation '" + d_norm + "'; valid: " + join(kNorms));
  if (d_norm != "auto") return d_norm;
  // Spectral norm already constrains the critic; the gradient penalty (and the Lipschitz reading of
  // WGAN) is per sample, which batch norm's coupling of samples breaks (Gulrajani et al. 2017, sec. 4).
  if (spectral_norm || loss == "wgan" || loss == "wgangp") return "none";
  return "batch";
}

std::vector<int64_t> sample_shape(const GanNetOptions& options) {
  check_options(options);
  if (options.arch != "mlp") return {options.channels, options.size, options.size};
  return {options.data_dim};
}

std::shared_ptr<GeneratorImpl> make_generator(const GanNetOptions& options) {
  check_options(options);
  if (options.arch == "fastgan") return make_fastgan_generator(options);
  if (options.arch == "dcgan") {
    auto g = std::make_shared<DcganGeneratorImpl>(options);
    dcgan_init(*g);
    return g;
  }
  return std::make_shared<MlpGeneratorImpl>(options);
}

std::shared_ptr<DiscriminatorImpl> make_discriminator(const GanNetOptions& options) {
  check_options(options);
  // Without a loss name, auto resolves as for the probabilistic objectives (batch norm unless spectral
  // norm); the trainer resolves it with the real loss first.
  const std::string norm = resolve_d_norm(options.d_norm, options.spectral_norm, "");
  if (options.arch == "fastgan") return make_fastgan_discriminator(options, norm);
  if (options.arch == "dcgan") {
    auto d = std::make_shared<DcganDiscriminatorImpl>(options, norm);
    dcgan_init(*d);
    return d;
  }
  return std::make_shared<MlpDiscriminatorImpl>(options);
}

void dcgan_init(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  // modules() lists the tree in pre-order, which for these flat Sequentials is the order in which
  // pytorch/examples' `net.apply(weights_init)` visits the layers, so the same seed gives the same weights.
  for (const auto& m : module.modules(/*include_self=*/true)) {
    if (auto* conv = m->as<nn::Conv2d>()) {
      conv->weight.normal_(0.0, 0.02);
    } else if (auto* convt = m->as<nn::ConvTranspose2d>()) {
      convt->weight.normal_(0.0, 0.02);
    } else if (auto* sn = m->as<SNConv2d>()) {
      sn->weight_orig.normal_(0.0, 0.02);
    } else if (auto* bn = m->as<nn::BatchNorm2d>()) {
      bn->weight.normal_(1.0, 0.02);
      bn->bias.zero_();
    }
  }
}

}  // namespace impasto
