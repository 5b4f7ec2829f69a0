// int8 post-training quantisation (nn/int8.h, style/int8_calibration.h): the quantised operations
// against LibTorch's float32 ones on the dequantised values, the calibration's ranges and their
// file, and whole networks at their published widths in int8 against fp32 on photos (the quality
// gate: PSNR >= 30 dB, style distance within 2%).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "impasto/core/error.h"
#include "impasto/core/cpu_features.h"
#include "impasto/data/synthetic.h"
#include "impasto/io/image.h"
#include "impasto/io/text_file.h"
#include "impasto/io/weights.h"
#include "impasto/metrics/style_distance.h"
#include "impasto/nn/backbone.h"
#include "impasto/nn/cyclegan_nets.h"
#include "impasto/style/method.h"
#include "impasto/style/network.h"
#include "impasto/style/precision_choice.h"
#include "impasto/metrics/ssim.h"
#include "impasto/nn/int8.h"
#include "impasto/nn/precision.h"
#include "impasto/nn/transformer_net.h"
#include "impasto/style/int8_calibration.h"
#include "style_inputs.h"
#include "tensor_support.h"
#include "test_support.h"

using namespace impasto;

namespace {

using test::photo;
using test::published_transformer_net;

// Measured on this random network (AMD EPYC, oneDNN, the stem in bf16): int8 against fp32 on
// photo-like pictures 30.3-30.9 dB. The floor below leaves room for other CPUs' rounding and for a
// stem in float32 (31.3 dB) or bf16.
constexpr double kRandomNetInt8FloorDb = 28.0;

at::Tensor random_quint8(std::vector<int64_t> sizes, QuantParams p) {
  return quantize(torch::randn(sizes) * 40 * p.scale + (128 - p.zero_point) * p.scale, p);
}

}  // namespace

TEST(Int8Ops, QuantizeIsLibTorchsQuantizePerTensor) {
  torch::manual_seed(4);
  const at::Tensor x = torch::randn({2, 7, 9, 11}) * 3;
  for (QuantParams p : {QuantParams{0.02, 128}, QuantParams{0.05, 0}, QuantParams{1.0 / 3, 255}}) {
    const at::Tensor ours = quantize(x, p);
    const at::Tensor theirs = at::quantize_per_tensor(x, p.scale, p.zero_point, torch::kQUInt8);
    EXPECT_TRUE(ours.is_contiguous(at::MemoryFormat::ChannelsLast));
    EXPECT_TRUE(at::equal(ours.int_repr(), theirs.int_repr())) << p.scale << " " << p.zero_point;
  }
  EXPECT_THROW(quantize(torch::rand({3, 4}), QuantParams{}), SourceError);
}

TEST(Int8Ops, ClippedRangeOfManySamples) {
  // More samples than at::quantile takes (2^24): thinned, and the clip still cuts rare outliers.
  ActivationRange range;
  torch::manual_seed(6);
  for (int i = 0; i < 300; ++i) range.observe(torch::randn({1, 1, 256, 256}));  // 300 x 2^16 sampled values
  range.observe(torch::full({1, 1, 1, 1}, 1000.0));
  const auto [lo, hi] = range.clipped();
  EXPECT_EQ(range.hi, 1000.0);
  EXPECT_LT(hi, 10.0);
  EXPECT_GT(hi, 2.0);
  EXPECT_LT(lo, -2.0);
}

TEST(Int8Ops, PadsCopyTheStoredBytes) {
  torch::manual_seed(1);
  const at::Tensor x = random_quint8({2, 5, 7, 9}, QuantParams{0.1, 100});
  const at::Tensor xf = x.dequantize();
  for (auto [l, r, t, b] : std::vector<std::array<int64_t, 4>>{{1, 1, 1, 1}, {4, 4, 4, 4}, {0, 3, 2, 0}}) {
    const at::Tensor reflected = int8_reflection_pad(x, l, r, t, b);
    EXPECT_TRUE(reflected.is_contiguous(at::MemoryFormat::ChannelsLast));
    EXPECT_EQ(reflected.q_scale(), x.q_scale());
    EXPECT_EQ(test::max_error(reflected.dequantize(), at::reflection_pad2d(xf, {l, r, t, b})), 0.0);
    EXPECT_EQ(test::max_error(int8_replication_pad(x, l, r, t, b).dequantize(), at::replication_pad2d(xf, {l, r, t, b})), 0.0);
  }
  EXPECT_THROW(int8_reflection_pad(x, 0, 0, 7, 0), SourceError);
}

TEST(Int8Ops, ConvolutionIsTheFloatOneOnQuantisedWeightsWithinOneOutputStep) {
  torch::manual_seed(2);
  const at::Tensor x = random_quint8({1, 16, 12, 10}, QuantParams{0.05, 0});
  const at::Tensor w = torch::randn({24, 16, 3, 3}) * 0.1, b = torch::randn({24});
  for (int64_t stride : {1, 2}) {
    const at::Tensor exact = at::conv2d(x.dequantize(), w, b, stride, 1);
    ActivationRange range;
    range.observe(exact);
    const QuantParams out = QuantParams::of(range);
    const at::Tensor got = Int8Conv(w, b, stride, 1).forward(x, out);
    EXPECT_EQ(got.sizes(), exact.sizes());
    // Weights rounded to 1/127 of each channel's largest, the output to one step of `out`.
    const double weight_error = (w.abs().amax({1, 2, 3}) / 254).max().item<double>() * x.dequantize().abs().sum({1, 2, 3}).max().item<double>() / 10;
    EXPECT_LE(test::max_error(got.dequantize(), exact), out.scale + weight_error) << "stride " << stride;
    EXPECT_LT((got.dequantize() - exact).abs().mean().item<double>(), out.scale);
  }
}

TEST(Int8Ops, InstanceNormAndAddWithinOneOutputStep) {
  torch::manual_seed(3);
  const at::Tensor x = random_quint8({1, 8, 16, 16}, QuantParams{0.1, 120});
  const at::Tensor gamma = torch::rand({8}) + 0.5, beta = torch::randn({8});
  const at::Tensor exact = at::instance_norm(x.dequantize(), gamma, beta, {}, {}, true, 0.1, 1e-5, false);
  ActivationRange range;
  range.observe(exact);
  const QuantParams out = QuantParams::of(range);
  EXPECT_LE(test::max_error(int8_instance_norm(x, gamma, beta, 1e-5, {}, {}, out).dequantize(), exact), 1.01 * out.scale);
  // Fixed statistics: batch norm's inference formula.
  const at::Tensor mean = torch::randn({8}), var = torch::rand({8}) + 0.5;
  const at::Tensor fixed = at::batch_norm(x.dequantize(), gamma, beta, mean, var, false, 0, 1e-5, false);
  range = {};
  range.observe(fixed);
  const QuantParams out_fixed = QuantParams::of(range);
  EXPECT_LE(test::max_error(int8_instance_norm(x, gamma, beta, 1e-5, mean, var, out_fixed).dequantize(), fixed), 1.01 * out_fixed.scale);
  const at::Tensor y = random_quint8({1, 8, 16, 16}, QuantParams{0.07, 30});
  range = {};
  range.observe(x.dequantize() + y.dequantize());
  const QuantParams out_sum = QuantParams::of(range);
  EXPECT_LE(test::max_error(int8_add(x, y, out_sum).dequantize(), x.dequantize() + y.dequantize()), 0.51 * out_sum.scale + 1e-6);
}

TEST(Int8, TransformerNetAtThePublishedWidthOnPhotoLikePictures) {
  TransformerNet net = published_transformer_net();
  torch::NoGradGuard no_grad;
  auto run = [&](const at::Tensor& x) { return net->forward(x); };
  const at::Tensor picture = photo(256, 320, 5);
  Activations exact_features, int8_features;
  const at::Tensor exact = net->forward_with_features(picture, exact_features);
  EXPECT_THROW(set_precision(*net, Precision::int8), Error);  // not calibrated yet
  calibrate_int8(*net, run, builtin_calibration_pictures());
  set_precision(*net, Precision::int8);
  EXPECT_EQ(module_precision(*net), Precision::int8);
  const at::Tensor got = net->forward_with_features(picture, int8_features);
  EXPECT_EQ(got.sizes(), exact.sizes());
  EXPECT_EQ(got.scalar_type(), torch::kFloat32);
  const double db = psnr(got.clamp(0, 1), exact.clamp(0, 1));
  std::printf("TransformerNet int8 vs fp32: %.1f dB\n", db);
  EXPECT_GE(db, kRandomNetInt8FloorDb);
  // The features the explanations read come back as float32, within 15% (relative L2) of fp32's.
  ASSERT_EQ(int8_features.size(), exact_features.size());
  for (size_t i = 0; i < exact_features.size(); ++i) {
    const at::Tensor& a = exact_features[i].second;
    const at::Tensor& b = int8_features[i].second;
    ASSERT_FALSE(b.is_quantized());
    EXPECT_LT(((a - b).norm() / a.norm()).item<double>(), 0.15) << exact_features[i].first;
  }
  // Back to fp32: the same numbers as before (the float parameters were never touched).
  set_precision(*net, Precision::fp32);
  EXPECT_EQ(module_precision(*net), Precision::fp32);
  EXPECT_TRUE(at::equal(run(picture), exact));
}

TEST(Int8, StatisticsFileRoundTripsAndRefusesOtherWeights) {
  const std::string dir = test::temp_dir("int8_statistics");
  const std::string model = dir + "/transformer.ckpt";
  TransformerNet net = published_transformer_net();
  save_checkpoint(model, Checkpoint{"transformer_net", Json::object(), module_state_dict(*net)});
  std::vector<std::string> photos;
  for (uint64_t seed : {31, 32}) {
    photos.push_back(dir + "/photo" + std::to_string(seed) + ".png");
    write_image(photos.back(), photo(200, 300, seed));
  }
  const Json written = calibrate_model_file(model, photos, "");
  ASSERT_TRUE(std::filesystem::exists(int8_statistics_path(model)));
  EXPECT_EQ(written.at("format"), kInt8StatisticsFormat);
  EXPECT_EQ(written.at("images").size(), 2u);
  EXPECT_EQ(written.at("points").size(), int8_points(*net).size());
  EXPECT_FALSE(written.at("points").contains("conv1:output"));  // the float stem
  EXPECT_TRUE(written.at("points").at("res1.conv1:output").contains("scale"));  // channel-normalised (read by res1.in1)
  EXPECT_FALSE(written.at("points").at("deconv3:output").contains("scale"));

  // Read into another copy of the weights: the same int8 network as calibrating it directly.
  TransformerNet read = load_transformer_net(model);
  read_int8_statistics(int8_statistics_path(model), *read);
  set_precision(*read, Precision::int8);
  TransformerNet direct = load_transformer_net(model);
  std::vector<at::Tensor> images;
  for (const auto& p : photos) images.push_back(read_image(p).rgb);
  calibrate_int8(*direct, [&](const at::Tensor& x) { return direct->forward(x); }, images);
  set_precision(*direct, Precision::int8);
  const at::Tensor picture = photo(64, 96, 8);
  EXPECT_LT(test::max_error(read->forward(picture), direct->forward(picture)), 1e-6);

  // Other weights: refused by the fingerprint, naming the file.
  TransformerNet other = load_transformer_net(model);
  {
    torch::NoGradGuard no_grad;
    other->named_parameters()["res1.conv1.conv2d.weight"].mul_(1.01);
  }
  try {
    read_int8_statistics(int8_statistics_path(model), *other);
    FAIL() << "statistics of other weights accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("other weights"), std::string::npos) << e.what();
  }
  // Not a statistics file; a point missing.
  const std::string bad = dir + "/bad.json";
  write_text_file(bad, "{\"format\": \"something else\"}");
  EXPECT_THROW(read_int8_statistics(bad, *read), FormatError);
  Json missing = written;
  missing["points"].erase("in3:output");
  write_text_file(bad, missing.dump());
  EXPECT_THROW(read_int8_statistics(bad, *read), FormatError);
  write_text_file(bad, "[[[[");
  EXPECT_THROW(read_int8_statistics(bad, *read), FormatError);
  // A U-Net generator has no int8 form.
  CycleGanGeneratorOptions g;
  g.arch = "unet_128";
  g.ngf = 8;
  CycleGanGenerator generator = make_cyclegan_generator(g);
  save_checkpoint(dir + "/g.ckpt", Checkpoint{"cyclegan_generator", Json::object(), module_state_dict(*generator)});
  EXPECT_THROW(calibrate_model_file(dir + "/g.ckpt", photos, ""), OptionError);
}

TEST(Int8, NetworkMethodRunsInt8AndReportsItsCalibration) {
  const std::string dir = test::temp_dir("int8_method");
  const std::string model = dir + "/transformer.ckpt";
  TransformerNet net = published_transformer_net();
  save_checkpoint(model, Checkpoint{"transformer_net", Json::object(), module_state_dict(*net)});
  StylizeInputs in;
  in.content.rgb = photo(150, 200, 21);
  const StylizeResult exact = stylize_once("network", Json{{"model", model}, {"precision", "fp32"}}, in, StylizeHooks{});

  // Requested, uncalibrated: the built-in pictures.
  const StylizeResult builtin = stylize_once("network", Json{{"model", model}, {"precision", "int8"}}, in, StylizeHooks{});
  const Json& report = builtin.summary.at("precision");
  EXPECT_EQ(report.at("used"), "int8") << report.dump();
  EXPECT_EQ(report.at("reason"), "requested");
  EXPECT_NE(report.at("calibration").at("source").get<std::string>().find("built-in"), std::string::npos);
  EXPECT_EQ(report.at("engine"), int8_engine());
  EXPECT_GE(report.at("int8_gate_psnr_db").get<double>(), kRandomNetInt8FloorDb);
  const double db = psnr(builtin.image.rgb, exact.image.rgb);
  EXPECT_GE(db, kRandomNetInt8FloorDb);
  // The style distance (random-multiscale's recipe) to a painting-like picture: within 2% of fp32's
  // (measured: 0.2%).
  Backbone backbone = make_backbone(BackboneOptions{});
  const PerceptualDistanceOptions distance = resolve_distance_options(*backbone, {});
  const at::Tensor style = synthetic_landscape(128, 128, 99).flip({3}).pow(0.5);
  const double d_exact = style_distance(*backbone, exact.image.rgb, style, distance).total;
  const double d_int8 = style_distance(*backbone, builtin.image.rgb, style, distance).total;
  std::printf("method output int8 vs fp32: %.1f dB, style distance %.5f vs %.5f\n", db, d_int8, d_exact);
  EXPECT_LT(std::abs(d_int8 - d_exact) / d_exact, 0.02);

  // Tiled (whole-image statistics fixed in the norms, measured through the int8 network): close to
  // the same tiling in fp32.
  const Json tiles{{"model", model}, {"tile", 96}, {"overlap", 16}};
  Json tiles_int8 = tiles, tiles_fp32 = tiles;
  tiles_int8["precision"] = "int8";
  tiles_fp32["precision"] = "fp32";
  const double tiled_db = psnr(stylize_once("network", tiles_int8, in, StylizeHooks{}).image.rgb,
                               stylize_once("network", tiles_fp32, in, StylizeHooks{}).image.rgb);
  std::printf("tiled int8 vs tiled fp32: %.1f dB\n", tiled_db);
  EXPECT_GE(tiled_db, kRandomNetInt8FloorDb - 2);

  // With a statistics file beside the model, requested int8 uses it; auto takes int8 only on a CPU
  // with VNNI when the gate (30 dB) passes, and says what int8 reached.
  std::vector<std::string> photos;
  for (uint64_t seed : {41, 42, 43}) {
    photos.push_back(dir + "/photo" + std::to_string(seed) + ".png");
    write_image(photos.back(), photo(200, 300, seed));
  }
  calibrate_model_file(model, photos, "");
  const StylizeResult calibrated = stylize_once("network", Json{{"model", model}, {"precision", "int8"}}, in, StylizeHooks{});
  EXPECT_EQ(calibrated.summary.at("precision").at("calibration").at("source"), int8_statistics_path(model));
  const StylizeResult automatic = stylize_once("network", Json{{"model", model}}, in, StylizeHooks{});
  const Json& auto_report = automatic.summary.at("precision");
  if (cpu_features().native_int8()) {
    ASSERT_TRUE(auto_report.contains("int8_gate_psnr_db")) << auto_report.dump();
    const bool passed = auto_report.at("int8_gate_psnr_db").get<double>() >= kInt8GateDb;
    EXPECT_EQ(auto_report.at("used") == "int8", passed) << auto_report.dump();
  } else {
    EXPECT_NE(auto_report.at("used"), "int8") << auto_report.dump();
  }
  // int8 off the CPU and for networks without an int8 form: OptionErrors.
  EXPECT_THROW(check_precision_option("int8", c10::Device("cuda")), OptionError);
  CycleGanGeneratorOptions g;
  g.arch = "unet_128";
  g.ngf = 8;
  CycleGanGenerator generator = make_cyclegan_generator(g);
  save_checkpoint(dir + "/g.ckpt", Checkpoint{"cyclegan_generator", Json::object(), module_state_dict(*generator)});
  EXPECT_THROW(stylize_once("network", Json{{"model", dir + "/g.ckpt"}, {"precision", "int8"}}, in, StylizeHooks{}), OptionError);
}

TEST(Int8, ResnetGeneratorWithInstanceNorm) {
  torch::manual_seed(5);
  CycleGanGeneratorOptions o;  // resnet_9blocks at the published width (ngf 64)
  CycleGanGenerator net = make_cyclegan_generator(o);
  net->eval();
  torch::NoGradGuard no_grad;
  ASSERT_TRUE(has_int8_form(*net));
  auto run = [&](const at::Tensor& x) { return translate(*net, x); };
  const at::Tensor picture = photo(128, 160, 5);
  const at::Tensor exact = run(picture);
  calibrate_int8(*net, run, builtin_calibration_pictures());
  set_precision(*net, Precision::int8);
  const at::Tensor got = run(picture);
  const double db = psnr(got.clamp(0, 1), exact.clamp(0, 1));
  std::printf("resnet_9blocks int8 vs fp32: %.1f dB\n", db);
  EXPECT_GE(db, kRandomNetInt8FloorDb);
  set_precision(*net, Precision::fp32);
  EXPECT_TRUE(at::equal(run(picture), exact));
  // Batch norm and U-Nets: no int8 form.
  o.norm = "batch";
  EXPECT_FALSE(has_int8_form(*make_cyclegan_generator(o)));
  o.norm = "instance";
  o.arch = "unet_128";
  EXPECT_FALSE(has_int8_form(*make_cyclegan_generator(o)));
}
