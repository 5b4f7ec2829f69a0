// Losses equal hand-computed values on small tensors, and their gradients match finite differences.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "impasto/core/error.h"
#include "impasto/losses/losses.h"

using namespace impasto;

namespace {

// F: 1 sample, 2 channels, 2x2 locations. Channel 0 = [1 2; 3 4], channel 1 = [0 1; 0 1].
at::Tensor small_features() {
  return torch::tensor({1.0, 2.0, 3.0, 4.0, 0.0, 1.0, 0.0, 1.0}, torch::kFloat64).view({1, 2, 2, 2});
}

// Central finite differences of a scalar function, compared with autograd, on every element.
void expect_gradient_matches(const std::function<at::Tensor(const at::Tensor&)>& f, at::Tensor x, double tol) {
  x = x.clone().set_requires_grad(true);
  f(x).backward();
  auto analytic = x.grad().clone();
  torch::NoGradGuard no_grad;
  auto flat = x.detach().clone().view(-1);
  const double eps = 1e-6;
  for (int64_t i = 0; i < flat.numel(); ++i) {
    auto plus = flat.clone(), minus = flat.clone();
    plus[i] += eps;
    minus[i] -= eps;
    const double numeric = (f(plus.view(x.sizes())).item<double>() - f(minus.view(x.sizes())).item<double>()) / (2 * eps);
    EXPECT_NEAR(analytic.view(-1)[i].item<double>(), numeric, tol * std::max(1.0, std::fabs(numeric))) << "element " << i;
  }
}

}  // namespace

TEST(Losses, GramMatrixIsPerLocationOuterProduct) {
  // G = F F^T / M with M = 4: [1+4+9+16, 0+2+0+4; 6, 0+1+0+1] / 4.
  auto g = gram_matrix(small_features());
  auto expected = torch::tensor({30.0, 6.0, 6.0, 2.0}, torch::kFloat64).view({1, 2, 2}) / 4.0;
  EXPECT_TRUE(torch::allclose(g, expected, 1e-12, 1e-12)) << g;
}

TEST(Losses, MaskedGramWeightsLocations) {
  // Mask keeps the two left locations (values 1,3 and 0,0): G = [1+9, 0; 0, 0] / 2.
  auto mask = torch::tensor({1.0, 0.0, 1.0, 0.0}, torch::kFloat64).view({1, 1, 2, 2});
  auto g = gram_matrix(small_features(), mask);
  auto expected = torch::tensor({10.0, 0.0, 0.0, 0.0}, torch::kFloat64).view({1, 2, 2}) / 2.0;
  EXPECT_TRUE(torch::allclose(g, expected, 1e-12, 1e-12)) << g;
}

TEST(Losses, ContentLossNormalisations) {
  auto f = small_features();
  auto p = torch::zeros_like(f);
  p.view(-1)[0] = 2.0;  // differences: -1 (was 1 vs 2) then F itself elsewhere
  // sum (F-P)^2 = 1 + 4 + 9 + 16 + 0 + 1 + 0 + 1 = 32; sum P^2 = 4; 8 elements.
  EXPECT_NEAR(content_loss(f, p, LossNormalisation::gatys).item<double>(), 16.0, 1e-12);
  EXPECT_NEAR(content_loss(f, p, LossNormalisation::mse).item<double>(), 4.0, 1e-12);
  EXPECT_NEAR(content_loss(f, p, LossNormalisation::energy).item<double>(), 8.0, 1e-12);
}

TEST(Losses, StyleLossNormalisations) {
  // C = 3; G - A has 1 and 2 on the diagonal, so sum (G-A)^2 = 5; sum A^2 = 9.
  auto a = torch::ones({1, 3, 3}, torch::kFloat64);
  auto g = a.clone();
  g[0][0][0] += 1.0;
  g[0][1][1] += 2.0;
  EXPECT_NEAR(style_loss(g, a, LossNormalisation::gatys).item<double>(), 5.0 / (4.0 * 9.0), 1e-12);
  EXPECT_NEAR(style_loss(g, a, LossNormalisation::mse).item<double>(), 5.0 / 81.0, 1e-12);
  EXPECT_NEAR(style_loss(g, a, LossNormalisation::energy).item<double>(), 5.0 / 9.0, 1e-12);
}

TEST(Losses, GatysNormalisationEqualsPaperOnRawGrams) {
  // Paper: E = 1/(4 N^2 M^2) sum (G_raw - A_raw)^2 for same-size images.
  torch::manual_seed(1);
  auto f = torch::rand({1, 3, 4, 5}, torch::kFloat64), s = torch::rand({1, 3, 4, 5}, torch::kFloat64);
  auto fr = f.view({1, 3, -1}), sr = s.view({1, 3, -1});
  auto g_raw = torch::bmm(fr, fr.transpose(1, 2)), a_raw = torch::bmm(sr, sr.transpose(1, 2));
  const double n = 3, m = 20;
  const double paper = ((g_raw - a_raw).pow(2).sum() / (4 * n * n * m * m)).item<double>();
  EXPECT_NEAR(style_loss(gram_matrix(f), gram_matrix(s), LossNormalisation::gatys).item<double>(), paper, 1e-12);
}

TEST(Losses, TotalVariation) {
  // x = [0 1; 2 4]: vertical (2-0)^2 + (4-1)^2 = 13, horizontal (1-0)^2 + (4-2)^2 = 5; 4 elements.
  auto x = torch::tensor({0.0, 1.0, 2.0, 4.0}, torch::kFloat64).view({1, 1, 2, 2});
  EXPECT_NEAR(tv_loss(x).item<double>(), 18.0 / 4.0, 1e-12);
  EXPECT_NEAR(tv_loss(torch::ones({1, 3, 5, 5})).item<double>(), 0.0, 1e-12);
}

TEST(Losses, GradientsMatchFiniteDifferences) {
  torch::manual_seed(2);
  auto target = torch::rand({1, 3, 4, 4}, torch::kFloat64);
  auto target_gram = gram_matrix(torch::rand({1, 3, 5, 6}, torch::kFloat64));
  auto mask = torch::rand({1, 1, 4, 4}, torch::kFloat64);
  auto x = torch::rand({1, 3, 4, 4}, torch::kFloat64);
  for (auto norm : {LossNormalisation::gatys, LossNormalisation::mse, LossNormalisation::energy}) {
    SCOPED_TRACE(to_string(norm));
    expect_gradient_matches([&](const at::Tensor& v) { return content_loss(v, target, norm); }, x, 1e-5);
    expect_gradient_matches([&](const at::Tensor& v) { return style_loss(gram_matrix(v), target_gram, norm); }, x, 1e-5);
    expect_gradient_matches([&](const at::Tensor& v) { return style_loss(gram_matrix(v, mask), target_gram, norm); }, x, 1e-5);
  }
  expect_gradient_matches([](const at::Tensor& v) { return tv_loss(v); }, x, 1e-5);
}

// The fused node (one product in its backward) gives the composed loss's value and gradient, for
// every normalisation, a batch of two against one target, and a target that is not symmetric.
TEST(Losses, FusedStyleLossEqualsComposedOne) {
  torch::manual_seed(3);
  auto x = torch::rand({2, 3, 4, 5}, torch::kFloat64);
  const at::Tensor targets[] = {gram_matrix(torch::rand({1, 3, 6, 2}, torch::kFloat64)), torch::rand({1, 3, 3}, torch::kFloat64)};
  for (auto norm : {LossNormalisation::gatys, LossNormalisation::mse, LossNormalisation::energy}) {
    for (const auto& target : targets) {
      SCOPED_TRACE(to_string(norm));
      auto a = x.clone().set_requires_grad(true), b = x.clone().set_requires_grad(true);
      const at::Tensor composed = style_loss(gram_matrix(a), target, norm) * 3.0;
      const at::Tensor fused = fused_style_loss(b, target, norm) * 3.0;
      EXPECT_NEAR(fused.item<double>(), composed.item<double>(), 1e-12 * std::fabs(composed.item<double>()));
      composed.backward();
      fused.backward();
      EXPECT_TRUE(torch::allclose(b.grad(), a.grad(), 1e-10, 1e-12)) << (b.grad() - a.grad()).abs().max();
    }
  }
  // Channels-last features (a bf16 backbone's, converted) take the rows path: same value and gradient,
  // the gradient in the features' layout.
  auto a = x.clone().set_requires_grad(true);
  auto b = x.contiguous(at::MemoryFormat::ChannelsLast).set_requires_grad(true);
  const at::Tensor composed = style_loss(gram_matrix(a), targets[1], LossNormalisation::energy);
  const at::Tensor fused = fused_style_loss(b, targets[1], LossNormalisation::energy);
  EXPECT_NEAR(fused.item<double>(), composed.item<double>(), 1e-12 * std::fabs(composed.item<double>()));
  composed.backward();
  fused.backward();
  EXPECT_TRUE(torch::allclose(b.grad(), a.grad(), 1e-10, 1e-12)) << (b.grad() - a.grad()).abs().max();
  expect_gradient_matches([&](const at::Tensor& v) { return fused_style_loss(v, targets[1], LossNormalisation::energy); },
                          torch::rand({1, 3, 4, 4}, torch::kFloat64), 1e-5);
}

// bf16 features (a bf16 backbone's, channels-last or not): the loss is the float32 loss of the
// rounded features (their Gram summed in float32), the gradient bf16 within bf16's rounding.
TEST(Losses, FusedStyleLossOfBf16Features) {
  torch::manual_seed(4);
  const at::Tensor target = gram_matrix(torch::rand({1, 32, 20, 20}));
  for (auto format : {at::MemoryFormat::Contiguous, at::MemoryFormat::ChannelsLast}) {
    const at::Tensor x = torch::rand({1, 32, 24, 17}).to(torch::kBFloat16).contiguous(format);
    auto a = x.to(torch::kFloat32).set_requires_grad(true), b = x.clone().set_requires_grad(true);
    const at::Tensor reference = style_loss(gram_matrix(a), target, LossNormalisation::energy);
    const at::Tensor fused = fused_style_loss(b, target, LossNormalisation::energy);
    EXPECT_EQ(fused.scalar_type(), torch::kFloat32);
    EXPECT_NEAR(fused.item<double>(), reference.item<double>(), 1e-5 * reference.item<double>());
    reference.backward();
    fused.backward();
    ASSERT_EQ(b.grad().scalar_type(), torch::kBFloat16);
    const double error = ((b.grad().to(torch::kFloat32) - a.grad()).norm() / a.grad().norm()).item<double>();
    EXPECT_LT(error, 1e-2) << "memory format " << format;
  }
}

TEST(Losses, UnknownNormalisationListsValidOnes) {
  try {
    parse_normalisation("l1");
    FAIL() << "expected OptionError";
  } catch (const OptionError& e) {
    EXPECT_EQ(e.option(), "normalisation");
    EXPECT_NE(std::string(e.what()).find("energy, gatys, mse"), std::string::npos) << e.what();
  }
}
