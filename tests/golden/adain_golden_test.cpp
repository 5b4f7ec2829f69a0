// Golden tests: the adain method against naoto0804/pytorch-AdaIN's architecture and formulas on
// random weights (tools/make_adain_fixtures.py: the vgg19_normalised_w8 encoder, a decoder with
// every width divided by 8), within 1e-4: the relu4_1 features and their statistics, the AdaIN
// target, and the decoder's output for one style, for alpha 0.5 and for two styles interpolated.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <iostream>

#include "impasto/io/weights.h"
#include "impasto/nn/adain.h"
#include "impasto/style/adain.h"
#include "test_support.h"

using namespace impasto;
using impasto::test::fixture;

namespace {

constexpr double kTolerance = 1e-4;

const std::string kDecoder = fixture("adain/decoder_w8.pth");
const std::string kEncoder = fixture("weights/vgg19_normalised_w8.pth");

std::map<std::string, at::Tensor> reference() {
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, t] : load_pth(fixture("adain/adain_w8_ref.pth"))) out[name] = t;
  return out;
}

at::Tensor canonical(const at::Tensor& u8) { return u8.to(torch::kFloat32) / 255.0; }

double max_diff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

AdainOptions fixture_options() {
  AdainOptions o;
  o.decoder = kDecoder;
  o.weights = kEncoder;
  o.image_size = 0;  // the reference's sizes
  o.style_size = 0;
  o.device = "cpu";
  o.precision = "fp32";  // the reference's numbers (auto may choose bf16: precision_test.cpp)
  return o;
}

// The method's output (canonical, clamped) for the fixture's content and styles.
at::Tensor stylized(const std::map<std::string, at::Tensor>& ref, const std::vector<std::pair<std::string, double>>& styles,
                    double alpha) {
  AdainOptions o = fixture_options();
  o.alpha = alpha;
  StyleSet set;
  for (const auto& [name, weight] : styles) set.styles.push_back(StyleInput{name, canonical(ref.at(name)), weight, {}});
  AdainSession session(o, set);
  Image content;
  content.rgb = canonical(ref.at("content"));
  return session.stylize(content, {}).image.rgb;
}

}  // namespace

TEST(AdainGolden, EncoderStatisticsAndTargetMatchTheReference) {
  auto ref = reference();
  auto model = load_adain_model(fixture_options());
  torch::NoGradGuard no_grad;
  const at::Tensor fc = model->encode(canonical(ref.at("content")));
  const at::Tensor fs = model->encode(canonical(ref.at("style_a")));
  ASSERT_EQ(fc.sizes(), ref.at("content_relu4_1").sizes());
  EXPECT_LE(max_diff(fc, ref.at("content_relu4_1")), kTolerance);
  const ChannelStatistics s = channel_statistics(fs);
  EXPECT_LE(max_diff(s.mean, ref.at("style_a_mean")), kTolerance);
  EXPECT_LE(max_diff(s.std, ref.at("style_a_std")), kTolerance);
  EXPECT_LE(max_diff(adaptive_instance_norm(fc, fs), ref.at("target_one")), kTolerance);
}

TEST(AdainGolden, TransferMatchesTheReferenceForOneStyleAlphaAndInterpolation) {
  auto ref = reference();
  auto model = load_adain_model(fixture_options());
  torch::NoGradGuard no_grad;
  const at::Tensor content = canonical(ref.at("content"));
  const ChannelStatistics a = channel_statistics(model->encode(canonical(ref.at("style_a"))));
  const ChannelStatistics b = channel_statistics(model->encode(canonical(ref.at("style_b"))));
  struct Case {
    const char* name;
    std::vector<ChannelStatistics> styles;
    std::vector<double> weights;
    double alpha;
  };
  const std::vector<Case> cases = {{"one", {a}, {1}, 1.0},
                                   {"alpha05", {a}, {1}, 0.5},
                                   {"interp", {a, b}, {1, 3}, 1.0},
                                   {"interp_alpha", {a, b}, {1, 3}, 0.7}};
  for (const auto& c : cases) {
    const at::Tensor out = model->transfer(content, c.styles, c.weights, c.alpha);
    ASSERT_EQ(out.sizes(), ref.at(c.name).sizes()) << c.name;
    const double diff = max_diff(out, ref.at(c.name));
    std::cout << "[ adain golden ] " << c.name << ": max |impasto - reference| = " << diff << "\n";
    EXPECT_LE(diff, kTolerance) << c.name;
  }
}

TEST(AdainGolden, TheMethodGivesTheReferenceOutputClamped) {
  auto ref = reference();
  const at::Tensor one = stylized(ref, {{"style_a", 1}}, 1.0);
  const at::Tensor half = stylized(ref, {{"style_a", 1}}, 0.5);
  const at::Tensor interp = stylized(ref, {{"style_a", 1}, {"style_b", 3}}, 1.0);
  EXPECT_LE(max_diff(one, ref.at("one").clamp(0, 1)), kTolerance);
  EXPECT_LE(max_diff(half, ref.at("alpha05").clamp(0, 1)), kTolerance);
  EXPECT_LE(max_diff(interp, ref.at("interp").clamp(0, 1)), kTolerance);
  // Fractional weights mean the same as integer ones of the same proportions.
  EXPECT_LE(max_diff(stylized(ref, {{"style_a", 0.25}, {"style_b", 0.75}}, 1.0), interp), 1e-6);
}
