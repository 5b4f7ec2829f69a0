#include "impasto/nn/inception.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <functional>

namespace impasto {

const char* const kFidInceptionWeightsFile = "pt_inception-2015-12-05-6726825d.pth";
const char* const kFidInceptionWeightsUrl =
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth";

at::Tensor inception_normalise(const at::Tensor& image) { return image * 2.0 - 1.0; }

at::Tensor inception_resize(const at::Tensor& image) {
  namespace F = torch::nn::functional;
  return F::interpolate(image, F::InterpolateFuncOptions()
                                   .size(std::vector<int64_t>{299, 299})
                                   .mode(torch::kBilinear)
                                   .align_corners(false));
}

namespace {

struct Kernel {
  int64_t kh, kw, stride = 1, ph = 0, pw = 0;
};

// Reads each conv's width from the state dict and checks it against the topology: the kernel size
// must be the architecture's and the input channels what the previous layers produce.
class ShapeReader {
 public:
  ShapeReader(const StateDict& dict, std::string source) : dict_(dict), source_(std::move(source)) {}

  // Output channels of the BasicConv2d at `prefix` (key `<prefix>.conv.weight`).
  int64_t conv_out(const std::string& prefix, int64_t in, const Kernel& k) const {
    const std::string key = prefix + ".conv.weight";
    const at::Tensor* w = find_tensor(dict_, key);
    if (!w) throw FormatError(source_, "missing key '" + key + "' (is this pytorch-fid's Inception weight file?)");
    if (w->dim() != 4 || w->size(2) != k.kh || w->size(3) != k.kw || w->size(0) < 1)
      throw FormatError(source_, "'" + key + "' has shape " + shape(*w) + "; the FID Inception has a " +
                                     std::to_string(k.kh) + "x" + std::to_string(k.kw) + " conv there");
    if (w->size(1) != in)
      throw FormatError(source_, "'" + key + "' takes " + std::to_string(w->size(1)) +
                                     " input channels but the layers before it give " + std::to_string(in));
    return w->size(0);
  }

  // [classes, features] of fc.weight, checked against the pool3 width.
  int64_t fc_classes(int64_t features) const {
    const at::Tensor* w = find_tensor(dict_, "fc.weight");
    if (!w) throw FormatError(source_, "missing key 'fc.weight' (pytorch-fid's file has the 1008-way classifier)");
    if (w->dim() != 2 || w->size(1) != features || w->size(0) < 1)
      throw FormatError(source_, "'fc.weight' has shape " + shape(*w) + "; expected [classes, " +
                                     std::to_string(features) + "]");
    return w->size(0);
  }

 private:
  static std::string shape(const at::Tensor& t) {
    std::string s = "[";
    for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
    return s + "]";
  }
  const StateDict& dict_;
  std::string source_;
};

// torchvision's BasicConv2d: conv (no bias), BatchNorm2d(eps=0.001), ReLU.
struct BasicConv2dImpl : torch::nn::Module {
  BasicConv2dImpl(int64_t in, int64_t out, const Kernel& k) {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, {k.kh, k.kw})
                                                          .stride(k.stride)
                                                          .padding(torch::ExpandingArray<2>({k.ph, k.pw}))
                                                          .bias(false)));
    bn = register_module("bn", torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(out).eps(0.001)));
  }
  at::Tensor forward(const at::Tensor& x) { return torch::relu(bn(conv(x))); }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
};
TORCH_MODULE(BasicConv2d);

// A mixed block: its BasicConv2d branches are created from the file's widths by `add`.
class MixedBlock : public torch::nn::Module {
 public:
  virtual at::Tensor forward(const at::Tensor& x) = 0;
  int64_t out_channels() const { return out_; }

 protected:
  explicit MixedBlock(std::string prefix) : prefix_(std::move(prefix)) {}

  BasicConv2d add(const ShapeReader& reader, const std::string& name, int64_t in, const Kernel& k) {
    const int64_t out = reader.conv_out(prefix_ + "." + name, in, k);
    return register_module(name, BasicConv2d(in, out, k));
  }
  static int64_t width(const BasicConv2d& c) { return c->conv->options.out_channels(); }

  int64_t out_ = 0;

 private:
  std::string prefix_;
};

// The pooling branch's input in the A, C and E_1 blocks: 3x3 average without the padded zeros
// (pytorch-fid's patch; torchvision's blocks count them).
at::Tensor tf_avg_pool(const at::Tensor& x) {
  return torch::avg_pool2d(x, {3, 3}, {1, 1}, {1, 1}, /*ceil_mode=*/false, /*count_include_pad=*/false);
}

// FIDInceptionA (Mixed_5b, 5c, 5d).
class BlockA : public MixedBlock {
 public:
  BlockA(const ShapeReader& r, const std::string& prefix, int64_t in) : MixedBlock(prefix) {
    b1x1_ = add(r, "branch1x1", in, {1, 1});
    b5x5_1_ = add(r, "branch5x5_1", in, {1, 1});
    b5x5_2_ = add(r, "branch5x5_2", width(b5x5_1_), {5, 5, 1, 2, 2});
    b3dbl_1_ = add(r, "branch3x3dbl_1", in, {1, 1});
    b3dbl_2_ = add(r, "branch3x3dbl_2", width(b3dbl_1_), {3, 3, 1, 1, 1});
    b3dbl_3_ = add(r, "branch3x3dbl_3", width(b3dbl_2_), {3, 3, 1, 1, 1});
    bpool_ = add(r, "branch_pool", in, {1, 1});
    out_ = width(b1x1_) + width(b5x5_2_) + width(b3dbl_3_) + width(bpool_);
  }
  at::Tensor forward(const at::Tensor& x) override {
    return torch::cat({b1x1_(x), b5x5_2_(b5x5_1_(x)), b3dbl_3_(b3dbl_2_(b3dbl_1_(x))), bpool_(tf_avg_pool(x))}, 1);
  }

 private:
  BasicConv2d b1x1_{nullptr}, b5x5_1_{nullptr}, b5x5_2_{nullptr}, b3dbl_1_{nullptr}, b3dbl_2_{nullptr},
      b3dbl_3_{nullptr}, bpool_{nullptr};
};

// InceptionB (Mixed_6a): grid reduction 35 -> 17; the max-pooled input passes through.
class BlockB : public MixedBlock {
 public:
  BlockB(const ShapeReader& r, const std::string& prefix, int64_t in) : MixedBlock(prefix) {
    b3x3_ = add(r, "branch3x3", in, {3, 3, 2});
    b3dbl_1_ = add(r, "branch3x3dbl_1", in, {1, 1});
    b3dbl_2_ = add(r, "branch3x3dbl_2", width(b3dbl_1_), {3, 3, 1, 1, 1});
    b3dbl_3_ = add(r, "branch3x3dbl_3", width(b3dbl_2_), {3, 3, 2});
    out_ = width(b3x3_) + width(b3dbl_3_) + in;
  }
  at::Tensor forward(const at::Tensor& x) override {
    return torch::cat({b3x3_(x), b3dbl_3_(b3dbl_2_(b3dbl_1_(x))), torch::max_pool2d(x, {3, 3}, {2, 2})}, 1);
  }

 private:
  BasicConv2d b3x3_{nullptr}, b3dbl_1_{nullptr}, b3dbl_2_{nullptr}, b3dbl_3_{nullptr};
};

// FIDInceptionC (Mixed_6b .. 6e): factorised 7x7 convolutions.
class BlockC : public MixedBlock {
 public:
  BlockC(const ShapeReader& r, const std::string& prefix, int64_t in) : MixedBlock(prefix) {
    const Kernel k1x7{1, 7, 1, 0, 3}, k7x1{7, 1, 1, 3, 0};
    b1x1_ = add(r, "branch1x1", in, {1, 1});
    b7_1_ = add(r, "branch7x7_1", in, {1, 1});
    b7_2_ = add(r, "branch7x7_2", width(b7_1_), k1x7);
    b7_3_ = add(r, "branch7x7_3", width(b7_2_), k7x1);
    bd_1_ = add(r, "branch7x7dbl_1", in, {1, 1});
    bd_2_ = add(r, "branch7x7dbl_2", width(bd_1_), k7x1);
    bd_3_ = add(r, "branch7x7dbl_3", width(bd_2_), k1x7);
    bd_4_ = add(r, "branch7x7dbl_4", width(bd_3_), k7x1);
    bd_5_ = add(r, "branch7x7dbl_5", width(bd_4_), k1x7);
    bpool_ = add(r, "branch_pool", in, {1, 1});
    out_ = width(b1x1_) + width(b7_3_) + width(bd_5_) + width(bpool_);
  }
  at::Tensor forward(const at::Tensor& x) override {
    return torch::cat({b1x1_(x), b7_3_(b7_2_(b7_1_(x))), bd_5_(bd_4_(bd_3_(bd_2_(bd_1_(x))))), bpool_(tf_avg_pool(x))},
                      1);
  }

 private:
  BasicConv2d b1x1_{nullptr}, b7_1_{nullptr}, b7_2_{nullptr}, b7_3_{nullptr}, bd_1_{nullptr}, bd_2_{nullptr},
      bd_3_{nullptr}, bd_4_{nullptr}, bd_5_{nullptr}, bpool_{nullptr};
};

// InceptionD (Mixed_7a): grid reduction 17 -> 8; the max-pooled input passes through.
class BlockD : public MixedBlock {
 public:
  BlockD(const ShapeReader& r, const std::string& prefix, int64_t in) : MixedBlock(prefix) {
    b3_1_ = add(r, "branch3x3_1", in, {1, 1});
    b3_2_ = add(r, "branch3x3_2", width(b3_1_), {3, 3, 2});
    b7_1_ = add(r, "branch7x7x3_1", in, {1, 1});
    b7_2_ = add(r, "branch7x7x3_2", width(b7_1_), {1, 7, 1, 0, 3});
    b7_3_ = add(r, "branch7x7x3_3", width(b7_2_), {7, 1, 1, 3, 0});
    b7_4_ = add(r, "branch7x7x3_4", width(b7_3_), {3, 3, 2});
    out_ = width(b3_2_) + width(b7_4_) + in;
  }
  at::Tensor forward(const at::Tensor& x) override {
    return torch::cat({b3_2_(b3_1_(x)), b7_4_(b7_3_(b7_2_(b7_1_(x)))), torch::max_pool2d(x, {3, 3}, {2, 2})}, 1);
  }

 private:
  BasicConv2d b3_1_{nullptr}, b3_2_{nullptr}, b7_1_{nullptr}, b7_2_{nullptr}, b7_3_{nullptr}, b7_4_{nullptr};
};

// FIDInceptionE_1 (Mixed_7b, average pooling without the padded zeros) and FIDInceptionE_2
// (Mixed_7c, max pooling: the TF graph's choice, kept by pytorch-fid).
class BlockE : public MixedBlock {
 public:
  BlockE(const ShapeReader& r, const std::string& prefix, int64_t in, bool max_pool)
      : MixedBlock(prefix), max_pool_(max_pool) {
    const Kernel k1x3{1, 3, 1, 0, 1}, k3x1{3, 1, 1, 1, 0};
    b1x1_ = add(r, "branch1x1", in, {1, 1});
    b3_1_ = add(r, "branch3x3_1", in, {1, 1});
    b3_2a_ = add(r, "branch3x3_2a", width(b3_1_), k1x3);
    b3_2b_ = add(r, "branch3x3_2b", width(b3_1_), k3x1);
    bd_1_ = add(r, "branch3x3dbl_1", in, {1, 1});
    bd_2_ = add(r, "branch3x3dbl_2", width(bd_1_), {3, 3, 1, 1, 1});
    bd_3a_ = add(r, "branch3x3dbl_3a", width(bd_2_), k1x3);
    bd_3b_ = add(r, "branch3x3dbl_3b", width(bd_2_), k3x1);
    bpool_ = add(r, "branch_pool", in, {1, 1});
    out_ = width(b1x1_) + width(b3_2a_) + width(b3_2b_) + width(bd_3a_) + width(bd_3b_) + width(bpool_);
  }
  at::Tensor forward(const at::Tensor& x) override {
    auto b3 = b3_1_(x);
    auto bd = bd_2_(bd_1_(x));
    auto pooled = max_pool_ ? torch::max_pool2d(x, {3, 3}, {1, 1}, {1, 1}) : tf_avg_pool(x);
    return torch::cat({b1x1_(x), b3_2a_(b3), b3_2b_(b3), bd_3a_(bd), bd_3b_(bd), bpool_(pooled)}, 1);
  }

 private:
  bool max_pool_;
  BasicConv2d b1x1_{nullptr}, b3_1_{nullptr}, b3_2a_{nullptr}, b3_2b_{nullptr}, bd_1_{nullptr}, bd_2_{nullptr},
      bd_3a_{nullptr}, bd_3b_{nullptr}, bpool_{nullptr};
};

// Not tuned: the network is here for the metrics. Gram statistics of the stem and of the first
// mixed blocks (as for the VGGs, shallow-to-mid layers), content at the 17x17 grid.
StyleRecipe fid_inception_recipe() {
  StyleRecipe r;
  r.style_layers = {{"Conv2d_2b_3x3", 1.0}, {"Conv2d_4a_3x3", 1.0}, {"Mixed_5b", 1.0}, {"Mixed_5d", 1.0}, {"Mixed_6b", 1.0}};
  r.content_layers = {{"Mixed_6b", 1.0}};
  r.normalisation = "energy";
  return r;
}

class FidInceptionImpl : public BackboneImpl {
 public:
  FidInceptionImpl(const StateDict& dict, const std::string& source) {
    const ShapeReader reader(dict, source);
    int64_t c = 3;
    auto stem = [&](const std::string& name, const Kernel& k) {
      const int64_t out = reader.conv_out(name, c, k);
      auto conv = register_module(name, BasicConv2d(c, out, k));
      stage(name, [conv](const at::Tensor& x) { return conv->forward(x); });
      c = out;
    };
    auto maxpool = [&](const std::string& name) {
      stage(name, [](const at::Tensor& x) { return torch::max_pool2d(x, {3, 3}, {2, 2}); });
    };
    auto mixed = [&](const std::string& name, std::shared_ptr<MixedBlock> block) {
      register_module(name, block);
      stage(name, [block](const at::Tensor& x) { return block->forward(x); });
      c = block->out_channels();
    };
    stem("Conv2d_1a_3x3", {3, 3, 2});
    stem("Conv2d_2a_3x3", {3, 3});
    stem("Conv2d_2b_3x3", {3, 3, 1, 1, 1});
    maxpool("maxpool1");
    stem("Conv2d_3b_1x1", {1, 1});
    stem("Conv2d_4a_3x3", {3, 3});
    maxpool("maxpool2");
    for (const char* name : {"Mixed_5b", "Mixed_5c", "Mixed_5d"}) mixed(name, std::make_shared<BlockA>(reader, name, c));
    mixed("Mixed_6a", std::make_shared<BlockB>(reader, "Mixed_6a", c));
    for (const char* name : {"Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"})
      mixed(name, std::make_shared<BlockC>(reader, name, c));
    mixed("Mixed_7a", std::make_shared<BlockD>(reader, "Mixed_7a", c));
    mixed("Mixed_7b", std::make_shared<BlockE>(reader, "Mixed_7b", c, /*max_pool=*/false));
    mixed("Mixed_7c", std::make_shared<BlockE>(reader, "Mixed_7c", c, /*max_pool=*/true));
    // pool3: adaptive average pooling to 1x1, i.e. the spatial mean, flattened to [N, C].
    stage("pool3", [](const at::Tensor& x) { return x.mean({2, 3}); });
    fc_ = register_module("fc", torch::nn::Linear(c, reader.fc_classes(c)));
    stage("logits", [this](const at::Tensor& x) { return fc_->forward(x); });
  }

  const std::vector<std::string>& layers() const override { return names_; }

  FeatureMaps extract(const at::Tensor& image, const std::set<std::string>& taps) override {
    size_t last = 0;
    for (const auto& t : taps) {
      check_layer(t, "layers");
      last = std::max(last, static_cast<size_t>(std::find(names_.begin(), names_.end(), t) - names_.begin()));
    }
    FeatureMaps out;
    if (taps.empty()) return out;
    at::Tensor x = inception_normalise(inception_resize(image));
    for (size_t i = 0; i <= last; ++i) {
      x = stages_[i](x);
      if (taps.count(names_[i])) out[names_[i]] = x;
    }
    return out;
  }

  StyleRecipe recipe() const override { return fid_inception_recipe(); }

  std::string name() const override { return "inception"; }

 private:
  void stage(const std::string& name, std::function<at::Tensor(const at::Tensor&)> f) {
    names_.push_back(name);
    stages_.push_back(std::move(f));
  }

  std::vector<std::string> names_;
  std::vector<std::function<at::Tensor(const at::Tensor&)>> stages_;
  torch::nn::Linear fc_{nullptr};
};

}  // namespace

Backbone make_fid_inception(const StateDict& dict, const std::string& source) {
  auto model = std::make_shared<FidInceptionImpl>(dict, source);
  load_state_dict(*model, dict, source);
  return model;
}

void register_builtin_inception_backbone(BackboneRegistry& registry, BackboneInfoRegistry& infos) {
  // Its widths come from the weight file, so only the loaded network names its layers.
  infos.add("inception", [] { return BackboneInfo{{}, fid_inception_recipe(), true}; },
            "pytorch-fid's FID Inception-v3 (pt_inception-2015-12-05-6726825d.pth), for the metrics");
  registry.add(
      "inception",
      [](const BackboneOptions& o) -> Backbone {
        const std::string origin = std::string("pytorch-fid's port of the TF Inception used for FID, ") +
                                   kFidInceptionWeightsFile + " from " + kFidInceptionWeightsUrl +
                                   "; pass it with --weights FILE";
        if (o.weights.empty())
          throw FileError(kFidInceptionWeightsFile, "backbone inception needs this weight file (" + origin + ")");
        if (!std::filesystem::exists(o.weights))
          throw FileError(o.weights, "weight file not found; backbone inception needs " + origin);
        std::string file_arch;
        StateDict dict = load_weights(o.weights, &file_arch);
        if (!file_arch.empty() && file_arch != "inception")
          throw FormatError(o.weights, "checkpoint is for architecture '" + file_arch + "', not inception");
        return make_fid_inception(dict, o.weights);
      },
      "pytorch-fid's FID Inception-v3 (pt_inception-2015-12-05-6726825d.pth), for the metrics");
}

}  // namespace impasto
