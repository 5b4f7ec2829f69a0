// Stylization by a trained network (method "network", style/network.h) on the random-weight
// fixtures of tools/make_style_net_fixtures.py: the output is the network's own at full
// resolution, tiles give the same picture, strength is a straight line from the photo, colours can
// be kept, and the CLI takes --model without a style image.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "impasto/core/error.h"
#include "impasto/data/synthetic.h"
#include "impasto/io/image.h"
#include "impasto/nn/cyclegan_nets.h"
#include "impasto/nn/transformer_net.h"
#include "impasto/style/color.h"
#include "impasto/style/network.h"
#include "test_support.h"

using namespace impasto;

namespace {

const std::string kTransformer = test::fixture("style_nets/transformer_w4.pth");
const std::string kCycleGan = test::fixture("style_nets/resnet6_ngf2_instance_G.pth");

StylizeInputs photo(int64_t h, int64_t w) {
  StylizeInputs in;
  in.content.rgb = synthetic_landscape(h, w, 7);
  return in;
}

at::Tensor stylize_with(Json options, const StylizeInputs& in) {
  return stylize_once("network", options, in, StylizeHooks{}).image.rgb;
}

}  // namespace

TEST(NetworkStylizer, TellsTheNetworksApartByTheirKeys) {
  EXPECT_EQ(style_network_kind(kTransformer), "transformer_net");
  EXPECT_EQ(style_network_kind(kCycleGan), "cyclegan_generator");
  EXPECT_EQ(style_network_kind(test::fixture("style_nets/unet128_ngf1_batch_G.pth")), "cyclegan_generator");
  const std::string msg = test::expect_error<FormatError>([] { style_network_kind(test::fixture("gan/dcgan64_w4_G.pth")); });
  EXPECT_NE(msg.find("not a style network"), std::string::npos) << msg;
  test::expect_error<FileError>([] { style_network_kind("/nonexistent/model.pth"); });
}

TEST(NetworkStylizer, FullResolutionOutputIsTheNetworksOwn) {
  const StylizeInputs in = photo(50, 70);  // not a multiple of 4
  TransformerNet t = load_transformer_net(kTransformer);
  CycleGanGenerator g = load_cyclegan_generator(kCycleGan);
  torch::NoGradGuard no_grad;
  // fp32: exactly the network's own numbers (auto may choose bf16 on this CPU: precision_test.cpp).
  const at::Tensor a = stylize_with({{"model", kTransformer}, {"precision", "fp32"}}, in);
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{1, 3, 50, 70}));
  EXPECT_LT((a - t->forward(in.content.rgb)).abs().max().item<float>(), 1e-6);
  const at::Tensor b = stylize_with({{"model", kCycleGan}, {"precision", "fp32"}}, in);
  EXPECT_LT((b - translate(*g, in.content.rgb).clamp(0, 1)).abs().max().item<float>(), 1e-6);
  // image_size scales the longest side.
  EXPECT_EQ(stylize_with({{"model", kTransformer}, {"image_size", 35}}, in).sizes(), (std::vector<int64_t>{1, 3, 25, 35}));
}

namespace {

double correlation(const at::Tensor& x, const at::Tensor& y) {
  const at::Tensor a = x.flatten() - x.mean(), b = y.flatten() - y.mean();
  return (a * b).sum().item<double>() / (a.norm() * b.norm()).item<double>();
}

}  // namespace

TEST(NetworkStylizer, TilesWithTheWholeImagesStatisticsGiveTheWholePicture) {
  // Six 96-px tiles on a 128x192 photo. With each tile's own instance-norm statistics the tiles
  // differ from the whole in level and contrast (these random-weight nets amplify that: mean
  // differences about 0.09); with a shrunk copy's statistics every tile is normalised alike (about
  // 0.055); with the full image's, measured norm by norm, only the network's reach from a tile's
  // edge into the 40-px blend is left (about 0.01; their reach is about 50 px).
  const StylizeInputs in = photo(128, 192);
  for (const std::string& model : {kTransformer, kCycleGan}) {
    const at::Tensor whole = stylize_with({{"model", model}}, in);
    auto tiled = [&](const std::string& statistics) {
      Json options{{"model", model}, {"tile", 96}, {"overlap", 40}, {"tile_statistics", statistics}};
      StylizeResult r = stylize_once("network", options, in, StylizeHooks{});
      EXPECT_EQ(r.summary["tiles"].get<int64_t>(), 6);
      EXPECT_EQ(r.summary["tile_statistics"], statistics);
      return r.image.rgb;
    };
    const at::Tensor own = tiled("tile"), shrunk = tiled("image"), exact = tiled("exact");
    for (const auto& [name, t] : std::vector<std::pair<std::string, at::Tensor>>{{"tile", own}, {"image", shrunk}, {"exact", exact}})
      std::printf("%s, %s statistics: correlation %.4f, mean abs difference %.4f, max %.4f\n", model.c_str(), name.c_str(),
                  correlation(t, whole), (t - whole).abs().mean().item<double>(), (t - whole).abs().max().item<double>());
    const double own_error = (own - whole).abs().mean().item<double>();
    EXPECT_LT((shrunk - whole).abs().mean().item<double>(), 0.75 * own_error) << model;
    EXPECT_LT((exact - whole).abs().mean().item<double>(), 0.2 * own_error) << model;
    EXPECT_GT(correlation(exact, whole), 0.99) << model;
  }
  // One tile: the statistics are the image's own whatever the mode.
  const at::Tensor one = stylize_once("network", Json{{"model", kTransformer}, {"tile_statistics", "exact"}}, in, {}).image.rgb;
  EXPECT_TRUE(torch::equal(one, stylize_with({{"model", kTransformer}}, in)));
}

TEST(NetworkStylizer, StrengthIsAStraightLineFromThePhoto) {
  const StylizeInputs in = photo(40, 40);
  const at::Tensor full = stylize_with({{"model", kTransformer}}, in);
  const at::Tensor none = stylize_with({{"model", kTransformer}, {"strength", 0.0}}, in);
  const at::Tensor half = stylize_with({{"model", kTransformer}, {"strength", 0.5}}, in);
  EXPECT_LT((none - in.content.rgb).abs().max().item<float>(), 1e-6);
  EXPECT_LT((half - 0.5 * (in.content.rgb + full)).abs().max().item<float>(), 1e-5);
  const double d_half = (half - in.content.rgb).abs().mean().item<double>();
  const double d_full = (full - in.content.rgb).abs().mean().item<double>();
  EXPECT_NEAR(d_half, 0.5 * d_full, 1e-5);
  EXPECT_GT(d_full, 0.01);
}

TEST(NetworkStylizer, ColourPreservationKeepsThePhotosChroma) {
  const StylizeInputs in = photo(40, 40);
  const at::Tensor kept = stylize_with({{"model", kTransformer}, {"preserve_colors", "luminance"}}, in);
  const at::Tensor full = stylize_with({{"model", kTransformer}}, in);
  // I and Q (YIQ chroma) are the photo's wherever the result is not clipped.
  const at::Tensor iq_kept = rgb_to_yiq(kept).narrow(1, 1, 2), iq_photo = rgb_to_yiq(in.content.rgb).narrow(1, 1, 2);
  const at::Tensor iq_full = rgb_to_yiq(full).narrow(1, 1, 2);
  EXPECT_LT((iq_kept - iq_photo).abs().mean().item<double>(), 0.5 * (iq_full - iq_photo).abs().mean().item<double>());
}

TEST(NetworkStylizer, BadOptionsNameTheOption) {
  auto option_of = [](const Json& j) { return test::failing_option([&] { open_session("network", j); }); };
  EXPECT_EQ(option_of(Json::object()), "model");
  EXPECT_EQ(option_of({{"model", kTransformer}, {"strength", 1.5}}), "strength");
  EXPECT_EQ(option_of({{"model", kTransformer}, {"preserve_colors", "sepia"}}), "preserve_colors");
  EXPECT_EQ(option_of({{"model", kTransformer}, {"tile", 64}, {"overlap", 32}}), "tile");
  EXPECT_EQ(option_of({{"model", kTransformer}, {"tile_statistics", "global"}}), "tile_statistics");
  EXPECT_EQ(option_of({{"model", kTransformer}, {"style_weight", 3}}), "style_weight");  // unknown key
}

TEST(NetworkStylizer, CliStylizesWithAModelAndNoStyleImage) {
  const std::string dir = test::temp_dir("network_cli");
  write_image(dir + "/photo.png", synthetic_landscape(45, 61, 3));
  auto r = test::run_cli("stylize -q -c " + dir + "/photo.png --model " + kTransformer + " --strength 0.7 -o " + dir + "/out.png");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Image out = read_image(dir + "/out.png");
  EXPECT_EQ(out.width(), 61);
  EXPECT_EQ(out.height(), 45);
  EXPECT_FALSE(std::filesystem::exists(dir + "/out.losses.jsonl"));  // one pass: no loss records
  EXPECT_TRUE(std::filesystem::exists(dir + "/out.json"));
  // A style image with a network is refused, and so is a run with neither.
  r = test::run_cli("stylize -q -c " + dir + "/photo.png -s " + dir + "/photo.png --model " + kTransformer + " -o " + dir + "/x.png");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("takes no style"), std::string::npos) << r.output;
  r = test::run_cli("stylize -q -c " + dir + "/photo.png -o " + dir + "/x.png");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("no style image"), std::string::npos) << r.output;
}
