// Backbones chosen by name: the random default is seeded and needs no file; names are checked.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "impasto/core/error.h"
#include "impasto/nn/backbone.h"
#include "impasto/nn/random_multiscale.h"
#include "test_support.h"

using namespace impasto;

TEST(Backbone, RandomMultiscaleLayersAndShapes) {
  Backbone b = make_backbone(BackboneOptions{});
  EXPECT_EQ(b->name(), "random-multiscale");
  const std::vector<std::string> expected = {"s1_relu1", "s1_relu2", "s2_relu1", "s2_relu2",
                                             "s4_relu1", "s4_relu2", "s8_relu1", "s8_relu2"};
  EXPECT_EQ(b->layers(), expected);
  torch::NoGradGuard no_grad;
  auto x = torch::rand({1, 3, 64, 48});
  auto f = b->extract(x, {"s1_relu1", "s2_relu2", "s8_relu2"});
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f["s1_relu1"].sizes(), (std::vector<int64_t>{1, 64, 64, 48}));
  EXPECT_EQ(f["s2_relu2"].sizes(), (std::vector<int64_t>{1, 128, 32, 24}));
  EXPECT_EQ(f["s8_relu2"].sizes(), (std::vector<int64_t>{1, 128, 8, 6}));
  EXPECT_GE(f["s1_relu1"].min().item<float>(), 0.0f);  // after ReLU
}

TEST(Backbone, RandomMultiscaleIsSeeded) {
  torch::NoGradGuard no_grad;
  auto x = torch::rand({1, 3, 32, 32});
  BackboneOptions a, b, c;
  b.seed = 0;
  c.seed = 7;
  auto fa = make_backbone(a)->extract(x, {"s2_relu2"}).at("s2_relu2");
  torch::manual_seed(123);  // the global generator must not matter
  auto fb = make_backbone(b)->extract(x, {"s2_relu2"}).at("s2_relu2");
  auto fc = make_backbone(c)->extract(x, {"s2_relu2"}).at("s2_relu2");
  EXPECT_TRUE(torch::equal(fa, fb));
  EXPECT_FALSE(torch::allclose(fa, fc));
}

TEST(Backbone, PyramidDownKeepsConstantsAndHalvesSize) {
  auto x = torch::full({1, 3, 17, 16}, 0.3);
  auto y = pyramid_down(x);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 3, 9, 8}));
  EXPECT_TRUE(torch::allclose(y, torch::full_like(y, 0.3), 1e-6, 1e-6));
}

TEST(Backbone, UnknownNameListsValidOnes) {
  BackboneOptions o;
  o.name = "resnet";
  try {
    make_backbone(o);
    FAIL() << "expected OptionError";
  } catch (const OptionError& e) {
    EXPECT_EQ(e.option(), "backbone");
    const std::string what = e.what();
    for (const char* name : {"random-multiscale", "vgg16", "vgg19", "vgg19-normalised"})
      EXPECT_NE(what.find(name), std::string::npos) << what;
  }
}

TEST(Backbone, UnknownLayerNamesTheLayerAndTheValidOnes) {
  Backbone b = make_backbone(BackboneOptions{});
  try {
    b->check_layer("relu4_2", "content_layers");
    FAIL() << "expected OptionError";
  } catch (const OptionError& e) {
    EXPECT_EQ(e.option(), "content_layers");
    EXPECT_NE(std::string(e.what()).find("'relu4_2'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("s8_relu2"), std::string::npos);
  }
}

TEST(Backbone, VggNeedsAWeightFileAndRandomTakesNone) {
  BackboneOptions vgg;
  vgg.name = "vgg19";
  EXPECT_THROW(make_backbone(vgg), OptionError);
  BackboneOptions random;
  random.weights = "x.pth";
  EXPECT_THROW(make_backbone(random), OptionError);
  BackboneOptions pooling;
  pooling.pooling = "min";
  EXPECT_THROW(make_backbone(pooling), OptionError);
}

TEST(Backbone, LoadStateDictNamesTheFirstMismatch) {
  torch::nn::Sequential net(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3)), torch::nn::ReLU(),
                            torch::nn::Conv2d(torch::nn::Conv2dOptions(4, 2, 1)));
  StateDict good = module_state_dict(*net);
  for (auto& [name, t] : good) t = torch::full_like(t, 0.5);
  load_state_dict(*net, good, "good.pth");
  EXPECT_TRUE(torch::allclose(net->named_parameters()["2.weight"], torch::full({2, 4, 1, 1}, 0.5)));

  StateDict wrong_shape = good;
  wrong_shape[2].second = torch::zeros({2, 5, 1, 1});  // 2.weight
  auto message = test::expect_error<FormatError>([&] { load_state_dict(*net, wrong_shape, "w.pth"); });
  EXPECT_NE(message.find("w.pth"), std::string::npos) << message;
  EXPECT_NE(message.find("'2.weight'"), std::string::npos) << message;
  EXPECT_NE(message.find("[2, 5, 1, 1]"), std::string::npos) << message;
  EXPECT_NE(message.find("[2, 4, 1, 1]"), std::string::npos) << message;

  StateDict missing(good.begin(), good.end() - 1);  // no 2.bias
  message = test::expect_error<FormatError>([&] { load_state_dict(*net, missing, "m.pth"); });
  EXPECT_NE(message.find("missing key '2.bias'"), std::string::npos) << message;

  StateDict extra = good;
  extra.emplace_back("head.weight", torch::zeros({1}));
  message = test::expect_error<FormatError>([&] { load_state_dict(*net, extra, "e.pth"); });
  EXPECT_NE(message.find("unexpected key 'head.weight'"), std::string::npos) << message;
  load_state_dict(*net, extra, "e.pth", nullptr, {"head."});  // ignored prefixes are skipped
}
