// Golden tests: SNConv2d / SNLinear / spectral_normalise against torch.nn.utils.spectral_norm
// (PyTorch 1.13) on the states written by tools/make_gan_fixtures.py: the same state dict keys, one
// training-mode forward (power-iteration update of u and v, output, gradients through sigma) and an
// eval-mode forward, within 1e-5 for u, v, sigma and 1e-4 for layer outputs and gradients.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <set>

#include "impasto/io/weights.h"
#include "impasto/nn/backbone.h"
#include "impasto/nn/spectral_norm.h"
#include "tensor_support.h"
#include "test_support.h"

using namespace impasto;
using namespace impasto::test;

namespace {

constexpr double kVectorTolerance = 1e-5;
constexpr double kOutputTolerance = 1e-4;

// One training forward + backward of output.sum(), then one eval forward; compared with `prefix`.
template <class Layer>
void check_layer(Layer& layer, const std::map<std::string, at::Tensor>& ref, const std::string& prefix) {
  const StateDict initial = sub_dict(ref, prefix + "initial.");
  EXPECT_EQ(keys_of(module_state_dict(*layer)), keys_of(initial));
  load_state_dict(*layer, initial, prefix + "initial");
  const at::Tensor x = ref.at(prefix + "x");

  layer->train();
  at::Tensor out = layer->forward(x);
  EXPECT_LE(max_error(out, ref.at(prefix + "train.output")), kOutputTolerance);
  EXPECT_LE(max_error(layer->weight_u, ref.at(prefix + "train.weight_u")), kVectorTolerance);
  EXPECT_LE(max_error(layer->weight_v, ref.at(prefix + "train.weight_v")), kVectorTolerance);
  const at::Tensor w_mat = layer->weight_orig.detach().reshape({layer->weight_orig.size(0), -1});
  const at::Tensor sigma = torch::dot(layer->weight_u, torch::mv(w_mat, layer->weight_v));
  EXPECT_LE(max_error(sigma, ref.at(prefix + "train.sigma")), kVectorTolerance);
  out.sum().backward();
  EXPECT_LE(max_error(layer->weight_orig.grad(), ref.at(prefix + "train.grad_weight_orig")), kOutputTolerance);
  EXPECT_LE(max_error(layer->bias.grad(), ref.at(prefix + "train.grad_bias")), kOutputTolerance);

  layer->eval();
  const at::Tensor u = layer->weight_u.clone();
  torch::NoGradGuard no_grad;
  EXPECT_LE(max_error(layer->forward(x), ref.at(prefix + "eval.output")), kOutputTolerance);
  EXPECT_TRUE(torch::equal(u, layer->weight_u)) << "eval mode must not update u";
}

}  // namespace

TEST(SpectralNorm, Conv2dMatchesPyTorchHook) {
  auto ref = load_fixture_map("gan/spectral_norm.pth");
  SNConv2d conv(torch::nn::Conv2dOptions(3, 5, 3));
  check_layer(conv, ref, "conv.");
}

TEST(SpectralNorm, LinearMatchesPyTorchHook) {
  auto ref = load_fixture_map("gan/spectral_norm.pth");
  SNLinear linear(torch::nn::LinearOptions(6, 4));
  check_layer(linear, ref, "linear.");
}

TEST(SpectralNorm, SeveralPowerIterationsMatchPyTorch) {
  auto ref = load_fixture_map("gan/spectral_norm.pth");
  const StateDict initial = sub_dict(ref, "linear5.initial.");
  at::Tensor w = find_tensor(initial, "weight_orig")->clone();
  at::Tensor u = find_tensor(initial, "weight_u")->clone();
  at::Tensor v = find_tensor(initial, "weight_v")->clone();
  at::Tensor normalised = spectral_normalise(w, u, v, /*update=*/true, /*iterations=*/5);
  EXPECT_LE(max_error(normalised, ref.at("linear5.weight")), kVectorTolerance);
  EXPECT_LE(max_error(u, ref.at("linear5.weight_u")), kVectorTolerance);
  EXPECT_LE(max_error(v, ref.at("linear5.weight_v")), kVectorTolerance);
}

TEST(SpectralNorm, StateDictKeysAreThoseOfPyTorch) {
  SNConv2d with_bias(torch::nn::Conv2dOptions(2, 3, 3));
  EXPECT_EQ(keys_of(module_state_dict(*with_bias)),
            (std::set<std::string>{"weight_orig", "bias", "weight_u", "weight_v"}));
  SNConv2d no_bias(torch::nn::Conv2dOptions(2, 3, 3).bias(false));
  EXPECT_EQ(keys_of(module_state_dict(*no_bias)), (std::set<std::string>{"weight_orig", "weight_u", "weight_v"}));
  EXPECT_EQ(no_bias->weight_u.sizes(), (std::vector<int64_t>{3}));
  EXPECT_EQ(no_bias->weight_v.sizes(), (std::vector<int64_t>{2 * 3 * 3}));
  EXPECT_NEAR(no_bias->weight_u.norm().item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(no_bias->weight_v.norm().item<double>(), 1.0, 1e-6);
  EXPECT_EQ(no_bias->parameters().size(), 1u);
}
