// nn/winograd.h: the backbones' 3x3 convolutions through oneDNN's Winograd kernels must give
// LibTorch's convolution (forward and input gradient) to float32 accuracy, and fall back to it
// wherever they do not apply.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "impasto/nn/backbone.h"
#include "impasto/nn/winograd.h"

namespace impasto {
namespace {

double relative_error(const at::Tensor& a, const at::Tensor& b) {
  return ((a.to(torch::kDouble) - b.to(torch::kDouble)).norm() / b.to(torch::kDouble).norm()).item<double>();
}

struct Case {
  int64_t n, c, oc, h, w, padding;
};

TEST(Winograd, ForwardAndInputGradientMatchLibTorch) {
  if (!winograd_available()) GTEST_SKIP() << "no Winograd kernel on this CPU: " << winograd_report();
  torch::manual_seed(3);
  FrozenConvs convs;
  // Odd sizes (tiles of 4 outputs with a remainder), both paddings, a batch of two, 512 channels.
  for (const Case& k : {Case{1, 16, 32, 9, 13, 1}, Case{2, 64, 64, 21, 17, 0}, Case{1, 128, 16, 8, 8, 1},
                        Case{1, 512, 512, 6, 7, 1}}) {
    SCOPED_TRACE(testing::Message() << k.c << "->" << k.oc << " at " << k.h << "x" << k.w << " pad " << k.padding);
    const at::Tensor weight = torch::randn({k.oc, k.c, 3, 3}) * std::sqrt(2.0 / (9.0 * k.c));
    const at::Tensor bias = torch::randn({k.oc});
    const at::Tensor x0 = torch::relu(torch::randn({k.n, k.c, k.h, k.w}));
    const at::Tensor upstream = torch::randn({k.n, k.oc, k.h + 2 * k.padding - 2, k.w + 2 * k.padding - 2});

    at::Tensor x = x0.clone().set_requires_grad(true);
    at::Tensor y = convs.conv3x3(x, weight, bias, k.padding);
    (y * upstream).sum().backward();
    at::Tensor ref_x = x0.clone().set_requires_grad(true);
    at::Tensor ref_y = at::conv2d(ref_x, weight, bias, 1, k.padding);
    (ref_y * upstream).sum().backward();

    ASSERT_EQ(y.sizes(), ref_y.sizes());
    EXPECT_LT(relative_error(y, ref_y), 1e-5);
    EXPECT_LT(relative_error(x.grad(), ref_x.grad()), 1e-5);
  }
  EXPECT_EQ(convs.winograd_calls(), 4);
  EXPECT_EQ(convs.fallback_calls(), 0);
}

// Channels-last input (how the VGGs run in float32): the same numbers, the output and the input's
// gradient channels-last, and an NCHW call at the same shape gets its own plan.
TEST(Winograd, ChannelsLastStaysChannelsLast) {
  if (!winograd_available()) GTEST_SKIP() << "no Winograd kernel on this CPU: " << winograd_report();
  torch::manual_seed(8);
  FrozenConvs convs;
  const at::Tensor weight = torch::randn({32, 48, 3, 3}) * std::sqrt(2.0 / (9.0 * 48));
  const at::Tensor bias = torch::randn({32});
  const at::Tensor x0 = torch::relu(torch::randn({1, 48, 19, 23}));
  const at::Tensor upstream = torch::randn({1, 32, 19, 23});
  at::Tensor x = x0.contiguous(at::MemoryFormat::ChannelsLast).set_requires_grad(true);
  const at::Tensor y = convs.conv3x3(x, weight, bias, 1);
  EXPECT_TRUE(y.is_contiguous(at::MemoryFormat::ChannelsLast));
  (y * upstream).sum().backward();
  EXPECT_TRUE(x.grad().is_contiguous(at::MemoryFormat::ChannelsLast));
  at::Tensor ref_x = x0.clone().set_requires_grad(true);
  const at::Tensor ref_y = at::conv2d(ref_x, weight, bias, 1, 1);
  (ref_y * upstream).sum().backward();
  EXPECT_LT(relative_error(y, ref_y), 1e-5);
  EXPECT_LT(relative_error(x.grad(), ref_x.grad()), 1e-5);
  const at::Tensor y_nchw = convs.conv3x3(x0, weight, bias, 1);
  EXPECT_TRUE(y_nchw.is_contiguous());
  EXPECT_LT(relative_error(y_nchw, ref_y), 1e-5);
  EXPECT_EQ(convs.winograd_calls(), 2);
}

TEST(Winograd, WhatItCannotTakeGoesThroughLibTorch) {
  torch::manual_seed(4);
  FrozenConvs convs;
  const at::Tensor x = torch::randn({1, 3, 10, 10});
  const at::Tensor w3 = torch::randn({16, 3, 3, 3});  // 3 input channels: not a multiple of 16
  EXPECT_TRUE(torch::allclose(convs.conv3x3(x, w3, {}, 1), at::conv2d(x, w3, {}, 1, 1)));
  const at::Tensor x16 = torch::randn({1, 16, 10, 10});
  const at::Tensor w16 = torch::randn({16, 16, 3, 3});
  // bf16 input, and weights that train (their gradient is LibTorch's to compute).
  const at::Tensor y_bf16 = convs.conv3x3(x16.to(torch::kBFloat16), w16.to(torch::kBFloat16), {}, 1);
  EXPECT_EQ(y_bf16.scalar_type(), torch::kBFloat16);
  const at::Tensor trained = w16.clone().set_requires_grad(true);
  convs.conv3x3(x16, trained, {}, 1).sum().backward();
  ASSERT_TRUE(trained.grad().defined());
  EXPECT_EQ(convs.winograd_calls(), 0);
  EXPECT_EQ(convs.fallback_calls(), 3);
  // A channel count that does not match is LibTorch's error, not a crash.
  EXPECT_THROW(convs.conv3x3(torch::randn({1, 32, 8, 8}), w16, {}, 1), c10::Error);
}

TEST(Winograd, NewWeightsAreSeenAtEveryShape) {
  if (!winograd_available()) GTEST_SKIP() << winograd_report();
  FrozenConvs convs;
  at::Tensor weight = torch::randn({16, 16, 3, 3});
  // Two input shapes: their plans share the weights' transformed forms where the layouts agree.
  const at::Tensor a = torch::randn({1, 16, 12, 12}), b = torch::randn({2, 16, 20, 9});
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round);
    for (const at::Tensor& x : {a, b, a}) EXPECT_LT(relative_error(convs.conv3x3(x, weight, {}, 1), at::conv2d(x, weight, {}, 1, 1)), 1e-5);
    torch::NoGradGuard no_grad;
    weight.mul_(-2.0);  // in place, as load_state_dict writes: the version changes, the address does not
  }
  EXPECT_EQ(convs.winograd_calls(), 6);
}

// Features and the image's gradient of a backbone, with and without Winograd.
struct Pass {
  FeatureMaps maps;
  at::Tensor grad;
};
Pass run_backbone(BackboneImpl& net, const at::Tensor& image, bool winograd) {
  set_winograd_enabled(winograd);
  at::Tensor x = image.clone().set_requires_grad(true);
  const std::set<std::string> taps(net.layers().begin(), net.layers().end());
  Pass pass{net.extract(x, taps), {}};
  at::Tensor loss = torch::zeros({});
  for (const auto& [name, f] : pass.maps) loss = loss + f.pow(2).mean() / (f.detach().pow(2).mean() + 1e-12);
  loss.backward();
  set_winograd_enabled(true);
  pass.grad = x.grad();
  return pass;
}

TEST(Winograd, TheBackbonesRunTheirConvolutionsThroughIt) {
  if (!winograd_available()) GTEST_SKIP() << winograd_report();
  // random-multiscale: the 64 -> 128 convolution of each of its four levels (3 -> 64 cannot);
  // random-vgg19 (reflection-padded, 16 to 128 channels): all but conv1_1 (3 -> 16) to relu5_4. With
  // average pooling: a max-pool whose two largest inputs differ by rounding sends the gradient to
  // either, so max-pooled gradients of the two paths differ where the features do not.
  const std::pair<std::string, int64_t> nets[] = {{"random-multiscale", 4}, {"random-vgg19", 15}};
  for (const auto& [name, convolutions] : nets) {
    SCOPED_TRACE(name);
    BackboneOptions options;
    options.name = name;
    options.pooling = "avg";
    const Backbone net = make_backbone(options);
    const at::Tensor image = torch::rand({1, 3, 40, 48});
    const Pass fast = run_backbone(*net, image, true);
    EXPECT_EQ(net->convolutions().winograd_calls(), convolutions);
    const Pass exact = run_backbone(*net, image, false);
    EXPECT_EQ(net->convolutions().winograd_calls(), convolutions);
    ASSERT_EQ(fast.maps.size(), exact.maps.size());
    for (const auto& [layer, f] : exact.maps) {
      SCOPED_TRACE(layer);
      EXPECT_LT(relative_error(fast.maps.at(layer), f), 1e-5);
    }
    EXPECT_LT(relative_error(fast.grad, exact.grad), 1e-5);
  }
}

}  // namespace
}  // namespace impasto
