#include "impasto/losses/gan_losses.h"

#include <torch/torch.h>

#include "impasto/core/error.h"

namespace impasto {
namespace {

// log(1 + e^x), evaluated without overflow: PyTorch's softplus returns x itself above the threshold
// (20), where log(1 + e^x) - x < 3e-9, and log1p(e^x) below it.
at::Tensor stable_softplus(const at::Tensor& x) { return at::softplus(x, /*beta=*/1, /*threshold=*/20); }

const std::vector<std::pair<std::string, GanLoss>>& table() {
  static const std::vector<std::pair<std::string, GanLoss>> t = {
      {"minimax", GanLoss::minimax}, {"nonsaturating", GanLoss::nonsaturating}, {"lsgan", GanLoss::lsgan},
      {"wgan", GanLoss::wgan},       {"wgangp", GanLoss::wgangp},               {"hinge", GanLoss::hinge},
  };
  return t;
}

}  // namespace

GanLoss parse_gan_loss(const std::string& name, const std::string& option) {
  for (const auto& [n, loss] : table())
    if (n == name) return loss;
  std::string valid;
  for (const auto& n : gan_loss_names()) valid += (valid.empty() ? "" : ", ") + n;
  throw OptionError(option, "unknown GAN loss '" + name + "'; valid: " + valid);
}

std::string to_string(GanLoss loss) {
  for (const auto& [n, l] : table())
    if (l == loss) return n;
  return "?";
}

std::vector<std::string> gan_loss_names() {
  std::vector<std::string> out;
  for (const auto& entry : table()) out.push_back(entry.first);
  return out;
}

bool outputs_are_logits(GanLoss loss) { return loss == GanLoss::minimax || loss == GanLoss::nonsaturating; }

// Real and fake terms are averaged separately, so the two batches may differ in size; with equal sizes
// this is the batch mean of the per-sample objective.
at::Tensor discriminator_loss(GanLoss loss, const at::Tensor& real, const at::Tensor& fake) {
  switch (loss) {
    case GanLoss::minimax:
    case GanLoss::nonsaturating:
      // -log sigmoid(r) = softplus(-r);  -log(1 - sigmoid(f)) = softplus(f).
      return stable_softplus(-real).mean() + stable_softplus(fake).mean();
    case GanLoss::lsgan:
      return 0.5 * (real - 1).pow(2).mean() + 0.5 * fake.pow(2).mean();
    case GanLoss::wgan:
    case GanLoss::wgangp:
      return fake.mean() - real.mean();
    case GanLoss::hinge:
      return at::relu(1 - real).mean() + at::relu(1 + fake).mean();
  }
  throw Error("discriminator_loss: unknown GanLoss");
}

at::Tensor generator_loss(GanLoss loss, const at::Tensor& fake) {
  switch (loss) {
    case GanLoss::minimax:
      // log(1 - sigmoid(f)) = -softplus(f): saturates (vanishing gradient) when D rejects fakes.
      return -stable_softplus(fake).mean();
    case GanLoss::nonsaturating:
      // -log sigmoid(f) = softplus(-f).
      return stable_softplus(-fake).mean();
    case GanLoss::lsgan:
      return 0.5 * (fake - 1).pow(2).mean();
    case GanLoss::wgan:
    case GanLoss::wgangp:
    case GanLoss::hinge:
      return -fake.mean();
  }
  throw Error("generator_loss: unknown GanLoss");
}

GanLoss parse_cyclegan_gan_mode(const std::string& mode, const std::string& option) {
  if (mode == "lsgan") return GanLoss::lsgan;
  if (mode == "vanilla") return GanLoss::nonsaturating;
  if (mode == "wgangp") return GanLoss::wgangp;
  throw OptionError(option, "unknown objective '" + mode + "'; valid: lsgan, vanilla, wgangp");
}

// lsgan's generator_loss is Mao et al.'s 1/2 (f - 1)^2; the reference's MSELoss has no 1/2.
at::Tensor cyclegan_generator_loss(GanLoss loss, const at::Tensor& fake) {
  const at::Tensor l = generator_loss(loss, fake);
  return loss == GanLoss::lsgan ? 2 * l : l;
}

// lsgan's discriminator_loss already carries Mao et al.'s 1/2 on each term, which is the halving;
// BCE and the Wasserstein scores get it here.
at::Tensor cyclegan_discriminator_loss(GanLoss loss, const at::Tensor& real, const at::Tensor& fake) {
  const at::Tensor l = discriminator_loss(loss, real, fake);
  return loss == GanLoss::lsgan ? l : 0.5 * l;
}

GradientPenalty gradient_penalty(const std::function<at::Tensor(const at::Tensor&)>& critic, const at::Tensor& real,
                                 const at::Tensor& fake, const at::Tensor& eps, double lambda) {
  TORCH_CHECK(real.sizes() == fake.sizes(), "gradient_penalty: real and fake differ in shape");
  const int64_t n = real.size(0);
  at::Tensor e = eps.to(real.options());
  if (e.dim() <= 1) {
    TORCH_CHECK(e.numel() == n, "gradient_penalty: eps has ", e.numel(), " values for a batch of ", n);
    std::vector<int64_t> shape(static_cast<size_t>(real.dim()), 1);
    shape[0] = n;
    e = e.reshape(shape);
  }
  // The interpolates are the leaf of the penalty's inner gradient; the penalty reaches the critic's
  // parameters through the double-backward graph (create_graph), not through real, fake or eps.
  at::Tensor x_hat;
  {
    torch::NoGradGuard no_grad;
    x_hat = e * real + (1 - e) * fake.detach();
  }
  x_hat.requires_grad_(true);
  torch::AutoGradMode grad_mode(true);  // also when called under a NoGradGuard
  at::Tensor scores = critic(x_hat);
  auto grads = torch::autograd::grad({scores}, {x_hat}, {torch::ones_like(scores)},
                                     /*retain_graph=*/true, /*create_graph=*/true)[0];
  // One norm per score: with a packing D (PacGAN) each score's input is its pack of consecutive samples.
  at::Tensor norms = grads.reshape({scores.numel(), -1}).norm(2, 1);
  GradientPenalty out;
  out.penalty = lambda * (norms - 1).pow(2).mean();
  out.grad_norms = norms.detach();
  return out;
}

R1Penalty r1_penalty(const at::Tensor& scores, const at::Tensor& real, double gamma) {
  TORCH_CHECK(real.requires_grad(), "r1_penalty: the real batch must require grad before D's forward pass");
  const int64_t m = scores.numel();
  TORCH_CHECK(m > 0 && real.size(0) % m == 0, "r1_penalty: ", m, " scores for a batch of ", real.size(0));
  torch::AutoGradMode grad_mode(true);
  auto grads = torch::autograd::grad({scores.sum()}, {real}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
  // Samples of one pack are consecutive, so [M, -1] groups each score's inputs.
  at::Tensor squared = grads.reshape({m, -1}).pow(2).sum(1);
  R1Penalty out;
  out.penalty = 0.5 * gamma * squared.mean();
  out.grad_norms = squared.detach().sqrt();
  return out;
}

}  // namespace impasto
