// The GAN engine learns: small CPU runs on synthetic data, judged the way the literature judges
// them (mode coverage and sample quality on the ring of Gaussians, Metz et al. 2017 / Srivastava
// et al. 2017; a classifier's confidence and class spread on generated digits, the idea behind the
// Inception Score of Salimans et al. 2016).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <iostream>

#include "impasto/data/dataset.h"
#include "impasto/io/image.h"
#include "impasto/io/run_dir.h"
#include "impasto/nn/gan_model.h"
#include "impasto/train/digit_classifier.h"
#include "impasto/train/gan_trainer.h"
#include "test_support.h"

using namespace impasto;

namespace {

struct RingScore {
  int modes_covered = 0;     // modes holding >= 2% of the samples within 3 std
  double high_quality = 0;   // fraction of samples within 3 std of some mode
};

RingScore score_ring(const at::Tensor& points) {
  const at::Tensor modes = ring8_modes().to(at::kFloat);
  const at::Tensor d = at::cdist(points.to(at::kFloat), modes);  // [N,8]
  const auto [nearest, which] = d.min(1);
  const at::Tensor good = nearest <= 3 * kRingStd;
  RingScore s;
  s.high_quality = good.to(at::kDouble).mean().item<double>();
  for (int64_t m = 0; m < 8; ++m) {
    const double share = (good & (which == m)).to(at::kDouble).mean().item<double>();
    s.modes_covered += share >= 0.02;
  }
  return s;
}

RingScore train_ring(const std::string& loss) {
  GanTrainOptions o;
  o.data.synthetic = "ring8";
  o.data.batch_size = 256;
  o.nets.z_dim = 8;
  o.nets.mlp_hidden = 128;
  o.nets.mlp_layers = 3;
  o.loss = loss;
  // Two time-scale updates (Heusel et al. 2017: D learns 3x faster than G) and a linear decay to 0
  // over the second half, which settles G onto the modes (std 0.02: "within 3 std" is +-0.06).
  o.steps = 4000;
  o.lr_g = 1e-3;
  o.lr_d = 3e-3;
  o.schedule = "linear";
  o.decay_start = 2000;
  o.ema = 0;
  // LSGAN's unbounded least-squares critic collapses to 3-5 modes for 4 of 5 seeds without it; with
  // spectral norm in D all 5 seeds cover 8/8 modes with 82-89% of samples within 3 std.
  o.nets.spectral_norm = loss == "lsgan";
  if (loss == "wgangp") {
    // The authors' own toy setting (Gulrajani et al. 2017, gan_toy.py): a gradient-penalty weight
    // of 0.1 instead of the image default 10. With 10 the critic is so smooth at the scale of
    // these modes (std 0.02) that samples bridge them: 7/8 modes but only 32-49% within 3 std.
    // One critic step per G step, with TTUR instead; seeds 1-4 then cover 8/8 modes with 90-91%
    // of samples within 3 std (lambda 1: 87-91%).
    o.gp_lambda = 0.1;
    o.n_critic = 1;
  }
  o.log_every = 100;
  o.sample_every = 1000;
  o.checkpoint_every = 100000;
  o.device = "cpu";
  o.seed = 1;
  const std::string dir = test::temp_dir("ring_" + loss);
  train_gan(o, dir, {});
  GanModel model = load_gan_model(dir);
  const at::Tensor points = generate(model, sample_latents(2000, o.nets.z_dim, 0, 123));
  RingScore s = score_ring(points);
  std::printf("ring8 %-13s modes covered %d/8, within 3 std %.1f%%\n", loss.c_str(), s.modes_covered, 100 * s.high_quality);
  return s;
}

}  // namespace

class RingOfGaussians : public ::testing::TestWithParam<std::string> {};

TEST_P(RingOfGaussians, CoversTheModesWithSharpSamples) {
  const RingScore s = train_ring(GetParam());
  EXPECT_GE(s.modes_covered, 7);
  EXPECT_GE(s.high_quality, 0.8);
}

// A DCGAN on rendered digits makes digits a classifier trained on real ones recognises, of every
// class (no mode collapse). The Inception-Score-like figure exp(E KL(p(y|x) || p(y))) is printed.
//
// The data is `digits-paper`: the same Hershey digits (8 faces, italics, size, stroke, rotation,
// shift, ink and paper colours, gradient, noise) with dark ink on light paper. On `digits` in grey
// half the samples are light-on-dark, and inside this budget no recipe of about 30 tried balanced
// the classes there (6-9 of 10 classes at 5%). On `digits-paper` the balance is a matter of
// training length: the generator first over-draws round closed shapes (8s at 20-25% after 1000-2000
// steps; 4s and 9s at 2-6%) and spreads out as it trains. Pixel-norm G with nearest-upsample steps,
// a PacGAN D (pack 2; Lin et al. 2018), batch-norm D, nonsaturating loss, TTUR, EMA of G; judged
// by a 2000-step classifier (1.000 on real digits), 1000 latents, one thread, seeds 1/3/5/7/9/11:
//   2000 steps: 9/8/9/9/9/9 classes >= 5% (second-smallest share 0.069/0.045/0.064/0.052/0.057/0.047)
//   4500 steps: 9 or 10 classes for every seed (second-smallest 0.072/-/-/0.064/0.063/0.070, the
//               seeds 3 and 5 checked at 4000 and 5000: 0.060-0.081), mean top-1 0.927-0.939,
//               exp(E KL) 7.8-8.2 (10 = perfect).
// The class that stays short is the 4 (2.5-6%): closed-top 4s are the hardest shape for G.
// This test takes about 3.5 minutes on 2 cores (4500 G steps at ~32 ms, the judge ~35 s): longer
// than the other learning tests, because fewer steps leave the balance at the threshold.
TEST(RenderedDigits, GeneratedDigitsAreRecognisedAndCoverTheClasses) {
  const int64_t channels = 1;
  DigitClassifierOptions judge;
  judge.channels = channels;
  judge.synthetic = "digits-paper";
  judge.steps = 2000;
  const DigitClassifierResult trained = train_digit_classifier(judge);
  std::printf("digit classifier accuracy on real digits: %.3f\n", trained.accuracy);
  ASSERT_GE(trained.accuracy, 0.98);
  DigitClassifier classifier = trained.net;

  GanTrainOptions o;
  o.data.synthetic = "digits-paper";
  o.data.size = 32;
  o.data.channels = channels;
  o.data.batch_size = 32;
  o.nets.z_dim = 32;
  o.nets.g_width = 16;
  o.nets.d_width = 16;
  o.nets.g_norm = "pixel";
  o.nets.g_upsample = "nearest";
  o.nets.pack = 2;
  o.loss = "nonsaturating";
  o.steps = 4500;
  o.lr_g = 5e-4;
  o.lr_d = 1e-3;
  o.log_every = 500;
  o.sample_every = 1500;
  o.checkpoint_every = 100000;
  o.device = "cpu";
  o.seed = 1;
  const std::string dir = test::temp_dir("digits_gan");
  train_gan(o, dir, {});
  GanModel model = load_gan_model(dir);
  const at::Tensor images = generate(model, sample_latents(1000, o.nets.z_dim, 0, 77));
  torch::NoGradGuard no_grad;
  const at::Tensor p = torch::softmax(classifier->forward(images), 1);  // p(y|x) [N,10]
  const double mean_top1 = std::get<0>(p.max(1)).mean().item<double>();
  const at::Tensor share = torch::bincount(p.argmax(1), {}, 10).to(at::kDouble) / p.size(0);
  const at::Tensor py = p.mean(0, true);
  const double inception_like = std::exp((p * (p.clamp_min(1e-12).log() - py.log())).sum(1).mean().item<double>());
  int classes_present = 0;
  for (int64_t c = 0; c < 10; ++c) classes_present += share[c].item<double>() >= 0.05;
  std::printf("generated digits: mean top-1 %.3f, classes with >= 5%%: %d/10 (smallest share %.3f), score exp(E KL) %.2f (real-data max 10)\n",
              mean_top1, classes_present, share.min().item<double>(), inception_like);
  std::cout << "class shares: " << share.reshape({1, 10}) << std::endl;
  EXPECT_GE(mean_top1, 0.8);
  EXPECT_GE(classes_present, 9);
}

// The small-collection preset (train/gan_trainer.h) on a folder of images it was not tuned on: the
// preset was measured on the TrueType digits (docs/gan-small-collections.md); here it learns the
// Hershey digits in colour (the `digits` set: its own faces, strokes, palettes, gradients and
// noise), written to a folder of 2000 PNG files as a user's collection would be, with every
// option left to the preset. Judged by evaluation during training (the run's own log): a classifier
// trained on real Hershey digits, and FID falling from the first to the last evaluation. Measured
// (one thread, about 4.5 minutes with the judge): FID 109 / 40 / 35 / 49 at steps 500-2000, mean
// top-1 0.85 / 0.82 / 0.82 / 0.83, 7-8 classes at >= 5%, exp(E KL) 4.0-4.7: a start, not the
// 15-minute figures of docs/gan-small-collections.md; the thresholds keep a margin below them.
TEST(SmallCollection, PresetLearnsAFolderOfDigitsItWasNotTunedOn) {
  constexpr int64_t kFiles = 2000;
  const std::string data = test::temp_dir("small_collection_data");
  {
    DatasetOptions d;
    d.synthetic = "digits";
    d.size = 32;
    d.batch_size = 100;
    d.seed = 4242;
    auto source = make_dataset(d);
    source->start(0);
    for (int64_t written = 0; written < kFiles;) {
      const Batch b = source->next();
      for (int64_t i = 0; i < b.samples.size(0); ++i, ++written)
        write_image(data + "/" + std::to_string(written) + ".png", b.samples[i]);
    }
  }
  GanTrainOptions o;
  o.data.folder = data;
  o.data.size = 32;
  o.steps = 2000;
  o.eval_every = 2000 / 4;
  o.eval_images = 500;
  o.eval_classifier = "digits";
  o.log_every = 100;
  o.sample_every = 2000 / 2;
  o.checkpoint_every = 100000;
  o.device = "cpu";
  o.seed = 1;
  const std::string dir = test::temp_dir("small_collection_run");
  train_gan(o, dir, {});
  const Json config = RunFolder(dir).read_config();
  EXPECT_EQ(config["preset"], "small");
  EXPECT_EQ(config["arch"], "fastgan");
  std::vector<Json> evaluations;
  for (const Json& record : RunFolder(dir).read_log())
    if (record.contains("fid")) evaluations.push_back(record);
  ASSERT_EQ(evaluations.size(), 4u);
  for (const Json& e : evaluations)
    std::printf("step %lld (%.0f s): FID %.2f, KID %.4f, top-1 %.3f, classes >= 5%% %lld, smallest %.3f, exp(E KL) %.2f\n",
                static_cast<long long>(e["step"].get<int64_t>()), e["train_s"].get<double>(), e["fid"].get<double>(),
                e["kid"].get<double>(), e["top1"].get<double>(), static_cast<long long>(e["classes_5pct"].get<int64_t>()),
                e["smallest_share"].get<double>(), e["score"].get<double>());
  const Json& last = evaluations.back();
  EXPECT_LT(last["fid"].get<double>(), 0.6 * evaluations.front()["fid"].get<double>());
  EXPECT_GE(last["top1"].get<double>(), 0.75);
  EXPECT_GE(last["classes_5pct"].get<int64_t>(), 6);
  EXPECT_GE(last["score"].get<double>(), 3.5);
}

INSTANTIATE_TEST_SUITE_P(Objectives, RingOfGaussians, ::testing::Values("nonsaturating", "lsgan", "wgangp", "hinge"));
