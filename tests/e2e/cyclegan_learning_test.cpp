// CycleGAN learns an unpaired mapping with a known answer: rendered digits in two palettes
// (digits-paper: dark ink on cream; digits-neon: glowing ink on near-black). After a short CPU run,
// translated images must land in the target domain (judged by a domain classifier trained here on
// real images of both) and keep their digit (judged by the digit classifier of
// train/digit_classifier.h, which reads both palettes), as Zhu et al. 2017 judge translations with
// classifiers (FCN scores, sec. 5.1) rather than by eye.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>

#include "impasto/core/runtime.h"
#include "impasto/data/dataset.h"
#include "impasto/nn/cyclegan_nets.h"
#include "impasto/train/cyclegan_trainer.h"
#include "impasto/train/digit_classifier.h"
#include "test_support.h"

using namespace impasto;

namespace {

namespace nn = torch::nn;

constexpr int64_t kSize = 32;

// Real digits of one domain, unseen in training (their own seed), with their labels.
Batch held_out(const std::string& set, int64_t n) {
  DatasetOptions d;
  d.synthetic = set;
  d.size = kSize;
  d.batch_size = n;
  d.seed = 424242;
  d.workers = 0;
  auto data = make_dataset(d);
  data->start(0);
  return data->next();
}

// Paper (0) or neon (1): two strided convs and a linear layer on the global mean.
struct DomainClassifierImpl : nn::Module {
  DomainClassifierImpl() {
    c1 = register_module("c1", nn::Conv2d(nn::Conv2dOptions(3, 8, 3).stride(2).padding(1)));
    c2 = register_module("c2", nn::Conv2d(nn::Conv2dOptions(8, 16, 3).stride(2).padding(1)));
    fc = register_module("fc", nn::Linear(16, 2));
  }
  at::Tensor forward(const at::Tensor& x) {
    return fc(torch::relu(c2(torch::relu(c1(x * 2 - 1)))).mean({2, 3}));
  }
  nn::Conv2d c1{nullptr}, c2{nullptr};
  nn::Linear fc{nullptr};
};
TORCH_MODULE(DomainClassifier);

DomainClassifier train_domain_classifier() {
  seed_everything(99);
  DomainClassifier net;
  torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(3e-3));
  std::unique_ptr<Dataset> sets[2];
  for (int k = 0; k < 2; ++k) {
    DatasetOptions d;
    d.synthetic = k == 0 ? "digits-paper" : "digits-neon";
    d.size = kSize;
    d.batch_size = 32;
    d.seed = 77;
    d.workers = 1;
    sets[k] = make_dataset(d);
    sets[k]->start(0);
  }
  for (int step = 0; step < 60; ++step) {
    const at::Tensor x = at::cat({sets[0]->next().samples, sets[1]->next().samples});
    const at::Tensor y = at::cat({at::zeros({32}, at::kLong), at::ones({32}, at::kLong)});
    const at::Tensor loss = torch::cross_entropy_loss(net->forward(x), y);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
  }
  net->eval();
  return net;
}

double share(const at::Tensor& hits) { return hits.to(at::kDouble).mean().item<double>(); }

}  // namespace

TEST(CycleGanLearning, TranslatesDigitsBetweenPalettesAndKeepsThem) {
  const auto start = std::chrono::steady_clock::now();
  // Half the library default's steps: 98.4% on real digits of both palettes (the default's 800 steps
  // cost twice the time; 300 give 97.7% and 150 only 86%).
  DigitClassifierOptions judge;
  judge.steps = 400;
  DigitClassifierResult digits = train_digit_classifier(judge);
  const double digit_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  DomainClassifier domain = train_domain_classifier();
  const Batch paper = held_out("digits-paper", 256), neon = held_out("digits-neon", 256);
  {
    torch::NoGradGuard no_grad;
    const double real_domain =
        (share(domain->forward(paper.samples).argmax(1) == 0) + share(domain->forward(neon.samples).argmax(1) == 1)) / 2;
    const double real_digit = (share(digits.net->forward(paper.samples).argmax(1) == paper.labels) +
                               share(digits.net->forward(neon.samples).argmax(1) == neon.labels)) / 2;
    std::printf("judges on real held-out digits: domain %.3f, digit %.3f\n", real_domain, real_digit);
    ASSERT_GE(real_domain, 0.98);
    ASSERT_GE(real_digit, 0.95);
  }
  const double judges_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("judges trained in %.1f s (digits %.1f s)\n", judges_s, digit_s);

  CycleGanTrainOptions o;
  o.synthetic_a = "digits-paper";
  o.synthetic_b = "digits-neon";
  o.size = kSize;
  o.flip = false;  // a mirrored digit is not a digit
  o.batch_size = 4;
  o.workers = 1;
  o.netG = "resnet_2blocks";
  o.ngf = 8;
  o.netD = "n_layers";
  o.n_layers_D = 2;
  o.ndf = 16;
  // Five times the paper's learning rate for these tiny nets: with 2e-4, 300 steps translate the
  // palettes but blur the digits (44% kept); with 1e-3, 200 steps (linear decay over the second
  // half) keep 88-91% (paper -> neon) and 96-97% (neon -> paper) for seeds 1-3, all judged in the
  // target domain. Without the identity loss seed 1 keeps only 80%; ngf 16 (300 steps) keeps 95-96%
  // at about 1.6 times the time. The path of a GAN depends on float32 summation orders, which oneDNN
  // chooses by CPU: on an AMD EPYC (2026-12-07) seed 1 keeps 78.9% (paper -> neon) and 94.9%, hence
  // 75% for the digits below (chance is 10%).
  o.lr = 1e-3;
  o.steps = 200;
  o.log_every = 50;
  o.sample_every = 100;
  o.checkpoint_every = 100000;
  o.device = "cpu";
  o.seed = 1;
  const std::string dir = test::temp_dir("cyclegan_digits");
  const CycleGanTrainResult result = train_cyclegan(o, dir, {});

  const CycleGanGenerator G_A = load_cyclegan_generator(result.generator_a);
  const CycleGanGenerator G_B = load_cyclegan_generator(result.generator_b);
  torch::NoGradGuard no_grad;
  const at::Tensor to_neon = translate(*G_A, paper.samples), to_paper = translate(*G_B, neon.samples);
  const double a_in_b = share(domain->forward(to_neon).argmax(1) == 1);
  const double b_in_a = share(domain->forward(to_paper).argmax(1) == 0);
  const double a_digit = share(digits.net->forward(to_neon).argmax(1) == paper.labels);
  const double b_digit = share(digits.net->forward(to_paper).argmax(1) == neon.labels);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("paper -> neon: %.1f%% judged neon, %.1f%% keep their digit\n", 100 * a_in_b, 100 * a_digit);
  std::printf("neon -> paper: %.1f%% judged paper, %.1f%% keep their digit\n", 100 * b_in_a, 100 * b_digit);
  std::printf("%lld steps in %.1f s (%.1f s with the judges)\n", static_cast<long long>(result.step), result.seconds, seconds);
  EXPECT_GE(a_in_b, 0.8);
  EXPECT_GE(b_in_a, 0.8);
  EXPECT_GE(a_digit, 0.75);
  EXPECT_GE(b_digit, 0.75);
}
