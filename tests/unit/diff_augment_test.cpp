// DiffAugment (data/diff_augment.h): each transform does what the paper says, keeps shapes, lets
// gradients through, and draws only from the given generator.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "impasto/core/error.h"
#include "impasto/data/diff_augment.h"
#include "test_support.h"

using namespace impasto;

namespace {

at::Generator generator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

at::Tensor images(int64_t n, int64_t size = 32, uint64_t seed = 1) {
  auto g = generator(seed);
  return at::rand({n, 3, size, size}, g) * 2 - 1;  // the GAN range [-1,1]
}

}  // namespace

TEST(DiffAugment, ParsesPolicies) {
  EXPECT_TRUE(parse_diff_augment("").empty());
  EXPECT_EQ(parse_diff_augment("color,translation,cutout"),
            (std::vector<std::string>{"color", "translation", "cutout"}));
  EXPECT_EQ(parse_diff_augment(" cutout , color"), (std::vector<std::string>{"cutout", "color"}));
  for (const std::string bad : {"color,zoom", "color,,cutout", "color,color", "flip", "colour", "Color"}) {
    try {
      parse_diff_augment(bad);
      ADD_FAILURE() << "no error for '" << bad << "'";
    } catch (const OptionError& e) {
      EXPECT_EQ(e.option(), "diffaug");
    }
  }
  const std::string message = test::expect_error<OptionError>([] { parse_diff_augment("zoom", "d_augment"); });
  EXPECT_NE(message.find("d_augment"), std::string::npos);
  EXPECT_NE(message.find("color, translation, cutout"), std::string::npos);
}

TEST(DiffAugment, EmptyPolicyIsIdentity) {
  const auto x = images(4);
  auto g = generator(0);
  EXPECT_TRUE(torch::equal(diff_augment(x, {}, g), x));
}

TEST(DiffAugment, KeepsShapesAndLetsGradientsThrough) {
  for (const std::string policy : {"color", "translation", "cutout", "color,translation,cutout", "hue", "invert"}) {
    auto x = images(6, 16).requires_grad_(true);
    auto g = generator(3);
    const auto y = diff_augment(x, parse_diff_augment(policy), g);
    EXPECT_EQ(y.sizes(), x.sizes()) << policy;
    (y * torch::rand_like(y)).sum().backward();
    ASSERT_TRUE(x.grad().defined()) << policy;
    EXPECT_GT(x.grad().abs().sum().item<float>(), 0.0f) << policy;
    EXPECT_TRUE(torch::isfinite(x.grad()).all().item<bool>()) << policy;
  }
  // Non-square images keep their shape too.
  auto g = generator(4);
  EXPECT_EQ(diff_augment(torch::rand({2, 3, 16, 24}), parse_diff_augment("translation,cutout"), g).sizes(),
            (std::vector<int64_t>{2, 3, 16, 24}));
}

TEST(DiffAugment, SameGeneratorStateSameAugmentation) {
  const auto x = images(8);
  const auto policy = parse_diff_augment("color,translation,cutout");
  auto g1 = generator(11), g2 = generator(11), g3 = generator(12);
  const auto a = diff_augment(x, policy, g1);
  EXPECT_TRUE(torch::equal(a, diff_augment(x, policy, g2)));
  EXPECT_FALSE(torch::equal(a, diff_augment(x, policy, g3)));
}

TEST(DiffAugment, TranslationMovesAPixelByAtMostAnEighth) {
  const int64_t n = 1000, size = 32;
  auto x = torch::zeros({n, 3, size, size});
  x.index_put_({torch::indexing::Slice(), torch::indexing::Slice(), 16, 12}, 1.0);
  auto g = generator(5);
  const auto y = diff_augment(x, {"translation"}, g);
  const auto flat = y.select(1, 0).flatten(1);  // [N, H*W]
  const auto [peak, where] = flat.max(1);
  EXPECT_TRUE(torch::allclose(peak, torch::ones({n})));  // never falls off: 16 + 4 and 12 - 4 are inside
  EXPECT_TRUE(torch::allclose(y.sum({1, 2, 3}), torch::full({n}, 3.0)));  // moved, not smeared
  const auto dy = torch::floor_divide(where, size) - 16, dx = where.remainder(size) - 12;
  EXPECT_LE(dy.abs().max().item<int64_t>(), size / 8);
  EXPECT_LE(dx.abs().max().item<int64_t>(), size / 8);
  // All 9 x 9 shifts are used, independently in x and y.
  EXPECT_EQ(std::get<0>(at::_unique(dy * 100 + dx)).numel(), 81);
  // The same shift for every channel.
  EXPECT_TRUE(torch::equal(y.select(1, 0), y.select(1, 2)));
}

TEST(DiffAugment, TranslationPadsWithZeros) {
  auto x = torch::ones({64, 1, 16, 16});
  auto g = generator(6);
  const auto y = diff_augment(x, {"translation"}, g);
  // Each sample keeps a (16 - |dy|) x (16 - |dx|) block of ones, the rest zero.
  const auto ones = y.sum({1, 2, 3});
  EXPECT_GE(ones.min().item<float>(), 14.0f * 14.0f);
  EXPECT_LT(ones.min().item<float>(), 16.0f * 16.0f);
  EXPECT_TRUE(((y == 0) | (y == 1)).all().item<bool>());
}

TEST(DiffAugment, CutoutZeroesAboutAQuarter) {
  auto x = torch::ones({512, 3, 32, 32});
  auto g = generator(7);
  const auto y = diff_augment(x, {"cutout"}, g);
  const auto zeroed = (y == 0).to(torch::kFloat32).mean({1, 2, 3});  // per sample
  // A 16 x 16 square: a quarter when inside, less when its centre is near the border.
  EXPECT_LE(zeroed.max().item<float>(), 0.25f + 1e-6f);
  EXPECT_NEAR(zeroed.max().item<float>(), 0.25f, 1e-6f);
  EXPECT_GT(zeroed.min().item<float>(), 0.05f);
  // Expected over uniform centres in 0..32: (456/33/32)^2 = 0.187.
  EXPECT_NEAR(zeroed.mean().item<float>(), 0.187f, 0.02f);
  // The same square in every channel, and a square: its zeroed rows and columns form a block.
  EXPECT_TRUE(torch::equal(y.select(1, 0), y.select(1, 1)));
  const auto holes = (y[0][0] == 0);
  const int64_t rows = holes.any(1).sum().item<int64_t>(), cols = holes.any(0).sum().item<int64_t>();
  EXPECT_EQ(holes.sum().item<int64_t>(), rows * cols);
}

TEST(DiffAugment, ColorChangesEachSampleDifferently) {
  const auto one = images(1, 16);
  const auto x = one.expand({64, 3, 16, 16}).contiguous();
  auto g = generator(8);
  const auto y = diff_augment(x, {"color"}, g);
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
  // Brightness moves the means by up to 0.5 (contrast keeps the mean): different per sample.
  const auto means = y.mean({1, 2, 3}) - x.mean({1, 2, 3});
  EXPECT_LE(means.abs().max().item<float>(), 0.5f + 1e-5f);
  EXPECT_GT(means.std().item<float>(), 0.15f);  // U(-0.5,0.5) has std 0.29
  // Saturation and contrast change the spread per sample as well.
  const auto spread = y.flatten(1).std(1);
  EXPECT_GT((spread.max() - spread.min()).item<float>(), 0.1f);
  // The saturation step alone: grey pixels (equal channels) stay grey.
  const auto grey = torch::rand({8, 1, 8, 8}).expand({8, 3, 8, 8}).contiguous();
  const auto z = diff_augment(grey, {"color"}, g);
  EXPECT_TRUE(torch::allclose(z.select(1, 0), z.select(1, 2), 1e-5, 1e-5));
}

// hue turns colours about the grey axis: grey stays grey, each pixel keeps its grey level (the
// channel mean) and its distance from grey, and a colour's hue moves by the same angle in every
// pixel of a sample; invert negates about half of the samples and leaves the rest.
TEST(DiffAugment, HueRotatesAboutGreyAndInvertNegatesHalf) {
  const auto x = images(64);
  auto g = generator(8);
  const auto y = diff_augment(x, parse_diff_augment("hue"), g);
  EXPECT_TRUE(torch::allclose(y.mean(1), x.mean(1), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose((y - y.mean(1, true)).norm(2, 1), (x - x.mean(1, true)).norm(2, 1), 1e-4, 1e-5));
  EXPECT_GT((y - x).abs().mean().item<double>(), 0.1);  // the colours did move
  const auto grey = at::full({2, 3, 4, 4}, 0.3);
  EXPECT_TRUE(torch::allclose(diff_augment(grey, parse_diff_augment("hue"), g), grey, 1e-6, 1e-6));
  // (1,0,0) turned by +120 degrees about (1,1,1) is (0,1,0): so the sample's turned red, turned by
  // +120 degrees more (Rodrigues), must be its turned green: one angle for every pixel of a sample.
  at::Tensor two = at::zeros({1, 3, 1, 2});
  two[0][0][0][0] = 1;
  two[0][1][0][1] = 1;
  auto g2 = generator(9);
  const auto turned = diff_augment(two, parse_diff_augment("hue"), g2);
  const double c = std::cos(2 * M_PI / 3), s = std::sin(2 * M_PI / 3);
  const auto red = turned.select(3, 0).flatten(), green = turned.select(3, 1).flatten();
  const auto mean = red.mean();
  const auto cross = torch::stack({red[2] - red[1], red[0] - red[2], red[1] - red[0]}) / std::sqrt(3.0);  // k x red
  EXPECT_TRUE(torch::allclose(c * red + s * cross + (1 - c) * mean, green, 1e-5, 1e-5));
  // One channel: unchanged.
  const auto mono = at::rand({2, 1, 4, 4});
  EXPECT_TRUE(torch::equal(diff_augment(mono, parse_diff_augment("hue"), g), mono));

  auto g3 = generator(10);
  const auto inverted = diff_augment(x, parse_diff_augment("invert"), g3);
  int64_t negated = 0;
  for (int64_t i = 0; i < 64; ++i) {
    const bool same = torch::equal(inverted[i], x[i]);
    const bool minus = torch::equal(inverted[i], -x[i]);
    EXPECT_TRUE(same || minus) << i;
    negated += minus;
  }
  EXPECT_GT(negated, 16);
  EXPECT_LT(negated, 48);
}
