// The metrics' properties: FID of a set with itself is 0 and grows with noise, the stable trace of
// sqrtm matches a naive square root and survives rank deficiency, too few images are a clear error,
// KID is unbiased, IS has its textbook extremes, SSIM is 1 for identical images and falls with noise.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "impasto/core/error.h"
#include "impasto/metrics/fid.h"
#include "impasto/metrics/inception_score.h"
#include "impasto/metrics/ssim.h"
#include "test_support.h"

using namespace impasto;
using impasto::test::expect_error;

namespace {

// Gaussian features [n, d] with a random (seeded) covariance and mean.
at::Tensor gaussian_features(int64_t n, int64_t d, uint64_t seed) {
  torch::manual_seed(seed);
  auto mix = torch::randn({d, d}, torch::kFloat64) / std::sqrt(static_cast<double>(d));
  return torch::randn({n, d}, torch::kFloat64).matmul(mix) + torch::randn({d}, torch::kFloat64);
}

// Smooth random images in [0,1]: coarse noise upsampled, plus fine noise.
at::Tensor smooth_images(int64_t n, int64_t size, uint64_t seed) {
  torch::manual_seed(seed);
  namespace F = torch::nn::functional;
  auto coarse = torch::rand({n, 3, size / 8, size / 8});
  auto img = F::interpolate(coarse, F::InterpolateFuncOptions()
                                        .size(std::vector<int64_t>{size, size})
                                        .mode(torch::kBilinear)
                                        .align_corners(false));
  return (img + 0.05 * torch::randn({n, 3, size, size})).clamp(0, 1);
}

// The principal square root by the Denman-Beavers iteration on the non-symmetric product (the
// "naive" route pytorch-fid takes with scipy.linalg.sqrtm), for well-conditioned matrices.
at::Tensor sqrtm_denman_beavers(const at::Tensor& a) {
  auto y = a.clone();
  auto z = torch::eye(a.size(0), a.options());
  for (int i = 0; i < 60; ++i) {
    auto y_next = 0.5 * (y + torch::inverse(z));
    z = 0.5 * (z + torch::inverse(y));
    y = y_next;
  }
  return y;
}

at::Tensor covariance(const at::Tensor& f) {
  auto c = f - f.mean(0);
  return c.t().matmul(c) / static_cast<double>(f.size(0) - 1);
}

}  // namespace

TEST(MetricsFid, SetAgainstItselfIsZero) {
  const auto a = gaussian_features(300, 16, 1) * 10.0;  // feature scale ~10
  const double scale = covariance(a).trace().item<double>();
  const double d = fid(a, a);
  EXPECT_LT(std::abs(d), 1e-6 * scale) << d;
  // The order of the rows does not matter.
  EXPECT_LT(std::abs(fid(a, a.flip({0}))), 1e-6 * scale);
}

TEST(MetricsFid, GrowsMonotonicallyWithNoiseOnSyntheticFeatures) {
  const auto a = gaussian_features(400, 8, 2);
  torch::manual_seed(3);
  const auto noise = torch::randn(a.sizes(), torch::kFloat64);
  double previous = -1;
  for (double level : {0.0, 0.1, 0.2, 0.4, 0.8, 1.6}) {
    const double d = fid(a, a + level * noise);
    EXPECT_GT(d, previous) << "noise " << level;
    previous = d;
  }
}

TEST(MetricsFid, GrowsMonotonicallyWithImageNoiseOnRandomMultiscale) {
  // No download: the random-multiscale backbone's layer means (768-d). 24 images give a
  // rank-deficient covariance, which this comparison explicitly allows.
  FeatureNetworkOptions o;
  o.name = "random-multiscale";
  FeatureNetwork net(o);
  const auto images = smooth_images(24, 32, 4);
  const auto reference = net.features(images);
  ASSERT_EQ(reference.sizes(), (std::vector<int64_t>{24, 768}));
  FidOptions allow;
  allow.allow_rank_deficient = true;
  torch::manual_seed(5);
  const auto noise = torch::randn(images.sizes());
  double previous = -1;
  for (double level : {0.0, 0.05, 0.1, 0.2, 0.4}) {
    const double d = fid(reference, net.features((images + level * noise).clamp(0, 1)), allow);
    EXPECT_TRUE(std::isfinite(d));
    EXPECT_GT(d, previous) << "noise " << level;
    if (level == 0.0) EXPECT_LT(std::abs(d), 1e-6 * covariance(reference.to(torch::kFloat64)).trace().item<double>());
    previous = d;
  }
}

TEST(MetricsFid, StableTraceSqrtMatchesNaiveSqrtm) {
  const auto c1 = covariance(gaussian_features(200, 6, 6));
  const auto c2 = covariance(gaussian_features(200, 6, 7));
  const double naive = sqrtm_denman_beavers(c1.matmul(c2)).trace().item<double>();
  const double stable = trace_sqrt_product(c1, c2);
  EXPECT_NEAR(stable, naive, 1e-10 * std::abs(naive)) << stable << " vs " << naive;
  // Symmetric in its arguments (tr sqrtm(C1 C2) = tr sqrtm(C2 C1)).
  EXPECT_NEAR(trace_sqrt_product(c2, c1), stable, 1e-10 * std::abs(stable));
}

TEST(MetricsFid, StableTraceSqrtOnRankDeficientCovariances) {
  // 10 images of 32-d features: covariances of rank 9.
  const auto a = gaussian_features(10, 32, 8), b = gaussian_features(10, 32, 9);
  const auto ca = covariance(a), cb = covariance(b);
  const double t = trace_sqrt_product(ca, cb);
  EXPECT_TRUE(std::isfinite(t));
  EXPECT_GE(t, 0.0);
  // tr sqrtm(C C) = tr C, also for a singular C.
  EXPECT_NEAR(trace_sqrt_product(ca, ca), ca.trace().item<double>(), 1e-9 * ca.trace().item<double>());
  // Orthogonal rank-1 covariances: C1 C2 = 0, so the trace is exactly 0 (not NaN, not negative).
  auto e1 = torch::zeros({4, 4}, torch::kFloat64), e2 = torch::zeros({4, 4}, torch::kFloat64);
  e1[0][0] = 1.0;
  e2[1][1] = 2.0;
  EXPECT_EQ(trace_sqrt_product(e1, e2), 0.0);
  FidOptions allow;
  allow.allow_rank_deficient = true;
  const double d = fid(a, b, allow);
  EXPECT_TRUE(std::isfinite(d));
  EXPECT_GT(d, 0.0);
  EXPECT_LT(std::abs(fid(a, a, allow)), 1e-9 * ca.trace().item<double>());
}

TEST(MetricsFid, TooFewImagesIsAClearError) {
  const auto one = gaussian_features(1, 4, 10);
  std::string what = expect_error<OptionError>([&] { fid(one, one); });
  EXPECT_NE(what.find("at least 2 images"), std::string::npos) << what;

  const auto ten = gaussian_features(10, 16, 11);
  what = expect_error<OptionError>([&] { fid(ten, ten); });
  EXPECT_NE(what.find("16 dimensions"), std::string::npos) << what;
  EXPECT_NE(what.find("at least 17 images"), std::string::npos) << what;
  EXPECT_NE(what.find("allow_rank_deficient"), std::string::npos) << what;
  FidOptions allow;
  allow.allow_rank_deficient = true;
  EXPECT_NO_THROW(fid(ten, ten, allow));
  // Exactly D+1 images is a full-rank estimate.
  EXPECT_NO_THROW(fid(gaussian_features(17, 16, 12), gaussian_features(17, 16, 13)));
  // Allowing rank deficiency does not allow a single image.
  expect_error<OptionError>([&] { fid(one, one, allow); });
  // Feature sets from different networks.
  what = expect_error<OptionError>([&] { fid(gaussian_features(20, 4, 14), gaussian_features(20, 5, 15)); });
  EXPECT_NE(what.find("different dimensions"), std::string::npos) << what;
}

TEST(MetricsFeatures, RandomMultiscaleNeedsNoDownloadAndUnknownNamesAreListed) {
  FeatureNetworkOptions o;
  FeatureNetwork net(o);
  EXPECT_EQ(net.layers().size(), 8u);
  const auto f = net.features(smooth_images(3, 24, 16));
  EXPECT_EQ(f.sizes(), (std::vector<int64_t>{3, 64 * 4 + 128 * 4}));
  EXPECT_TRUE(torch::isfinite(f).all().item<bool>());
  o.name = "resnet";
  const std::string what = expect_error<OptionError>([&] { FeatureNetwork bad(o); });
  EXPECT_NE(what.find("inception"), std::string::npos) << what;
  EXPECT_NE(what.find("random-multiscale"), std::string::npos) << what;
}

TEST(MetricsKid, IdenticalSetsGiveAboutZero) {
  // Two sets of one distribution (independent halves of one sample): the unbiased estimate is ~0,
  // possibly negative, within its spread over subsets.
  const auto all = gaussian_features(400, 16, 17);
  const auto a = all.slice(0, 0, 200), b = all.slice(0, 200, 400);
  KidOptions o;
  o.subsets = 20;
  o.subset_size = 50;
  o.seed = 3;
  const KidResult same = kid(a, b, o);
  EXPECT_GT(same.std, 0.0);
  EXPECT_LT(std::abs(same.mean), same.std) << same.mean << " +- " << same.std;
  const KidResult shifted = kid(a, b + 0.5, o);
  EXPECT_GT(shifted.mean, 10 * same.std) << shifted.mean;
  // One set against itself: ~0 next to a real difference. (Slightly negative on average: subsets
  // drawn from one set share images, and a shared image adds k(x,x) to the cross term.)
  const KidResult itself = kid(a, a, o);
  EXPECT_LT(std::abs(itself.mean), 0.05 * shifted.mean) << itself.mean;
  // Deterministic for a seed.
  EXPECT_EQ(kid(a, b, o).mean, same.mean);
}

TEST(MetricsKid, SubsetSizeIsCappedAndOptionsChecked) {
  const auto a = gaussian_features(30, 4, 18), b = gaussian_features(40, 4, 19);
  KidOptions o;
  o.subsets = 3;
  const KidResult r = kid(a, b, o);  // default subset size 1000 -> 30
  EXPECT_EQ(r.subset_size, 30);
  EXPECT_EQ(r.subsets, 3);
  EXPECT_TRUE(std::isfinite(r.mean));
  o.subsets = 0;
  EXPECT_EQ(expect_error<OptionError>([&] { kid(a, b, o); }).find("option 'subsets'"), 0u);
  o.subsets = 1;
  std::string what = expect_error<OptionError>([&] { kid(a.slice(0, 0, 1), b, o); });
  EXPECT_NE(what.find("at least 2 images"), std::string::npos) << what;
}

TEST(MetricsInceptionScore, TextbookExtremes) {
  // Every image confidently one of 10 classes, classes evenly spread: IS = 10.
  const auto labels = torch::arange(100) % 10;
  const auto onehot = torch::one_hot(labels, 10).to(torch::kFloat64);
  InceptionScoreOptions one_split;
  one_split.splits = 1;
  EXPECT_NEAR(inception_score(onehot, one_split).mean, 10.0, 1e-12);
  const auto ten = inception_score(onehot);  // 10 splits of 10 images, each with every class once
  EXPECT_NEAR(ten.mean, 10.0, 1e-12);
  EXPECT_NEAR(ten.std, 0.0, 1e-12);
  // Every image the same class, or every prediction uniform: IS = 1.
  EXPECT_NEAR(inception_score(torch::one_hot(torch::zeros({50}, torch::kLong), 10).to(torch::kFloat64)).mean, 1.0, 1e-12);
  EXPECT_NEAR(inception_score_from_logits(torch::zeros({50, 1008})).mean, 1.0, 1e-12);
  // Sharper logits of the same spread classes score higher.
  const auto logits = torch::one_hot(labels, 10).to(torch::kFloat32);
  EXPECT_LT(inception_score_from_logits(logits * 2, one_split).mean,
            inception_score_from_logits(logits * 8, one_split).mean);
}

TEST(MetricsInceptionScore, BadInputsAreClearErrors) {
  const auto p = torch::full({5, 4}, 0.25);
  InceptionScoreOptions o;
  o.splits = 6;
  EXPECT_EQ(expect_error<OptionError>([&] { inception_score(p, o); }).find("option 'splits'"), 0u);
  o.splits = 1;
  const std::string what = expect_error<OptionError>([&] { inception_score(p * 2, o); });
  EXPECT_NE(what.find("inception_score_from_logits"), std::string::npos) << what;
}

TEST(MetricsSsim, IdenticalImagesScoreOne) {
  const auto x = smooth_images(2, 32, 20);
  for (const char* channels : {"luminance", "rgb"})
    for (const char* region : {"valid", "same"}) {
      SsimOptions o;
      o.channels = channels;
      o.region = region;
      const auto s = ssim(x, x, o);
      ASSERT_EQ(s.sizes(), (std::vector<int64_t>{2}));
      EXPECT_NEAR(s[0].item<double>(), 1.0, 1e-12) << channels << " " << region;
      EXPECT_NEAR(s[1].item<double>(), 1.0, 1e-12) << channels << " " << region;
    }
  EXPECT_EQ(ssim_map(x, x).sizes(), (std::vector<int64_t>{2, 1, 22, 22}));
  SsimOptions same;
  same.region = "same";
  same.channels = "rgb";
  EXPECT_EQ(ssim_map(x, x, same).sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
}

TEST(MetricsSsim, DecreasesWithNoise) {
  const auto x = smooth_images(1, 48, 21);
  torch::manual_seed(22);
  const auto noise = torch::randn(x.sizes());
  for (const char* channels : {"luminance", "rgb"}) {
    SsimOptions o;
    o.channels = channels;
    double previous = 1.0 + 1e-9;
    for (double level : {0.0, 0.02, 0.05, 0.1, 0.2, 0.4}) {
      const double s = ssim(x, (x + level * noise).clamp(0, 1), o).item<double>();
      EXPECT_LT(s, previous) << channels << " noise " << level;
      previous = s;
    }
    EXPECT_LT(previous, 0.5) << channels;
  }
}

TEST(MetricsSsim, BadInputsAreClearErrors) {
  const auto x = torch::rand({1, 3, 16, 16});
  std::string what = expect_error<OptionError>([&] { ssim(x, torch::rand({1, 3, 16, 17})); });
  EXPECT_NE(what.find("same shape"), std::string::npos) << what;
  what = expect_error<OptionError>([&] { ssim(torch::rand({1, 3, 10, 16}), torch::rand({1, 3, 10, 16})); });
  EXPECT_NE(what.find("11x11"), std::string::npos) << what;
  SsimOptions o;
  o.channels = "yuv";
  EXPECT_EQ(expect_error<OptionError>([&] { ssim(x, x, o); }).find("option 'channels'"), 0u);
  o = SsimOptions{};
  o.region = "full";
  EXPECT_EQ(expect_error<OptionError>([&] { ssim(x, x, o); }).find("option 'region'"), 0u);
}
