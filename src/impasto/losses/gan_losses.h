#pragma once
// GAN objectives, each as its paper states it. `real` and `fake` are the discriminator's (critic's)
// raw outputs [N] on real and generated samples: logits for the probabilistic objectives, unbounded
// scores for the others. Every loss is a mean over the batch (D's real and fake terms are averaged
// separately, so the two batches may differ in size). Logit forms use softplus, finite for any
// magnitude.
//
//   minimax        Goodfellow et al. 2014. D maximises log D(x) + log(1 - D(G(z))), i.e. minimises
//                  softplus(-real) + softplus(fake); G minimises log(1 - D(G(z))) = -softplus(fake).
//   nonsaturating  Goodfellow et al. 2014, sec. 3: D as minimax; G minimises -log D(G(z)) =
//                  softplus(-fake).
//   lsgan          Mao et al. 2017, eq. 2 with a = 0, b = c = 1: D minimises 1/2 (real - 1)^2 +
//                  1/2 fake^2; G minimises 1/2 (fake - 1)^2.
//   wgan           Arjovsky et al. 2017: the critic minimises fake - real; G minimises -fake; the
//                  critic's weights are clipped to [-c, c] after each step (trainer's job).
//   wgangp         Gulrajani et al. 2017: wgan's losses plus the gradient penalty below (lambda 10),
//                  no clipping.
//   hinge          Lim & Ye 2017 / Miyato et al. 2018: D minimises relu(1 - real) + relu(1 + fake);
//                  G minimises -fake.
#include <ATen/core/Tensor.h>

#include <functional>
#include <string>
#include <vector>

namespace impasto {

enum class GanLoss { minimax, nonsaturating, lsgan, wgan, wgangp, hinge };

// Throws OptionError(option) listing the valid names.
GanLoss parse_gan_loss(const std::string& name, const std::string& option = "loss");
std::string to_string(GanLoss loss);
std::vector<std::string> gan_loss_names();

at::Tensor discriminator_loss(GanLoss loss, const at::Tensor& real, const at::Tensor& fake);
at::Tensor generator_loss(GanLoss loss, const at::Tensor& fake);

// Whether the probabilistic reading applies (sigmoid of the output is D's probability), so that the
// trainer can log D(x) and D(G(z)) as probabilities; otherwise it logs raw scores.
bool outputs_are_logits(GanLoss loss);

// The objectives of pytorch-CycleGAN-and-pix2pix's GANLoss (the `gan_mode` option), as CycleGAN
// (Zhu, Park, Isola, Efros 2017) trains with them. With f = D's output on a fake, r on a real:
//
//   lsgan    mean squared error to the target (Mao et al. 2017 without their 1/2): G minimises
//            (f - 1)^2; D's terms are (r - 1)^2 and f^2.
//   vanilla  binary cross entropy on logits: G minimises -log sigmoid(f) (the nonsaturating loss
//            above); D's terms are -log sigmoid(r) and -log(1 - sigmoid(f)).
//   wgangp   the Wasserstein scores (Gulrajani et al. 2017): G minimises -f; D's terms are -r and f;
//            the gradient penalty (gradient_penalty below) is the caller's to add.
//
// D's objective is halved: (L(D(real), real) + L(D(fake), fake)) / 2, "we divide the objective by 2
// while optimizing D, which slows down the rate at which D learns relative to G" (Zhu et al. 2017,
// sec. 4). The modes map onto GanLoss: lsgan -> lsgan, vanilla -> nonsaturating, wgangp -> wgangp.
// OptionError(option) listing lsgan, vanilla, wgangp for any other name.
GanLoss parse_cyclegan_gan_mode(const std::string& mode, const std::string& option = "gan_mode");
// G's objective: L(D(G(x)), real).
at::Tensor cyclegan_generator_loss(GanLoss loss, const at::Tensor& fake);
// D's halved objective: (L(D(real), real) + L(D(fake), fake)) / 2.
at::Tensor cyclegan_discriminator_loss(GanLoss loss, const at::Tensor& real, const at::Tensor& fake);

struct GradientPenalty {
  at::Tensor penalty;     // lambda * mean((||grad||_2 - 1)^2), differentiable w.r.t. the critic
  at::Tensor grad_norms;  // ||grad_x D(x_hat)||_2 per score (detached): [N], or [N / pack] for a packing D
};

// Gulrajani et al. 2017, Algorithm 1: x_hat = eps * real + (1 - eps) * fake with eps ~ U[0,1] per
// sample ([N] or [N,1,...], given so that callers control the randomness), and
//   penalty = lambda * E[(||grad_{x_hat} D(x_hat)||_2 - 1)^2].
// The gradient is taken with create_graph so that the penalty back-propagates into the critic.
// `fake` is detached inside.
GradientPenalty gradient_penalty(const std::function<at::Tensor(const at::Tensor&)>& critic,
                                 const at::Tensor& real, const at::Tensor& fake, const at::Tensor& eps,
                                 double lambda = 10.0);

struct R1Penalty {
  at::Tensor penalty;     // gamma / 2 * mean ||grad||^2, differentiable w.r.t. the discriminator
  at::Tensor grad_norms;  // [M] ||grad_x D(x)||_2 per score (detached)
};

// Mescheder, Geiger, Nowozin 2018, "Which Training Methods for GANs do actually Converge?", eq. 9:
//   R1 = gamma / 2 * E_{x ~ real}[ ||grad_x D(x)||^2 ],
// a penalty on D's gradient at the real data only, which makes training locally convergent for the
// unregularised objectives. `scores` [M] must come from a forward pass of D on `real` [N,...] with
// `real.requires_grad()`; the gradient is taken with create_graph so the penalty back-propagates
// into D. When D judges packs of N / M samples at once (PacGAN), each score's gradient covers its
// pack: the norm is over the whole packed input.
R1Penalty r1_penalty(const at::Tensor& scores, const at::Tensor& real, double gamma);

}  // namespace impasto
