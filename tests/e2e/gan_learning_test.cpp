// The GAN engine learns: small CPU runs on synthetic data, judged the way the literature judges
// them (mode coverage and sample quality on the ring of Gaussians, Metz et al. 2017 / Srivastava
// et al. 2017; a classifier's confidence and class spread on generated digits, the idea behind the
// Inception Score of Salimans et al. 2016).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>

#include "impasto/data/dataset.h"
#include "impasto/nn/gan_model.h"
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

INSTANTIATE_TEST_SUITE_P(Objectives, RingOfGaussians, ::testing::Values("nonsaturating", "hinge"));
