// Golden tests: the six GAN objectives, the WGAN-GP gradient penalty and the R1 penalty against PyTorch references
// written by tools/make_gan_fixtures.py (losses from BCEWithLogitsLoss / logsigmoid / mse_loss in
// float64, gradients by autograd), within 1e-5 relative + absolute.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>

#include "impasto/core/error.h"
#include "impasto/io/weights.h"
#include "impasto/losses/gan_losses.h"
#include "impasto/nn/backbone.h"
#include "tensor_support.h"
#include "test_support.h"

using namespace impasto;
using namespace impasto::test;

namespace {

constexpr double kLossTolerance = 1e-5;

// max |got - expected| / (1 + |expected|) <= tol, i.e. tol relative for large values, absolute for small.
void expect_close(const at::Tensor& got, const at::Tensor& expected, double tol, const std::string& what) {
  ASSERT_TRUE(got.defined()) << what;
  ASSERT_EQ(got.sizes(), expected.sizes()) << what;
  const auto g = got.detach().to(torch::kFloat64), e = expected.to(torch::kFloat64);
  ASSERT_TRUE(torch::isfinite(g).all().item<bool>()) << what << " is not finite";
  const double err = ((g - e).abs() / (1 + e.abs())).max().item<double>();
  EXPECT_LE(err, tol) << what;
}

}  // namespace

TEST(GanLosses, MatchPythonReferenceLossesAndGradients) {
  auto ref = load_fixture_map("gan/losses.pth");
  const at::Tensor real = ref.at("real"), fake = ref.at("fake");
  ASSERT_EQ(real.size(0), 16);
  ASSERT_EQ(real.scalar_type(), torch::kFloat32);
  int checked = 0;
  for (const auto& name : gan_loss_names()) {
    SCOPED_TRACE(name);
    const GanLoss loss = parse_gan_loss(name);
    auto r = real.clone().requires_grad_(true), f = fake.clone().requires_grad_(true);
    auto d = discriminator_loss(loss, r, f);
    EXPECT_EQ(d.dim(), 0);
    d.backward();
    expect_close(d, ref.at(name + ".d_loss"), kLossTolerance, name + " d_loss");
    expect_close(r.grad(), ref.at(name + ".d_grad_real"), kLossTolerance, name + " d_grad_real");
    expect_close(f.grad(), ref.at(name + ".d_grad_fake"), kLossTolerance, name + " d_grad_fake");

    auto f2 = fake.clone().requires_grad_(true);
    auto g = generator_loss(loss, f2);
    EXPECT_EQ(g.dim(), 0);
    g.backward();
    expect_close(g, ref.at(name + ".g_loss"), kLossTolerance, name + " g_loss");
    expect_close(f2.grad(), ref.at(name + ".g_grad_fake"), kLossTolerance, name + " g_grad_fake");
    ++checked;
  }
  EXPECT_EQ(checked, 6);
}

TEST(GanLosses, ProbabilisticLossesStayFiniteForHugeLogits) {
  auto real = torch::tensor({1e4f, -1e4f, 88.0f, -104.0f}).requires_grad_(true);
  auto fake = torch::tensor({-1e4f, 1e4f, -88.0f, 104.0f}).requires_grad_(true);
  for (GanLoss loss : {GanLoss::minimax, GanLoss::nonsaturating}) {
    auto d = discriminator_loss(loss, real, fake);
    auto g = generator_loss(loss, fake);
    (d + g).backward();
    EXPECT_TRUE(std::isfinite(d.item<double>())) << to_string(loss);
    EXPECT_TRUE(std::isfinite(g.item<double>())) << to_string(loss);
    EXPECT_TRUE(torch::isfinite(real.grad()).all().item<bool>());
    EXPECT_TRUE(torch::isfinite(fake.grad()).all().item<bool>());
    real.mutable_grad().zero_();
    fake.mutable_grad().zero_();
  }
  // softplus(x) = x above the threshold: the real half contributes mean(softplus(-real)) =
  // (0 + 1e4 + 0 + 104) / 4 and the fake half mean(softplus(fake)) the same.
  EXPECT_NEAR(discriminator_loss(GanLoss::minimax, real, fake).item<double>(), 2 * (1e4 + 104) / 4, 1e-2);
}

TEST(GanLosses, NamesParseAndRoundTrip) {
  const std::vector<std::string> expected = {"minimax", "nonsaturating", "lsgan", "wgan", "wgangp", "hinge"};
  EXPECT_EQ(gan_loss_names(), expected);
  for (const auto& name : expected) EXPECT_EQ(to_string(parse_gan_loss(name)), name);
  EXPECT_TRUE(outputs_are_logits(GanLoss::minimax));
  EXPECT_TRUE(outputs_are_logits(GanLoss::nonsaturating));
  for (GanLoss l : {GanLoss::lsgan, GanLoss::wgan, GanLoss::wgangp, GanLoss::hinge}) EXPECT_FALSE(outputs_are_logits(l));
  try {
    parse_gan_loss("vanilla", "gan_loss");
    ADD_FAILURE() << "no exception";
  } catch (const OptionError& e) {
    EXPECT_EQ(e.option(), "gan_loss");
    EXPECT_NE(e.detail().find("unknown GAN loss 'vanilla'"), std::string::npos) << e.what();
    EXPECT_NE(e.detail().find("valid: minimax, nonsaturating, lsgan, wgan, wgangp, hinge"), std::string::npos)
        << e.what();
  }
  const std::string msg = test::expect_error<OptionError>([] { parse_gan_loss("nope"); });
  EXPECT_NE(msg.find("option 'loss'"), std::string::npos) << msg;
}

TEST(GanLosses, GradientPenaltyMatchesPython) {
  auto ref = load_fixture_map("gan/gradient_penalty.pth");
  torch::nn::Sequential critic(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).stride(1).padding(1)),
                               torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)),
                               torch::nn::Flatten(), torch::nn::Linear(4 * 8 * 8, 1));
  StateDict critic_state;
  for (const auto& [k, t] : ref)
    if (k.rfind("critic.", 0) == 0) critic_state.emplace_back(k.substr(7), t);
  load_state_dict(*critic, critic_state, "gradient_penalty.pth");

  auto fake = ref.at("fake").clone().requires_grad_(true);  // detached inside: must get no gradient
  auto fn = [&](const at::Tensor& x) { return critic->forward(x); };
  GradientPenalty gp = gradient_penalty(fn, ref.at("real"), fake, ref.at("eps"), 10.0);
  // Float32 network against a float64 reference.
  expect_close(gp.penalty, ref.at("penalty"), 1e-5, "penalty");
  expect_close(gp.grad_norms, ref.at("grad_norms"), 1e-5, "grad_norms");
  EXPECT_FALSE(gp.grad_norms.requires_grad());
  gp.penalty.backward();
  for (const auto& item : critic->named_parameters()) {
    const at::Tensor& expected = ref.at("grads." + item.key());
    at::Tensor got = item.value().grad().defined() ? item.value().grad() : torch::zeros_like(item.value());
    expect_close(got, expected, 1e-4, "grad of " + item.key());
  }
  EXPECT_FALSE(fake.grad().defined() && fake.grad().abs().sum().item<double>() != 0);

  // eps as [N,1,1,1] gives the same penalty.
  GradientPenalty gp4 = gradient_penalty(fn, ref.at("real"), ref.at("fake"), ref.at("eps").view({4, 1, 1, 1}));
  EXPECT_NEAR(gp4.penalty.item<double>(), gp.penalty.item<double>(), 1e-6);
}

TEST(GanLosses, R1PenaltyMatchesPythonForSingleAndPackedCritics) {
  auto ref = load_fixture_map("gan/r1_penalty.pth");
  for (const std::string prefix : {"", "pack."}) {
    SCOPED_TRACE("case '" + prefix + "'");
    const bool packed = !prefix.empty();
    torch::nn::Sequential critic(torch::nn::Conv2d(torch::nn::Conv2dOptions(packed ? 6 : 3, 4, 3).stride(1).padding(1)),
                                 torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)),
                                 torch::nn::Flatten(), torch::nn::Linear(4 * 8 * 8, 1));
    StateDict critic_state;
    for (const auto& [k, t] : ref)
      if (k.rfind(prefix + "critic.", 0) == 0) critic_state.emplace_back(k.substr(prefix.size() + 7), t);
    load_state_dict(*critic, critic_state, "r1_penalty.pth");
    at::Tensor real = ref.at("real").clone().requires_grad_(true);
    // A packing critic sees consecutive samples as one input of 2x the channels (PacGAN).
    const at::Tensor scores = critic->forward(packed ? real.view({2, 6, 8, 8}) : real).reshape({-1});
    R1Penalty r1 = r1_penalty(scores, real, 5.0);
    expect_close(r1.penalty, ref.at(prefix + "penalty"), 1e-5, "penalty");
    expect_close(r1.grad_norms, ref.at(prefix + "grad_norms"), 1e-5, "grad_norms");
    EXPECT_FALSE(r1.grad_norms.requires_grad());
    r1.penalty.backward();
    for (const auto& item : critic->named_parameters()) {
      const at::Tensor& expected = ref.at(prefix + "grads." + item.key());
      at::Tensor got = item.value().grad().defined() ? item.value().grad() : torch::zeros_like(item.value());
      expect_close(got, expected, 1e-4, "grad of " + item.key());
    }
  }
}

TEST(GanLosses, R1PenaltyOfALinearCriticIsGammaHalfTheSquaredWeightNorm) {
  torch::manual_seed(4);
  torch::nn::Linear critic(5, 1);
  at::Tensor real = torch::randn({6, 5}).requires_grad_(true);
  const at::Tensor scores = critic->forward(real).reshape({-1});
  // grad_x D = w for every sample.
  const double w2 = critic->weight.pow(2).sum().item<double>();
  EXPECT_NEAR(r1_penalty(scores, real, 3.0).penalty.item<double>(), 1.5 * w2, 1e-6);
  // The real batch must have been made differentiable before D's forward pass.
  const at::Tensor detached = torch::randn({6, 5});
  EXPECT_THROW(r1_penalty(critic->forward(detached).reshape({-1}), detached, 1.0), c10::Error);
}

TEST(GanLosses, GradientPenaltyWorksUnderNoGradAndChecksEps) {
  torch::manual_seed(3);
  torch::nn::Linear critic(5, 1);
  auto fn = [&](const at::Tensor& x) { return critic->forward(x); };
  auto real = torch::randn({6, 5}), fake = torch::randn({6, 5}), eps = torch::rand({6});
  {
    torch::NoGradGuard no_grad;
    // A linear critic has grad_x D = w for every sample: the penalty is lambda (||w|| - 1)^2.
    GradientPenalty gp = gradient_penalty(fn, real, fake, eps, 2.0);
    const double norm = critic->weight.norm().item<double>();
    EXPECT_NEAR(gp.penalty.item<double>(), 2.0 * (norm - 1) * (norm - 1), 1e-5);
    EXPECT_TRUE(torch::allclose(gp.grad_norms, torch::full({6}, norm), 1e-5, 1e-6));
  }
  EXPECT_THROW(gradient_penalty(fn, real, fake, torch::rand({5})), c10::Error);
}

// CycleGAN's objectives are the reference's GANLoss: MSELoss / BCEWithLogitsLoss against a target
// of 1 (real) or 0 (fake), -mean / +mean scores for wgangp, and D's sum halved.
TEST(GanLosses, CycleGanObjectivesAreTheReferenceGanLoss) {
  torch::manual_seed(3);
  const at::Tensor real = torch::randn({4, 1, 5, 5}) * 2, fake = torch::randn({4, 1, 5, 5}) * 2;
  auto bce = [](const at::Tensor& x, double target) { return at::binary_cross_entropy_with_logits(x, torch::full_like(x, target)); };
  auto mse = [](const at::Tensor& x, double target) { return at::mse_loss(x, torch::full_like(x, target)); };
  struct Case {
    std::string mode;
    at::Tensor g, d;
  };
  const std::vector<Case> cases = {
      {"lsgan", mse(fake, 1), 0.5 * (mse(real, 1) + mse(fake, 0))},
      {"vanilla", bce(fake, 1), 0.5 * (bce(real, 1) + bce(fake, 0))},
      {"wgangp", -fake.mean(), 0.5 * (-real.mean() + fake.mean())},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.mode);
    const GanLoss loss = parse_cyclegan_gan_mode(c.mode);
    expect_close(cyclegan_generator_loss(loss, fake), c.g, kLossTolerance, "G");
    expect_close(cyclegan_discriminator_loss(loss, real, fake), c.d, kLossTolerance, "D");
  }
  EXPECT_EQ(failing_option([] { parse_cyclegan_gan_mode("hinge"); }), "gan_mode");
}
