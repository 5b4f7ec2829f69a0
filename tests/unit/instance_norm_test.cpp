// Instance normalisation with whole-image statistics (nn/instance_norm.h): the same numbers as
// torch::nn::InstanceNorm2d, fixed statistics as the formula says, statistics measured region by
// region equal to the whole input's, mapped to strided layers, and found inside the networks.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "impasto/core/error.h"
#include "impasto/nn/cyclegan_nets.h"
#include "impasto/nn/instance_norm.h"
#include "impasto/nn/transformer_net.h"
#include "test_support.h"

using namespace impasto;

TEST(InstanceNorm, SameNumbersAsLibTorchsInstanceNorm2d) {
  torch::manual_seed(3);
  const at::Tensor x = torch::randn({2, 5, 9, 13}) * 3 + 1;
  for (bool affine : {false, true}) {
    InstanceNorm ours(5, affine);
    torch::nn::InstanceNorm2d theirs(torch::nn::InstanceNorm2dOptions(5).affine(affine));
    if (affine) {
      torch::NoGradGuard no_grad;
      const at::Tensor w = torch::rand({5}) + 0.5, b = torch::randn({5});
      ours->weight.copy_(w);
      theirs->weight.copy_(w);
      ours->bias.copy_(b);
      theirs->bias.copy_(b);
    }
    EXPECT_TRUE(torch::equal(ours->forward(x), theirs->forward(x))) << "affine " << affine;
    // The same keys: weight and bias when affine, nothing otherwise.
    EXPECT_EQ(ours->named_parameters().keys(), theirs->named_parameters().keys());
    EXPECT_EQ(ours->named_buffers().size(), 0u);
  }
  test::expect_error<SourceError>([] { InstanceNorm(5)->forward(torch::rand({1, 4, 8, 8})); });
}

TEST(InstanceNorm, FixedStatisticsReplaceTheInputsOwn) {
  torch::manual_seed(4);
  InstanceNorm norm(3, true);
  {
    torch::NoGradGuard no_grad;
    norm->weight.copy_(torch::tensor({1.0f, 2.0f, 0.5f}));
    norm->bias.copy_(torch::tensor({0.0f, -1.0f, 3.0f}));
  }
  const at::Tensor x = torch::randn({1, 3, 6, 7});
  const at::Tensor mean = torch::tensor({0.5f, -2.0f, 1.0f}), var = torch::tensor({4.0f, 0.25f, 1.0f});
  norm->set_statistics(mean, var);
  const at::Tensor expected = (x - mean.view({1, 3, 1, 1})) / torch::sqrt(var.view({1, 3, 1, 1}) + 1e-5) *
                                  norm->weight.view({1, 3, 1, 1}) + norm->bias.view({1, 3, 1, 1});
  EXPECT_LT((norm->forward(x) - expected).abs().max().item<float>(), 1e-5);
  norm->clear_statistics();
  const at::Tensor own = norm->forward(x);
  EXPECT_NEAR(((own - norm->bias.view({1, 3, 1, 1})) / norm->weight.view({1, 3, 1, 1})).mean().item<double>(), 0.0, 1e-5);
  test::failing_option([&] { norm->set_statistics(torch::zeros({2}), torch::ones({3})); });
}

TEST(InstanceNorm, RegionsMeasuredOneByOneGiveTheWholeInputsStatistics) {
  torch::manual_seed(5);
  // Four regions of unequal size and very different levels, and a strided copy of the input that
  // sees the same fractions at half the resolution.
  const at::Tensor x = torch::randn({1, 4, 40, 60}) * torch::linspace(0.5, 4, 60).view({1, 1, 1, 60}) +
                       torch::linspace(-3, 10, 40).view({1, 1, 40, 1});
  InstanceNorm norm(4);
  const std::vector<NormRegion> regions = {{0, 0.25, 0, 0.4}, {0, 0.25, 0.4, 1}, {0.25, 1, 0, 0.7}, {0.25, 1, 0.7, 1}};
  for (const NormRegion& r : regions) {
    norm->start_measuring(r);
    norm->forward(x);
  }
  norm->stop_measuring();
  const auto [mean, var] = norm->measured_statistics();
  const auto [whole_var, whole_mean] = torch::var_mean(x, {0, 2, 3}, /*unbiased=*/false);
  EXPECT_LT((mean - whole_mean).abs().max().item<float>(), 1e-4);
  EXPECT_LT(((var - whole_var).abs() / whole_var).max().item<float>(), 1e-5);
  EXPECT_EQ(norm->measured_count(), 40.0 * 60.0);
  // Measuring off: more forward calls add nothing.
  norm->forward(x);
  EXPECT_EQ(norm->measured_count(), 40.0 * 60.0);

  norm->reset_totals();
  const at::Tensor half = x.slice(2, 0, 40, 2).slice(3, 0, 60, 2);  // 20 x 30
  for (const NormRegion& r : regions) {
    norm->start_measuring(r);
    norm->forward(half);
  }
  EXPECT_EQ(norm->measured_count(), 20.0 * 30.0);  // 0.25 * 20 = 5 rows, 0.4 * 30 = 12 columns, ...
  test::failing_option([&] { norm->start_measuring({0.5, 0.5, 0, 1}); });
}

TEST(InstanceNorm, TheNetworksUseItAndWholeImageNormsFindsEveryOne) {
  TransformerNetOptions t;
  t.width = 4;
  t.residual_blocks = 3;
  TransformerNet net = make_transformer_net(t);
  const auto norms = instance_norms(*net);
  ASSERT_EQ(norms.size(), 5u + 2u * 3u);  // in1..in5 and two per residual block
  EXPECT_EQ(norms.front().first, "in1");
  EXPECT_TRUE(norms.front().second->affine());
  CycleGanGeneratorOptions g;
  g.arch = "resnet_2blocks";
  g.ngf = 2;
  CycleGanGenerator generator = make_cyclegan_generator(g);
  const auto generator_norms = instance_norms(*generator);
  EXPECT_EQ(generator_norms.size(), 3u + 2u * 2u + 2u);
  EXPECT_FALSE(generator_norms.front().second->affine());

  // Fixing measured statistics makes the whole-image pass repeat itself exactly; release restores it.
  torch::NoGradGuard no_grad;
  net->eval();
  const at::Tensor image = torch::rand({1, 3, 32, 48}) * 255;
  auto run = [&](const at::Tensor& x) { return net->forward_raw(x); };  // unclamped
  const at::Tensor own = run(image);
  {
    WholeImageNorms whole(*net);
    whole.measure(NormRegion{});
    run(image);
    whole.fix_measured();
    EXPECT_LT((run(image) - own).abs().max().item<float>(), 1e-4 * own.abs().max().item<float>());
    // A darker copy is now normalised with the first image's statistics, so it comes out otherwise;
    // with its own statistics the first instance norm removes the scale and it comes out the same.
    EXPECT_GT((run(image * 0.5) - own).abs().max().item<float>(), 0.1 * own.abs().max().item<float>());
  }  // released
  for (const auto& [name, norm] : instance_norms(*net)) EXPECT_FALSE(norm->has_statistics()) << name;
  EXPECT_TRUE(torch::equal(run(image), own));
  EXPECT_LT((run(image * 0.5) - own).abs().max().item<float>(), 1e-3 * own.abs().max().item<float>());
}

TEST(InstanceNorm, NormByNormMeasurementStopsAtEachNormAndIsExact) {
  TransformerNetOptions t;
  t.width = 4;
  t.residual_blocks = 2;
  TransformerNet net = make_transformer_net(t);
  net->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor image = torch::rand({1, 3, 24, 40}) * 255;
  const at::Tensor own = net->forward_raw(image);
  WholeImageNorms whole(*net);
  // Two halves of the image as two "tiles" of one pass each (the region is in fractions of the input,
  // which here is the whole image both times).
  for (size_t k = 0; k < whole.size(); ++k) {
    for (const NormRegion& half : {NormRegion{0, 0.5, 0, 1}, NormRegion{0.5, 1, 0, 1}}) {
      whole.measure_one(k, half);
      EXPECT_THROW(net->forward_raw(image), ForwardStopped) << "norm " << k;
    }
    whole.fix_measured();
  }
  for (const auto& [name, stats] : whole.fixed()) EXPECT_TRUE(stats.first.defined()) << name;
  EXPECT_LT((net->forward_raw(image) - own).abs().max().item<float>(), 1e-4 * own.abs().max().item<float>());
  EXPECT_EQ(test::failing_option([&] { whole.measure_one(whole.size(), NormRegion{}); }), "norm");
}
