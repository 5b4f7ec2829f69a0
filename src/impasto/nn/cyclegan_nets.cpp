#include "impasto/nn/cyclegan_nets.h"

#include <torch/torch.h>

#include <algorithm>
#include <regex>
#include <set>

#include "impasto/core/error.h"
#include "impasto/core/text.h"
#include "impasto/nn/backbone.h"
#include "impasto/nn/gan_model.h"
#include "impasto/nn/instance_norm.h"
#include "impasto/nn/int8.h"
#include "impasto/nn/precision.h"
#include "impasto/nn/precision_modules.h"
#include "impasto/nn/onnx_export.h"

namespace impasto {
namespace {

namespace nn = torch::nn;

const std::vector<std::string> kGeneratorNames = {"resnet_9blocks", "resnet_6blocks", "unet_256", "unet_128"};
const std::vector<std::string> kDiscriminatorNames = {"basic", "n_layers", "pixel"};
const std::vector<std::string> kNorms = {"instance", "batch"};

void check_positive(int64_t value, const std::string& option) {
  if (value <= 0) throw OptionError(option, "must be positive, got " + std::to_string(value));
}

void check_norm(const std::string& norm) {
  if (std::find(kNorms.begin(), kNorms.end(), norm) == kNorms.end())
    throw OptionError("norm", "unknown normalisation '" + norm + "'; valid: " + join(kNorms));
}

// networks.py's get_norm_layer: instance norm without affine parameters or running statistics,
// batch norm with both.
nn::AnyModule norm_layer(const std::string& norm, int64_t channels) {
  if (norm == "batch") return nn::AnyModule(nn::BatchNorm2d(channels));
  return nn::AnyModule(InstanceNorm(channels, /*affine=*/false));  // nn/instance_norm.h
}

nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, bool bias) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(bias));
}

// The ResNet generators' convolutions, which have int8 forms (nn/precision_modules.h); the same keys.
AnyPrecisionConv2d any_conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, bool bias) {
  return AnyPrecisionConv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(bias));
}

// The int8 wiring of a ResNet generator's Sequential: each convolution followed by an instance norm
// feeds it (channel-normalised), and each instance norm followed by a ReLU quantises over [0, hi].
void wire_int8(nn::Sequential& seq) {
  for (size_t i = 0; i + 1 < seq->size(); ++i) {
    const auto& here = seq->ptr(i);
    const auto& next = seq->ptr(i + 1);
    auto* norm = dynamic_cast<InstanceNormImpl*>(next.get());
    if (auto* c = dynamic_cast<AnyPrecisionConv2dImpl*>(here.get()); c && norm) c->feed_norm(*norm);
    if (auto* t = dynamic_cast<AnyPrecisionConvTranspose2dImpl*>(here.get()); t && norm) t->feed_norm(*norm);
    if (auto* n = dynamic_cast<InstanceNormImpl*>(here.get()); n && dynamic_cast<nn::ReLUImpl*>(next.get())) n->set_relu_after(true);
  }
}

nn::LeakyReLU leaky_relu() { return nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)); }

// The i-th module of `seq` on x.
at::Tensor call(nn::Sequential& seq, size_t i, const at::Tensor& x) {
  return (seq->begin() + static_cast<std::ptrdiff_t>(i))->forward(x);
}

// Runs the modules of `seq` from index `first` on.
at::Tensor run_from(nn::Sequential& seq, size_t first, at::Tensor x) {
  for (size_t i = first; i < seq->size(); ++i) x = call(seq, i, x);
  return x;
}

// The architecture behind a generator name: resnet_<n>blocks or unet_<2^k> (k >= 5).
struct GeneratorShape {
  bool resnet = true;
  int64_t blocks = 0;     // resnet
  int64_t num_downs = 0;  // unet
};

GeneratorShape parse_generator_arch(const std::string& arch) {
  static const std::regex resnet("resnet_([0-9]{1,3})blocks"), unet("unet_([0-9]{1,6})");
  std::smatch m;
  GeneratorShape s;
  if (std::regex_match(arch, m, resnet)) {
    s.blocks = std::stoll(m[1]);
    return s;
  }
  if (std::regex_match(arch, m, unet)) {
    const int64_t size = std::stoll(m[1]);
    int64_t downs = 0;
    while ((int64_t{1} << downs) < size) ++downs;
    // networks.py builds innermost + (num_downs - 5) + 3 + outermost blocks, so num_downs >= 5.
    if ((int64_t{1} << downs) == size && downs >= 5) {
      s.resnet = false;
      s.num_downs = downs;
      return s;
    }
  }
  throw OptionError("arch", "unknown CycleGAN generator '" + arch + "'; valid: " + join(kGeneratorNames) +
                                " (generally resnet_<n>blocks, or unet_<2^k> with k >= 5)");
}

// ---- ResNet generator --------------------------------------------------------------------------------

class ResnetBlockImpl : public nn::Module, public OnnxExportable, public Int8ResidualSum {
 public:
  ResnetBlockImpl(int64_t dim, const std::string& norm, bool dropout, bool bias) {
    conv_block = register_module("conv_block", nn::Sequential());
    conv_block->push_back(AnyPrecisionReflectionPad2d(1));
    conv_block->push_back(any_conv(dim, dim, 3, 1, 0, bias));
    conv_block->push_back(norm_layer(norm, dim));
    conv_block->push_back(nn::ReLU());
    if (dropout) conv_block->push_back(nn::Dropout(0.5));
    conv_block->push_back(AnyPrecisionReflectionPad2d(1));
    conv_block->push_back(any_conv(dim, dim, 3, 1, 0, bias));
    conv_block->push_back(norm_layer(norm, dim));
    wire_int8(conv_block);
  }

  at::Tensor forward(const at::Tensor& x) { return add(x, conv_block->forward(x)); }
  std::string to_onnx(OnnxGraph& g, const std::string& x, const std::string& path) const override {
    return g.node("Add", {x, onnx_forward(*conv_block, g, x, path + ".conv_block")}, {}, path);
  }

  nn::Sequential conv_block{nullptr};
};
TORCH_MODULE(ResnetBlock);

constexpr size_t kFirstBlock = 10;  // model.10 is the first ResnetBlock (after 3 conv-norm-ReLU stages)

// int8 (nn/int8.h) with instance norm: model.0 .. model.9 (the 7x7 conv and the two stride-2 stages)
// are the float stem, as TransformerNet's (nn/transformer_net.cpp says why), and model.8's output
// after model.9's ReLU is the first quantised value.
class ResnetGeneratorConcrete : public ResnetGeneratorImpl, public OnnxExportable, public Int8Quantizable {
 public:
  ResnetGeneratorConcrete(const CycleGanGeneratorOptions& o, int64_t blocks) : options_(o) {
    const bool bias = o.norm == "instance";  // networks.py's use_bias
    const int64_t ngf = o.ngf;
    model_ = register_module("model", nn::Sequential());
    model_->push_back(AnyPrecisionReflectionPad2d(3));
    model_->push_back(any_conv(o.input_nc, ngf, 7, 1, 0, bias));
    model_->push_back(norm_layer(o.norm, ngf));
    model_->push_back(nn::ReLU());
    for (int64_t mult : {1, 2}) {
      model_->push_back(any_conv(ngf * mult, ngf * mult * 2, 3, 2, 1, bias));
      model_->push_back(norm_layer(o.norm, ngf * mult * 2));
      model_->push_back(nn::ReLU());
    }
    for (int64_t k = 0; k < blocks; ++k) model_->push_back(ResnetBlock(ngf * 4, o.norm, o.dropout, bias));
    for (int64_t mult : {4, 2}) {
      // output_padding 1 makes each stage exactly double the side: (h - 1) * 2 - 2 + 3 + 1 = 2h.
      model_->push_back(AnyPrecisionConvTranspose2d(
          nn::ConvTranspose2dOptions(ngf * mult, ngf * mult / 2, 3).stride(2).padding(1).output_padding(1).bias(bias)));
      model_->push_back(norm_layer(o.norm, ngf * mult / 2));
      model_->push_back(nn::ReLU());
    }
    model_->push_back(AnyPrecisionReflectionPad2d(3));
    model_->push_back(any_conv(ngf, o.output_nc, 7, 1, 0, true));
    model_->push_back(nn::Tanh());
    enabled_.assign(static_cast<size_t>(blocks), true);
    wire_int8(model_);
    for (size_t i = 0; i < kFirstBlock; ++i) {
      if (auto* c = dynamic_cast<AnyPrecisionConv2dImpl*>(model_->ptr(i).get())) c->keep_float();
      if (auto* n = dynamic_cast<InstanceNormImpl*>(model_->ptr(i).get()); n && i + 2 != kFirstBlock) n->keep_float();
    }
  }

  // int8 needs instance norm (batch norm has no int8 form here).
  std::vector<std::pair<std::string, Int8Point*>> int8_points() override { return {}; }
  void set_int8(bool enabled) override {
    if (enabled && !has_int8_form()) throw Error("int8 is available for ResNet generators with instance norm");
    int8_ = enabled;
  }
  bool int8() const override { return int8_; }
  bool has_int8_form() const override { return options_.norm == "instance"; }

  at::Tensor forward(const at::Tensor& x) override { return run(x, nullptr); }
  at::Tensor forward_with_features(const at::Tensor& x, Activations& features) override {
    features.clear();
    return run(x, &features);
  }

  // Two stride-2 stages; the blocks' reflection pad of 1 needs a side of 2 there.
  int64_t size_multiple() const override { return 4; }
  int64_t min_side() const override { return 8; }
  const CycleGanGeneratorOptions& options() const override { return options_; }

  int64_t num_blocks() const override { return static_cast<int64_t>(enabled_.size()); }
  void set_block_enabled(int64_t block, bool enabled) override { enabled_[index(block)] = enabled; }
  bool block_enabled(int64_t block) const override { return enabled_[index(block)]; }

 private:
  size_t index(int64_t block) const {
    if (block < 1 || block > num_blocks())
      throw OptionError("block", "residual block " + std::to_string(block) + " does not exist; valid: 1.." +
                                     std::to_string(num_blocks()));
    return static_cast<size_t>(block - 1);
  }

  // run() as graph nodes: the enabled blocks in order.
  std::string to_onnx(OnnxGraph& g, const std::string& x, const std::string& path) const override {
    std::string y = x;
    size_t i = 0;
    for (const auto& child : model_->children()) {
      const bool is_block = i >= kFirstBlock && i < kFirstBlock + enabled_.size();
      if (!is_block || enabled_[i - kFirstBlock]) y = onnx_forward(*child, g, y, path + ".model." + std::to_string(i));
      ++i;
    }
    return y;
  }

  at::Tensor run(at::Tensor x, Activations* features) {
    const size_t blocks = enabled_.size();
    for (size_t i = 0; i < model_->size(); ++i) {
      const bool is_block = i >= kFirstBlock && i < kFirstBlock + blocks;
      if (!is_block || enabled_[i - kFirstBlock]) x = call(model_, i, x);
      if (int8_ && i + 1 == kFirstBlock) {  // the end of the float stem: model.8's quantisation
        auto* norm = dynamic_cast<InstanceNormImpl*>(model_->ptr(kFirstBlock - 2).get());
        x = quantize(x, norm->int8_points().front().second->params);
      }
      if (features && i + 1 == kFirstBlock) features->emplace_back("down", to_float32(x));
      if (features && is_block) features->emplace_back("block" + std::to_string(i - kFirstBlock + 1), to_float32(x));
    }
    return x;
  }

  CycleGanGeneratorOptions options_;
  nn::Sequential model_{nullptr};
  std::vector<bool> enabled_;
  bool int8_ = false;
};

// ---- U-Net generator ---------------------------------------------------------------------------------

class UnetBlockImpl : public nn::Module, public OnnxExportable {
 public:
  enum Kind { kOutermost, kMiddle, kInnermost };

  // outer/inner: channels outside (what the block returns before the skip concatenation) and inside.
  UnetBlockImpl(Kind kind, int64_t outer, int64_t inner, int64_t input_nc, std::shared_ptr<UnetBlockImpl> sub,
                const std::string& norm, bool dropout)
      : kind_(kind) {
    const bool bias = norm == "instance";
    model = register_module("model", nn::Sequential());
    auto upconv = [&](int64_t in, bool b) {
      return AnyPrecisionConvTranspose2d(nn::ConvTranspose2dOptions(in, outer, 4).stride(2).padding(1).bias(b));
    };
    if (kind == kOutermost) {
      model->push_back(conv(input_nc, inner, 4, 2, 1, bias));
      model->push_back(sub);
      model->push_back(nn::ReLU());
      model->push_back(upconv(inner * 2, true));
      model->push_back(nn::Tanh());
    } else if (kind == kInnermost) {
      model->push_back(leaky_relu());
      model->push_back(conv(input_nc, inner, 4, 2, 1, bias));
      model->push_back(nn::ReLU());
      model->push_back(upconv(inner, bias));
      model->push_back(norm_layer(norm, outer));
    } else {
      model->push_back(leaky_relu());
      model->push_back(conv(input_nc, inner, 4, 2, 1, bias));
      model->push_back(norm_layer(norm, inner));
      model->push_back(sub);
      model->push_back(nn::ReLU());
      model->push_back(upconv(inner * 2, bias));
      model->push_back(norm_layer(norm, outer));
      if (dropout) model->push_back(nn::Dropout(0.5));
    }
  }

  at::Tensor forward(const at::Tensor& x) {
    if (kind_ == kOutermost) return model->forward(x);
    // networks.py's LeakyReLU(0.2, inplace=True) at model[0] overwrites x before torch.cat reads it,
    // so the skip connection carries LeakyReLU(x), not x. (The enclosing block's next layer is a ReLU,
    // and ReLU(LeakyReLU(x)) = ReLU(x), so the generator's output is the same either way.)
    at::Tensor skip = at::leaky_relu(x, 0.2);
    return at::cat({skip, run_from(model, 1, skip)}, 1);
  }

  std::string to_onnx(OnnxGraph& g, const std::string& x, const std::string& path) const override {
    if (kind_ == kOutermost) return onnx_forward(*model, g, x, path + ".model");
    const std::string skip = g.node("LeakyRelu", {x}, {OnnxAttribute::real("alpha", 0.2f)}, path + ".skip");
    std::string y = skip;
    size_t i = 0;
    for (const auto& child : model->children())
      if (i++ > 0) y = onnx_forward(*child, g, y, path + ".model." + std::to_string(i - 1));
    return g.node("Concat", {skip, y}, {OnnxAttribute::integer("axis", 1)}, path);
  }

  nn::Sequential model{nullptr};

 private:
  Kind kind_;
};

class UnetGeneratorConcrete : public CycleGanGeneratorImpl, public OnnxExportable {
 public:
  UnetGeneratorConcrete(const CycleGanGeneratorOptions& o, int64_t num_downs) : options_(o), num_downs_(num_downs) {
    using Kind = UnetBlockImpl::Kind;
    const int64_t ngf = o.ngf;
    auto block = std::make_shared<UnetBlockImpl>(Kind::kInnermost, ngf * 8, ngf * 8, ngf * 8, nullptr, o.norm, false);
    for (int64_t i = 0; i < num_downs - 5; ++i)
      block = std::make_shared<UnetBlockImpl>(Kind::kMiddle, ngf * 8, ngf * 8, ngf * 8, block, o.norm, o.dropout);
    block = std::make_shared<UnetBlockImpl>(Kind::kMiddle, ngf * 4, ngf * 8, ngf * 4, block, o.norm, false);
    block = std::make_shared<UnetBlockImpl>(Kind::kMiddle, ngf * 2, ngf * 4, ngf * 2, block, o.norm, false);
    block = std::make_shared<UnetBlockImpl>(Kind::kMiddle, ngf, ngf * 2, ngf, block, o.norm, false);
    model_ = register_module(
        "model", std::make_shared<UnetBlockImpl>(Kind::kOutermost, o.output_nc, ngf, o.input_nc, block, o.norm, false));
  }

  at::Tensor forward(const at::Tensor& x) override { return model_->forward(x); }
  at::Tensor forward_with_features(const at::Tensor& x, Activations& features) override {
    features.clear();
    return forward(x);
  }
  std::string to_onnx(OnnxGraph& g, const std::string& x, const std::string& path) const override {
    return onnx_forward(*model_, g, x, path + ".model");
  }
  int64_t size_multiple() const override { return int64_t{1} << num_downs_; }
  int64_t min_side() const override { return size_multiple(); }
  const CycleGanGeneratorOptions& options() const override { return options_; }

 private:
  CycleGanGeneratorOptions options_;
  int64_t num_downs_;
  std::shared_ptr<UnetBlockImpl> model_;
};

// ---- discriminators ----------------------------------------------------------------------------------

class NLayerDiscriminatorConcrete : public CycleGanDiscriminatorImpl {
 public:
  NLayerDiscriminatorConcrete(const CycleGanDiscriminatorOptions& o, int64_t n_layers)
      : options_(o), n_layers_(n_layers) {
    const bool bias = o.norm == "instance";
    model_ = register_module("model", nn::Sequential());
    model_->push_back(conv(o.input_nc, o.ndf, 4, 2, 1, true));
    model_->push_back(leaky_relu());
    int64_t mult = 1;
    for (int64_t n = 1; n < n_layers; ++n) {
      const int64_t prev = mult;
      mult = std::min<int64_t>(int64_t{1} << n, 8);
      model_->push_back(conv(o.ndf * prev, o.ndf * mult, 4, 2, 1, bias));
      model_->push_back(norm_layer(o.norm, o.ndf * mult));
      model_->push_back(leaky_relu());
    }
    const int64_t prev = mult;
    mult = std::min<int64_t>(int64_t{1} << std::min<int64_t>(n_layers, 3), 8);
    model_->push_back(conv(o.ndf * prev, o.ndf * mult, 4, 1, 1, bias));
    model_->push_back(norm_layer(o.norm, o.ndf * mult));
    model_->push_back(leaky_relu());
    model_->push_back(conv(o.ndf * mult, 1, 4, 1, 1, true));
  }

  at::Tensor forward(const at::Tensor& x) override { return model_->forward(x); }

  // Receptive field of the stacked 4x4 convs (n_layers of stride 2, then two of stride 1):
  // r = 1 + sum_i (k - 1) * prod_{j<i} s_j, which is 70 for n_layers = 3 (pix2pix's "70x70 PatchGAN").
  int64_t receptive_field() const override {
    int64_t r = 1, jump = 1;
    for (int64_t i = 0; i < n_layers_ + 2; ++i) {
      r += 3 * jump;
      if (i < n_layers_) jump *= 2;
    }
    return r;
  }
  const CycleGanDiscriminatorOptions& options() const override { return options_; }

 private:
  CycleGanDiscriminatorOptions options_;
  int64_t n_layers_;
  nn::Sequential model_{nullptr};
};

class PixelDiscriminatorConcrete : public CycleGanDiscriminatorImpl {
 public:
  explicit PixelDiscriminatorConcrete(const CycleGanDiscriminatorOptions& o) : options_(o) {
    const bool bias = o.norm == "instance";
    net_ = register_module("net", nn::Sequential());
    net_->push_back(conv(o.input_nc, o.ndf, 1, 1, 0, true));
    net_->push_back(leaky_relu());
    net_->push_back(conv(o.ndf, o.ndf * 2, 1, 1, 0, bias));
    net_->push_back(norm_layer(o.norm, o.ndf * 2));
    net_->push_back(leaky_relu());
    net_->push_back(conv(o.ndf * 2, 1, 1, 1, 0, bias));
  }

  at::Tensor forward(const at::Tensor& x) override { return net_->forward(x); }
  int64_t receptive_field() const override { return 1; }
  const CycleGanDiscriminatorOptions& options() const override { return options_; }

 private:
  CycleGanDiscriminatorOptions options_;
  nn::Sequential net_{nullptr};
};

// ---- checkpoints -------------------------------------------------------------------------------------

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const at::Tensor& require(const StateDict& dict, const std::string& key, const std::string& source, int64_t dim,
                          const std::string& what) {
  const at::Tensor* t = find_tensor(dict, key);
  if (!t) throw FormatError(source, "missing key '" + key + "' (" + what + ")");
  if (t->dim() != dim)
    throw FormatError(source, "'" + key + "' should have " + std::to_string(dim) + " dimensions, has shape " +
                                  c10::str(t->sizes()));
  return *t;
}

bool has(const StateDict& dict, const std::string& key) { return find_tensor(dict, key) != nullptr; }

// Pads canonical images at the bottom and right to `padded` sides: reflection where the padding is
// smaller than the side (PyTorch's requirement), replication otherwise.
at::Tensor pad_to(const at::Tensor& x, int64_t ph, int64_t pw) {
  if (ph == 0 && pw == 0) return x;
  if (ph < x.size(2) && pw < x.size(3)) return at::reflection_pad2d(x, {0, pw, 0, ph});
  return at::replication_pad2d(x, {0, pw, 0, ph});
}

int64_t padded_side(int64_t side, int64_t multiple, int64_t min_side) {
  return std::max((side + multiple - 1) / multiple * multiple, min_side);
}

}  // namespace

std::vector<std::string> cyclegan_generator_names() { return kGeneratorNames; }
std::vector<std::string> cyclegan_discriminator_names() { return kDiscriminatorNames; }

CycleGanGenerator make_cyclegan_generator(const CycleGanGeneratorOptions& o) {
  const GeneratorShape shape = parse_generator_arch(o.arch);
  check_positive(o.input_nc, "input_nc");
  check_positive(o.output_nc, "output_nc");
  check_positive(o.ngf, "ngf");
  check_norm(o.norm);
  if (shape.resnet) return std::make_shared<ResnetGeneratorConcrete>(o, shape.blocks);
  return std::make_shared<UnetGeneratorConcrete>(o, shape.num_downs);
}

CycleGanDiscriminator make_cyclegan_discriminator(const CycleGanDiscriminatorOptions& o) {
  if (std::find(kDiscriminatorNames.begin(), kDiscriminatorNames.end(), o.arch) == kDiscriminatorNames.end())
    throw OptionError("arch", "unknown CycleGAN discriminator '" + o.arch + "'; valid: " + join(kDiscriminatorNames));
  check_positive(o.input_nc, "input_nc");
  check_positive(o.ndf, "ndf");
  check_norm(o.norm);
  if (o.arch == "pixel") return std::make_shared<PixelDiscriminatorConcrete>(o);
  if (o.arch == "basic") return std::make_shared<NLayerDiscriminatorConcrete>(o, 3);
  if (o.n_layers < 0) throw OptionError("n_layers", "must not be negative, got " + std::to_string(o.n_layers));
  return std::make_shared<NLayerDiscriminatorConcrete>(o, o.n_layers);
}

at::Tensor translate(CycleGanGeneratorImpl& generator, const at::Tensor& image, Activations* features) {
  const int64_t channels = generator.options().input_nc;
  if (image.dim() != 4 || image.size(1) != channels || image.size(2) < 1 || image.size(3) < 1)
    throw SourceError("image", "the generator expects a batch [N," + std::to_string(channels) + ",H,W], got shape " +
                                   c10::str(image.sizes()));
  const int64_t h = image.size(2), w = image.size(3);
  const int64_t m = generator.size_multiple(), s = generator.min_side();
  const at::Tensor x = pad_to(to_gan_range(image), padded_side(h, m, s) - h, padded_side(w, m, s) - w);
  // In the network's precision from the first layer to the last (nn/precision.h); an int8 network's
  // float stem in bf16 where the CPU has it (nn/int8.h).
  const Precision precision = module_precision(generator);
  const Precision stem = int8_stem_in_bf16(x.device()) ? Precision::bf16 : Precision::fp32;
  const at::Tensor input = to_precision(x, precision == Precision::int8 ? stem : precision);
  const at::Tensor y = to_float32(features ? generator.forward_with_features(input, *features) : generator.forward(input));
  return from_gan_range(y.narrow(2, 0, h).narrow(3, 0, w));
}

at::Tensor patch_logits(CycleGanDiscriminatorImpl& discriminator, const at::Tensor& image) {
  return discriminator.forward(to_gan_range(image));
}

CycleGanGeneratorOptions infer_cyclegan_generator_options(const StateDict& dict, const std::string& source) {
  CycleGanGeneratorOptions o;
  if (has(dict, "model.model.0.weight")) {
    // U-Net: the outermost block's down conv, its up conv (ConvTranspose weights are [in, out, k, k]),
    // then the chain of sub-blocks: model.model.1, then .model.3 for every level below.
    const at::Tensor& down = require(dict, "model.model.0.weight", source, 4, "the U-Net's first conv");
    const at::Tensor& up = require(dict, "model.model.3.weight", source, 4, "the U-Net's last conv");
    o.ngf = down.size(0);
    o.input_nc = down.size(1);
    o.output_nc = up.size(1);
    std::string prefix = "model.model.1";
    require(dict, prefix + ".model.1.weight", source, 4, "the U-Net's second level");
    int64_t levels = 2;
    while (has(dict, prefix + ".model.3.model.1.weight")) {
      prefix += ".model.3";
      ++levels;
    }
    if (levels < 5)
      throw FormatError(source, "a U-Net with " + std::to_string(levels) +
                                    " levels; networks.py's UnetGenerator has at least 5 (unet_32)");
    o.arch = "unet_" + std::to_string(int64_t{1} << levels);
    o.norm = has(dict, "model.model.1.model.2.weight") ? "batch" : "instance";
    o.dropout = false;  // Dropout holds no weights; it only acts in train mode
    return o;
  }
  if (has(dict, "model.1.weight")) {
    const at::Tensor& first = require(dict, "model.1.weight", source, 4, "the ResNet generator's first conv");
    o.ngf = first.size(0);
    o.input_nc = first.size(1);
    o.norm = has(dict, "model.2.weight") ? "batch" : "instance";
    int64_t blocks = 0;
    while (has(dict, "model." + std::to_string(kFirstBlock + blocks) + ".conv_block.1.weight")) ++blocks;
    // With dropout, Dropout(0.5) is conv_block.4 and the second conv moves from .5 to .6 (without it,
    // .6 is the norm, whose batch-norm weight is 1-d).
    const at::Tensor* shifted = find_tensor(dict, "model." + std::to_string(kFirstBlock) + ".conv_block.6.weight");
    o.dropout = blocks > 0 && shifted && shifted->dim() == 4;
    const std::string last = "model." + std::to_string(kFirstBlock + blocks + 7) + ".weight";
    o.output_nc = require(dict, last, source, 4, "the ResNet generator's last conv").size(0);
    o.arch = "resnet_" + std::to_string(blocks) + "blocks";
    return o;
  }
  throw FormatError(source, "not a CycleGAN/pix2pix generator: neither 'model.1.weight' (ResnetGenerator) nor "
                            "'model.model.0.weight' (UnetGenerator)");
}

CycleGanDiscriminatorOptions infer_cyclegan_discriminator_options(const StateDict& dict, const std::string& source) {
  CycleGanDiscriminatorOptions o;
  if (has(dict, "net.0.weight")) {
    const at::Tensor& first = require(dict, "net.0.weight", source, 4, "the pixel discriminator's first conv");
    o.arch = "pixel";
    o.ndf = first.size(0);
    o.input_nc = first.size(1);
    o.norm = has(dict, "net.3.weight") ? "batch" : "instance";
    return o;
  }
  if (has(dict, "model.0.weight")) {
    const at::Tensor& first = require(dict, "model.0.weight", source, 4, "the PatchGAN's first conv");
    o.ndf = first.size(0);
    o.input_nc = first.size(1);
    // Convs are the 4-d `model.N.weight`s (batch-norm weights are 1-d): n_layers + 2 of them.
    static const std::regex weight("model\\.[0-9]+\\.weight");
    int64_t convs = 0;
    for (const auto& [key, t] : dict)
      if (t.dim() == 4 && std::regex_match(key, weight)) ++convs;
    if (convs < 2) throw FormatError(source, "a PatchGAN needs at least two convs, found " + std::to_string(convs));
    o.n_layers = convs - 2;
    o.arch = o.n_layers == 3 ? "basic" : "n_layers";
    o.norm = has(dict, "model.3.weight") ? "batch" : "instance";
    return o;
  }
  throw FormatError(source, "not a CycleGAN/pix2pix discriminator: neither 'model.0.weight' (NLayerDiscriminator) "
                            "nor 'net.0.weight' (PixelDiscriminator)");
}

void load_cyclegan_weights(torch::nn::Module& net, const StateDict& dict, const std::string& source) {
  std::set<std::string> instance_norms;
  for (const auto& item : net.named_modules("", /*include_self=*/false))
    if (item.value()->as<InstanceNormImpl>()) instance_norms.insert(item.key());
  StateDict kept;
  std::set<std::string> present;
  for (const auto& [key, tensor] : dict) {
    const size_t dot = key.rfind('.');
    const std::string module = dot == std::string::npos ? "" : key.substr(0, dot);
    const std::string leaf = dot == std::string::npos ? key : key.substr(dot + 1);
    // Instance norm statistics from PyTorch < 0.4 (see the header): ignored.
    if ((leaf == "running_mean" || leaf == "running_var") && instance_norms.count(module)) continue;
    kept.emplace_back(key, tensor);
    present.insert(key);
  }
  // Unexpected keys, shape mismatches and missing parameters.
  load_state_dict(net, kept, source);
  // Missing buffers (batch-norm running statistics); num_batches_tracked only matters for a momentum
  // of None, and PyTorch sets it to 0 when a pre-0.4.1 checkpoint lacks it.
  for (const auto& item : net.named_buffers(/*recurse=*/true))
    if (!present.count(item.key()) && !ends_with(item.key(), ".num_batches_tracked"))
      throw FormatError(source, "missing key '" + item.key() + "'");
}

CycleGanGenerator load_cyclegan_generator(const std::string& path, c10::Device device) {
  return load_cyclegan_generator(load_weights(path), path, device);
}

CycleGanGenerator load_cyclegan_generator(const StateDict& dict, const std::string& source, c10::Device device) {
  auto net = make_cyclegan_generator(infer_cyclegan_generator_options(dict, source));
  load_cyclegan_weights(*net, dict, source);
  net->to(device);
  net->eval();
  return net;
}

CycleGanDiscriminator load_cyclegan_discriminator(const std::string& path, c10::Device device) {
  const StateDict dict = load_weights(path);
  auto net = make_cyclegan_discriminator(infer_cyclegan_discriminator_options(dict, path));
  load_cyclegan_weights(*net, dict, path);
  net->to(device);
  net->eval();
  return net;
}

}  // namespace impasto
