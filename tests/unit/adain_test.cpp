// The adain method's parts and its handling of bad input: the AdaIN statistics (eps, one position,
// regions), the decoder's published layout and its loading errors, an encoder and decoder that do
// not fit, the options, sizes that are not multiples of 8 and tiny images, a constant-colour style,
// the session's style cache, masks and colour preservation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>

#include "impasto/core/error.h"
#include "impasto/io/weights.h"
#include "impasto/nn/adain.h"
#include "impasto/nn/backbone.h"
#include "impasto/style/adain.h"
#include "impasto/style/color.h"
#include "impasto/style/tiling.h"
#include "test_support.h"

using namespace impasto;
using impasto::test::fixture;

namespace {

const std::string kDecoder = fixture("adain/decoder_w8.pth");
const std::string kEncoder = fixture("weights/vgg19_normalised_w8.pth");

Json fixture_options(Json extra = Json::object()) {
  Json o{{"decoder", kDecoder}, {"weights", kEncoder}, {"image_size", 0}, {"style_size", 0}, {"device", "cpu"}};
  for (auto it = extra.begin(); it != extra.end(); ++it) o[it.key()] = *it;
  return o;
}

at::Tensor smooth_image(int64_t h, int64_t w, uint64_t seed) {
  torch::manual_seed(seed);
  const at::Tensor coarse = torch::rand({1, 3, std::max<int64_t>(2, h / 8), std::max<int64_t>(2, w / 8)});
  return torch::upsample_bilinear2d(coarse, {h, w}, false).clamp(0, 1);
}

StyleInput style(const std::string& name, const at::Tensor& image, double weight = 1, at::Tensor mask = {}) {
  return StyleInput{name, image, weight, std::move(mask)};
}

Image photo(const at::Tensor& rgb) {
  Image i;
  i.rgb = rgb;
  return i;
}

at::Tensor run(const Json& options, std::vector<StyleInput> styles, const at::Tensor& content) {
  auto session = open_session("adain", fixture_options(options), StyleSet{std::move(styles), {}});
  return session->stylize(photo(content), {}).image.rgb;
}

double max_diff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

}  // namespace

TEST(AdainParts, StatisticsUseTheUnbiasedVarianceWithEps) {
  const at::Tensor x = torch::tensor({1.f, 2.f, 3.f, 6.f}).view({1, 1, 2, 2});
  const ChannelStatistics s = channel_statistics(x);
  EXPECT_NEAR(s.mean.item<double>(), 3.0, 1e-6);
  EXPECT_NEAR(s.std.item<double>(), std::sqrt(14.0 / 3.0 + 1e-5), 1e-6);  // sum of squares 14, n - 1 = 3
  // Constant features: std sqrt(eps), AdaIN defined (the style's mean), no NaN.
  const ChannelStatistics flat = channel_statistics(torch::full({1, 2, 3, 3}, 0.7));
  EXPECT_NEAR(flat.std.max().item<double>(), std::sqrt(1e-5), 1e-7);
  const at::Tensor t = adaptive_instance_norm(torch::full({1, 2, 3, 3}, 0.7), torch::rand({1, 2, 4, 4}));
  EXPECT_TRUE(torch::isfinite(t).all().item<bool>());
  // A single position: variance 0, not NaN.
  EXPECT_TRUE(torch::isfinite(channel_statistics(torch::rand({1, 4, 1, 1})).std).all().item<bool>());
}

TEST(AdainParts, RegionStatisticsOverTheWholeImageEqualTheGlobalOnes) {
  const at::Tensor x = torch::rand({1, 5, 6, 7});
  const ChannelStatistics all = channel_statistics(x);
  const ChannelStatistics region = channel_statistics(x, torch::ones({1, 1, 6, 7}, torch::kBool));
  EXPECT_LE(max_diff(all.mean, region.mean), 1e-6);
  EXPECT_LE(max_diff(all.std, region.std), 1e-6);
  // The left half alone.
  at::Tensor left = torch::zeros({1, 1, 6, 7}, torch::kBool);
  left.narrow(3, 0, 3).fill_(true);
  const ChannelStatistics half = channel_statistics(x, left);
  const ChannelStatistics expected = channel_statistics(x.narrow(3, 0, 3).contiguous());
  EXPECT_LE(max_diff(half.mean, expected.mean), 1e-6);
  EXPECT_LE(max_diff(half.std, expected.std), 1e-6);
  // An empty region: defined.
  const ChannelStatistics none = channel_statistics(x, torch::zeros({1, 1, 6, 7}, torch::kBool));
  EXPECT_TRUE(torch::isfinite(none.std).all().item<bool>());
}

TEST(AdainParts, TheDecoderHasThePublishedLayout) {
  AdainDecoder d = make_adain_decoder(512);
  std::vector<std::string> keys;
  int64_t count = 0;
  for (const auto& p : d->named_parameters()) {
    keys.push_back(p.key());
    count += p.value().numel();
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"1.weight", "1.bias", "5.weight", "5.bias", "8.weight", "8.bias", "11.weight",
                                            "11.bias", "14.weight", "14.bias", "18.weight", "18.bias", "21.weight", "21.bias",
                                            "25.weight", "25.bias", "28.weight", "28.bias"}));
  EXPECT_EQ(count, 3505219);  // net.py's decoder
  EXPECT_EQ(d->named_parameters()["1.weight"].sizes(), (std::vector<int64_t>{256, 512, 3, 3}));
  torch::NoGradGuard no_grad;
  EXPECT_EQ(make_adain_decoder(64)->forward(torch::rand({1, 64, 2, 3})).sizes(), (std::vector<int64_t>{1, 3, 16, 24}));
  EXPECT_EQ(test::failing_option([] { make_adain_decoder(60); }), "decoder");
}

TEST(AdainParts, LoadingNamesTheFirstMissingOrMisshapedKey) {
  const StateDict good = load_weights(kDecoder);
  EXPECT_EQ(load_adain_decoder(good, "good.pth")->in_channels(), 64);

  StateDict missing;
  for (const auto& [k, t] : good)
    if (k != "14.bias") missing.emplace_back(k, t);
  auto msg = test::expect_error<FormatError>([&] { load_adain_decoder(missing, "m.pth"); });
  EXPECT_NE(msg.find("missing key '14.bias'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[16]"), std::string::npos) << msg;

  StateDict wrong = good;
  for (auto& [k, t] : wrong)
    if (k == "21.weight") t = torch::zeros({8, 16, 5, 5});
  msg = test::expect_error<FormatError>([&] { load_adain_decoder(wrong, "w.pth"); });
  EXPECT_NE(msg.find("'21.weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[8, 16, 5, 5]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[8, 16, 3, 3]"), std::string::npos) << msg;

  // The encoder's file given as the decoder.
  msg = test::expect_error<FormatError>([&] { load_adain_decoder(kEncoder); });
  EXPECT_NE(msg.find("not an AdaIN decoder"), std::string::npos) << msg;
  EXPECT_NE(msg.find("encoder"), std::string::npos) << msg;
  EXPECT_EQ(adain_model_kind(kDecoder), "adain_decoder");
  EXPECT_THROW(adain_model_kind(kEncoder), FormatError);
  EXPECT_THROW(adain_model_kind(fixture("style_nets/transformer_w4.pth")), FormatError);
}

TEST(AdainParts, AnEncoderAndDecoderThatDoNotFitAreNamedByKeyAndShape) {
  const std::string path = test::temp_dir("adain_mismatch") + "/decoder128.ckpt";
  save_checkpoint(path, Checkpoint{"adain_decoder", Json::object(), module_state_dict(*make_adain_decoder(128))});
  const StyleSet styles{{style("a", smooth_image(32, 32, 1))}, {}};
  auto msg = test::expect_error<FormatError>([&] { open_session("adain", fixture_options({{"decoder", path}}), styles); });
  EXPECT_NE(msg.find("'1.weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[64, 128, 3, 3]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("gives 64 channels"), std::string::npos) << msg;
}

TEST(AdainMethod, ChecksOptionsWithoutLoading) {
  const Method& m = method_registry().get("adain");
  EXPECT_FALSE(m.description().capabilities.iterative);
  EXPECT_TRUE(m.description().capabilities.masks);
  const Json checked = m.check(fixture_options());
  EXPECT_EQ(checked["alpha"], 1.0);
  EXPECT_EQ(checked["preserve_colors"], "none");
  EXPECT_EQ(test::failing_option([&] { m.check(fixture_options({{"alpha", 1.5}})); }), "alpha");
  EXPECT_EQ(test::failing_option([&] { m.check(fixture_options({{"alpha", -0.1}})); }), "alpha");
  EXPECT_EQ(test::failing_option([&] { m.check(fixture_options({{"preserve_colors", "sepia"}})); }), "preserve_colors");
  EXPECT_EQ(test::failing_option([&] { m.check(fixture_options({{"style_size", 8}})); }), "style_size");
  EXPECT_EQ(test::failing_option([&] { m.check(fixture_options({{"backbone", "vgg19"}})); }), "backbone");
  {  // No decoder given: the built-in one, and a message naming where it was looked for when it is missing.
    const std::string empty = test::temp_dir("adain_no_builtin");
    setenv("IMPASTO_MODELS_DIR", empty.c_str(), 1);
    const std::string message = test::expect_error<OptionError>([&] { m.check(fixture_options({{"decoder", ""}})); });
    unsetenv("IMPASTO_MODELS_DIR");
    EXPECT_NE(message.find(empty), std::string::npos) << message;
  }
  EXPECT_EQ(test::failing_option([&] { m.check(fixture_options({{"weights", ""}})); }), "weights");
  EXPECT_EQ(test::failing_option([&] { m.check(fixture_options({{"strength", 0.5}})); }), "strength");  // network's, not adain's
  EXPECT_THROW(m.check(fixture_options({{"decoder", "/nonexistent/decoder.pth"}})), FileError);
  // --decoder implies the method; --model still means network.
  EXPECT_EQ(method_registry().method_for({"decoder", "alpha"}), "adain");
  EXPECT_EQ(method_registry().method_for({"model"}), "network");
}

TEST(AdainMethod, BadStyleInputsAreClearErrors) {
  const at::Tensor content = smooth_image(32, 40, 1), s = smooth_image(32, 32, 2);
  EXPECT_EQ(test::failing_option([&] { run({}, {}, content); }), "style");
  EXPECT_EQ(test::failing_option([&] { run({}, {style("a", s, -1)}, content); }), "style_blend_weights");
  EXPECT_EQ(test::failing_option([&] { run({}, {style("a", s, 0), style("b", s, 0)}, content); }), "style_blend_weights");
  EXPECT_EQ(test::failing_option([&] { run({}, {style("a", s, 1, torch::ones({1, 1, 10, 10}))}, content); }), "masks");
  // A style image below the encoder's minimum (after style_size 0: its own size).
  EXPECT_EQ(test::failing_option([&] { run({}, {style("tiny", smooth_image(8, 40, 3))}, content); }), "style");
}

TEST(AdainMethod, AnySizeIsPaddedAndCroppedBackNeverDistorted) {
  const at::Tensor s = smooth_image(40, 40, 2);
  for (auto [h, w] : std::vector<std::pair<int64_t, int64_t>>{{50, 70}, {33, 17}, {5, 7}, {1, 1}, {16, 16}}) {
    const at::Tensor out = run({}, {style("a", s)}, smooth_image(h, w, 4));
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, 3, h, w})) << h << "x" << w;
    EXPECT_TRUE(torch::isfinite(out).all().item<bool>()) << h << "x" << w;
  }
  // image_size: the longest side, the aspect ratio kept.
  EXPECT_EQ(run({{"image_size", 64}}, {style("a", s)}, smooth_image(50, 100, 4)).sizes(), (std::vector<int64_t>{1, 3, 32, 64}));
}

TEST(AdainMethod, AConstantColourStyleGivesAFiniteDefinedResult) {
  const at::Tensor content = smooth_image(32, 48, 5);
  const at::Tensor red = torch::zeros({1, 3, 32, 32});
  red.select(1, 0).fill_(0.9);
  const at::Tensor out = run({}, {style("red", red)}, content);
  EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
  // A constant photo too.
  EXPECT_TRUE(torch::isfinite(run({}, {style("a", smooth_image(32, 32, 6))}, torch::full({1, 3, 24, 24}, 0.5))).all().item<bool>());
}

TEST(AdainMethod, AlphaZeroIgnoresTheStyle) {
  const at::Tensor content = smooth_image(32, 48, 7);
  const at::Tensor a = run({{"alpha", 0.0}}, {style("a", smooth_image(32, 32, 8))}, content);
  const at::Tensor b = run({{"alpha", 0.0}}, {style("b", smooth_image(40, 24, 9))}, content);
  EXPECT_LE(max_diff(a, b), 1e-6);
  EXPECT_GT(max_diff(run({}, {style("a", smooth_image(32, 32, 8))}, content), a), 1e-3);
}

TEST(AdainMethod, StyleStatisticsAreComputedOncePerSession) {
  AdainSession session(adain_options_from_json(method_registry().get("adain").check(fixture_options())),
                       StyleSet{{style("a", smooth_image(32, 32, 1)), style("b", smooth_image(24, 40, 2))}, {}});
  const at::Tensor first = session.stylize(photo(smooth_image(32, 32, 3)), {}).image.rgb;
  session.stylize(photo(smooth_image(40, 24, 4)), {});
  const at::Tensor again = session.stylize(photo(smooth_image(32, 32, 3)), {}).image.rgb;
  EXPECT_EQ(session.style_encodings(), 2);
  EXPECT_LE(max_diff(first, again), 0.0);
  // Colour preservation recolours the styles per photo, so they are encoded per photo.
  AdainSession recolouring(adain_options_from_json(method_registry().get("adain").check(fixture_options({{"preserve_colors", "histogram"}}))),
                           StyleSet{{style("a", smooth_image(32, 32, 1))}, {}});
  recolouring.stylize(photo(smooth_image(32, 32, 3)), {});
  recolouring.stylize(photo(smooth_image(32, 32, 4)), {});
  EXPECT_EQ(recolouring.style_encodings(), 2);
}

TEST(AdainMethod, LuminancePreservationKeepsThePhotosChroma) {
  const at::Tensor content = smooth_image(32, 48, 10);
  const at::Tensor out = run({{"preserve_colors", "luminance"}}, {style("a", smooth_image(32, 32, 11))}, content);
  const at::Tensor iq_out = rgb_to_yiq(out).narrow(1, 1, 2), iq_in = rgb_to_yiq(content).narrow(1, 1, 2);
  // Equal up to the clamp into [0,1].
  EXPECT_LE((iq_out - iq_in).abs().mean().item<double>(), 0.02);
  EXPECT_TRUE(torch::isfinite(run({{"preserve_colors", "histogram"}}, {style("a", smooth_image(32, 32, 11))}, content)).all().item<bool>());
}

TEST(AdainMethod, MasksGiveEachRegionItsStyleWithTheRegionsOwnStatistics) {
  const at::Tensor content = smooth_image(32, 48, 12);
  const at::Tensor a = smooth_image(32, 32, 13), b = smooth_image(32, 32, 14);
  // One style masked everywhere = the unmasked result.
  const at::Tensor plain = run({}, {style("a", a)}, content);
  EXPECT_LE(max_diff(run({}, {style("a", a, 1, torch::ones({1, 1, 32, 48}))}, content), plain), 1e-5);
  // Left and right halves.
  at::Tensor left = torch::zeros({1, 1, 32, 48});
  left.narrow(3, 0, 24).fill_(1);
  const at::Tensor both = run({}, {style("a", a, 1, left), style("b", b, 1, 1 - left)}, content);
  EXPECT_TRUE(torch::isfinite(both).all().item<bool>());
  EXPECT_EQ(both.sizes(), content.sizes());
  // Only the left half masked: the right half stays the photo.
  const at::Tensor only_left = run({}, {style("a", a, 1, left)}, content);
  EXPECT_LE(max_diff(only_left.narrow(3, 24, 24), content.narrow(3, 24, 24)), 1e-6);
  EXPECT_GT(max_diff(only_left.narrow(3, 0, 24), content.narrow(3, 0, 24)), 1e-3);
  // A masked style and an unmasked one: the unmasked one acts outside the mask.
  const at::Tensor mixed = run({}, {style("a", a, 1, left), style("b", b)}, content);
  EXPECT_GT(max_diff(mixed.narrow(3, 24, 24), content.narrow(3, 24, 24)), 1e-3);
}

// A photo larger than a tile goes through in tiles whose AdaIN statistics are the whole image's
// (measured tile by tile): the picture is the one-piece picture up to the tiles' border effects, and
// much closer to it than tiles normalised by their own statistics would be.
TEST(AdainMethod, LargePhotosGoThroughInTilesWithTheWholeImagesStatistics) {
  // Dark on the left, bright on the right: a tile's own statistics are far from the whole image's.
  const at::Tensor ramp = torch::linspace(0.1, 1.0, 176).view({1, 1, 1, 176});
  const at::Tensor content = smooth_image(128, 176, 3) * ramp, painting = smooth_image(64, 64, 9);
  const Json tiled_options{{"tile", 64}, {"overlap", 16}};
  auto whole_session = open_session("adain", fixture_options(), StyleSet{{style("s", painting)}, {}});
  const StylizeResult whole = whole_session->stylize(photo(content), {});
  auto tiled_session = open_session("adain", fixture_options(tiled_options), StyleSet{{style("s", painting)}, {}});
  const StylizeResult tiled = tiled_session->stylize(photo(content), {});
  EXPECT_EQ(whole.summary["tiles"], 1);
  EXPECT_GT(tiled.summary["tiles"].get<int>(), 4);
  ASSERT_EQ(tiled.image.rgb.sizes(), whole.image.rgb.sizes());

  // The statistics measured tile by tile against the one-piece encoding.
  const AdainModel& model = dynamic_cast<AdainSession&>(*tiled_session).model();
  TileOptions tiles;
  tiles.tile = 64;
  tiles.overlap = 16;
  tiles.multiple = 8;
  tiles.align = 8;
  const ChannelStatistics measured = adain_content_statistics(model, content, tiles);
  const ChannelStatistics exact = channel_statistics(model.encode(content));
  const double mean_error = ((measured.mean - exact.mean).abs().mean() / exact.mean.abs().mean()).item<double>();
  const double std_error = ((measured.std - exact.std).abs().mean() / exact.std.abs().mean()).item<double>();

  // Each tile with its own statistics (the seams this avoids): the method run on one tile's crop.
  const at::Tensor crop = content.narrow(2, 0, 64).narrow(3, 0, 64);
  const at::Tensor own = run({}, {style("s", painting)}, crop);
  const double tiled_error = (tiled.image.rgb - whole.image.rgb).abs().narrow(2, 0, 48).narrow(3, 0, 48).mean().item<double>();
  const double own_error = (own - whole.image.rgb.narrow(2, 0, 64).narrow(3, 0, 64)).abs().narrow(2, 0, 48).narrow(3, 0, 48).mean().item<double>();
  // Measured: statistics within 0.7% (mean) and 0.8% (std); mean picture error 0.003 tiled, 0.036
  // with the tile's own statistics.
  EXPECT_LT(mean_error, 0.03);
  EXPECT_LT(std_error, 0.03);
  EXPECT_LT(tiled_error, own_error / 4) << tiled_error << " " << own_error;
  // Tiles that cannot work are refused by name.
  EXPECT_EQ(test::failing_option([&] { run({{"tile", 64}, {"overlap", 32}}, {style("s", painting)}, content); }), "tile");
  EXPECT_EQ(test::failing_option([&] { run({{"overlap", -1}}, {style("s", painting)}, content); }), "overlap");
}
