// Reduced precision for the one-pass networks (nn/precision.h, style/network.h): the parts LibTorch
// 1.13 lacks in bf16 (reflection padding, transposed convolution, instance norm keeping
// channels-last) against LibTorch's fp32 kernels, whole networks at their published widths in bf16
// against fp32 on photo-like pictures (the quality gate: PSNR >= 40 dB, style distance within 2%),
// and the method's `precision` option: what `auto` chooses on this CPU and what the summary says.
//
// The bf16 arithmetic itself works on any x86-64 CPU (oneDNN emulates it where it is not native),
// so only the choice of `auto` depends on the machine, and is checked against cpu_features().
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "impasto/core/cpu_features.h"
#include "impasto/core/error.h"
#include "impasto/data/synthetic.h"
#include "impasto/io/weights.h"
#include "impasto/metrics/ssim.h"
#include "impasto/metrics/style_distance.h"
#include "impasto/nn/backbone.h"
#include "impasto/nn/conv_ops.h"
#include "impasto/nn/cyclegan_nets.h"
#include "impasto/nn/instance_norm.h"
#include "impasto/nn/precision.h"
#include "impasto/nn/precision_modules.h"
#include "impasto/nn/transformer_net.h"
#include "impasto/style/network.h"
#include "impasto/style/precision_choice.h"
#include "style_inputs.h"
#include "test_support.h"

using namespace impasto;
using test::photo;
using test::published_transformer_net;

namespace {

bool channels_last(const at::Tensor& t) { return t.is_contiguous(at::MemoryFormat::ChannelsLast); }

double max_abs(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

}  // namespace

TEST(Precision, ReflectionPadMatchesLibTorchInEveryDtypeAndKeepsTheLayout) {
  const at::Tensor x = torch::randn({2, 5, 7, 9});
  for (const auto& pads : std::vector<std::array<int64_t, 4>>{{1, 1, 1, 1}, {4, 4, 4, 4}, {0, 3, 0, 2}, {2, 0, 6, 1}}) {
    const at::Tensor expected = at::reflection_pad2d(x, {pads[0], pads[1], pads[2], pads[3]});
    EXPECT_EQ(max_abs(reflection_pad(x, pads[0], pads[1], pads[2], pads[3]), expected), 0);
    const at::Tensor xb = to_precision(x, Precision::bf16);
    const at::Tensor yb = reflection_pad(xb, pads[0], pads[1], pads[2], pads[3]);
    EXPECT_EQ(yb.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(channels_last(yb));
    // Padding moves values: exactly LibTorch's result on the bf16-rounded input.
    EXPECT_EQ(max_abs(yb, at::reflection_pad2d(xb.to(torch::kFloat32), {pads[0], pads[1], pads[2], pads[3]})), 0);
  }
  EXPECT_THROW(reflection_pad(to_precision(x, Precision::bf16), 0, 0, 7, 0), SourceError);
  // relu_first: the ReLU in the padding's pass.
  const at::Tensor xb = to_precision(x, Precision::bf16);
  EXPECT_EQ(max_abs(reflection_pad(xb, 2, 1, 3, 0, /*relu_first=*/true), at::reflection_pad2d(at::relu(xb.to(torch::kFloat32)), {2, 1, 3, 0})), 0);
  EXPECT_EQ(max_abs(reflection_pad(x, 2, 1, 3, 0, /*relu_first=*/true), at::reflection_pad2d(at::relu(x), {2, 1, 3, 0})), 0);
}

// The bf16 pads' backward (the images style/gatys optimises through a bf16 backbone): the gradient
// LibTorch's fp32 pads give, to bf16's rounding.
TEST(ConvOps, Bf16PadGradientsMatchLibTorchs) {
  torch::manual_seed(4);
  const at::Tensor x = torch::randn({2, 3, 6, 7});
  for (const bool reflect : {true, false}) {
    for (const auto& p : std::vector<std::array<int64_t, 4>>{{1, 1, 1, 1}, {2, 2, 2, 2}, {0, 3, 0, 2}, {2, 0, 3, 1}}) {
      SCOPED_TRACE(std::string(reflect ? "reflect " : "replicate ") + std::to_string(p[0]) + std::to_string(p[1]) +
                   std::to_string(p[2]) + std::to_string(p[3]));
      const at::Tensor xf = x.clone().set_requires_grad(true);
      const at::Tensor yf = reflect ? at::reflection_pad2d(xf, {p[0], p[1], p[2], p[3]}) : at::replication_pad2d(xf, {p[0], p[1], p[2], p[3]});
      const at::Tensor weights = torch::randn(yf.sizes());
      (yf * weights).sum().backward();
      const at::Tensor xb = to_precision(x, Precision::bf16).set_requires_grad(true);
      const at::Tensor yb = reflect ? reflection_pad(xb, p[0], p[1], p[2], p[3]) : replication_pad(xb, p[0], p[1], p[2], p[3]);
      (yb.to(torch::kFloat32) * weights).sum().backward();
      ASSERT_TRUE(xb.grad().defined());
      EXPECT_EQ(xb.grad().sizes(), x.sizes());
      // Each gradient element sums at most four weights rounded to bf16 (relative 2^-9 each).
      EXPECT_LT(max_abs(xb.grad().to(torch::kFloat32), xf.grad()), 0.05) << "largest " << xf.grad().abs().max().item<double>();
    }
  }
}

TEST(ConvOps, ReplicationPadMatchesLibTorchInEveryDtype) {
  const at::Tensor x = torch::randn({1, 3, 4, 5});
  for (const auto& pads : std::vector<std::array<int64_t, 4>>{{1, 1, 1, 1}, {0, 6, 2, 0}}) {
    const at::Tensor xb = to_precision(x, Precision::bf16);
    const at::Tensor yb = replication_pad(xb, pads[0], pads[1], pads[2], pads[3]);
    EXPECT_TRUE(channels_last(yb));
    EXPECT_EQ(max_abs(yb, at::replication_pad2d(xb.to(torch::kFloat32), {pads[0], pads[1], pads[2], pads[3]})), 0);
  }
  EXPECT_THROW(replication_pad(x, -1, 0, 0, 0), SourceError);
}

TEST(ConvOps, UpsampleConvOnTheSmallInputEqualsUpsamplePadConv) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(2);
  for (const auto& size : std::vector<std::pair<int64_t, int64_t>>{{6, 7}, {1, 3}, {16, 16}}) {
    const at::Tensor x = torch::randn({2, 5, size.first, size.second}), w = torch::randn({4, 5, 3, 3}), b = torch::randn({4});
    const at::Tensor up = at::upsample_nearest2d(x, {2 * size.first, 2 * size.second});
    const at::Tensor expected = at::conv2d(at::reflection_pad2d(up, {1, 1, 1, 1}), w, b);
    const at::Tensor got = upsample_conv3x3(x, w, b);
    ASSERT_EQ(got.sizes(), expected.sizes());
    EXPECT_LT(max_abs(got, expected), 1e-4);
    const at::Tensor got_cl = upsample_conv3x3(x.contiguous(at::MemoryFormat::ChannelsLast), w, b);
    EXPECT_TRUE(channels_last(got_cl));
    EXPECT_LT(max_abs(got_cl, expected), 1e-4);
    const at::Tensor got_bf16 = upsample_conv3x3(to_precision(x, Precision::bf16), w.to(torch::kBFloat16), b.to(torch::kBFloat16));
    EXPECT_EQ(got_bf16.scalar_type(), torch::kBFloat16);
    EXPECT_LT(max_abs(got_bf16, expected) / expected.abs().max().item<double>(), 0.03);
  }
}

TEST(ConvOps, FewOutputConvolutionOnBlocksEqualsTheDirectOne) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(4);
  // The RGB layers (9x9 of TransformerNet, 7x7 of the ResNet generator), a 5x5, and sizes the blocks
  // do not divide (LibTorch's kernel then).
  for (const auto& [k, side] : std::vector<std::pair<int64_t, int64_t>>{{9, 24 + 8}, {7, 16 + 6}, {5, 12 + 4}, {9, 21 + 8}}) {
    SCOPED_TRACE("k " + std::to_string(k) + " side " + std::to_string(side));
    const at::Tensor x = torch::randn({2, 6, side, side + 4}), w = torch::randn({3, 6, k, k}), b = torch::randn({3});
    const at::Tensor expected = at::conv2d(x, w, b);
    EXPECT_LT(max_abs(conv_few_outputs(x, w, b), expected), 1e-3);
    const at::Tensor got_cl = conv_few_outputs(x.contiguous(at::MemoryFormat::ChannelsLast), w, b);
    EXPECT_TRUE(channels_last(got_cl));
    EXPECT_LT(max_abs(got_cl, expected), 1e-3);
    const at::Tensor got_bf16 = conv_few_outputs(to_precision(x, Precision::bf16), w.to(torch::kBFloat16), b.to(torch::kBFloat16));
    EXPECT_LT(max_abs(got_bf16, expected) / expected.abs().max().item<double>(), 0.03);
  }
}

TEST(Precision, TransposedConvolutionAsPhasesMatchesLibTorch) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(0);
  struct Case {
    int64_t k, s, p, op;
  };
  // CycleGAN's up-sampling (3, 2, 1, 1), the U-Net's (4, 2, 1), and odd ones.
  for (const Case c : {Case{3, 2, 1, 1}, Case{4, 2, 1, 0}, Case{3, 2, 0, 0}, Case{5, 3, 2, 1}, Case{3, 1, 1, 0}, Case{2, 2, 0, 0}}) {
    SCOPED_TRACE("k " + std::to_string(c.k) + " s " + std::to_string(c.s) + " p " + std::to_string(c.p) + " op " + std::to_string(c.op));
    const at::Tensor x = torch::randn({2, 6, 7, 9}), w = torch::randn({6, 4, c.k, c.k}), b = torch::randn({4});
    const at::Tensor expected = at::conv_transpose2d(x, w, b, {c.s, c.s}, {c.p, c.p}, {c.op, c.op});
    const at::Tensor got = conv_transpose(x, w, b, c.s, c.s, c.p, c.p, c.op, c.op);
    ASSERT_EQ(got.sizes(), expected.sizes());
    EXPECT_LT(max_abs(got, expected), 1e-4);
    // bf16 (which LibTorch 1.13 cannot run at all): relative to the output's scale, bf16's rounding.
    const at::Tensor got_bf16 = conv_transpose(to_precision(x, Precision::bf16), w.to(torch::kBFloat16), b.to(torch::kBFloat16), c.s,
                                               c.s, c.p, c.p, c.op, c.op);
    EXPECT_EQ(got_bf16.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(channels_last(got_bf16));
    EXPECT_LT(max_abs(got_bf16, expected) / expected.abs().max().item<double>(), 0.03);
  }
  // The module runs LibTorch's kernel in fp32 and the phases in bf16, with the same parameters.
  AnyPrecisionConvTranspose2d module(torch::nn::ConvTranspose2dOptions(6, 4, 3).stride(2).padding(1).output_padding(1));
  const at::Tensor x = torch::randn({1, 6, 8, 8});
  const at::Tensor exact = module->forward(x);
  set_precision(*module, Precision::bf16);
  const at::Tensor reduced = module->forward(to_precision(x, Precision::bf16));
  EXPECT_LT(max_abs(reduced, exact) / exact.abs().max().item<double>(), 0.03);
}

TEST(Precision, InstanceNormInBf16KeepsStatisticsOfChannelsFarFromZero) {
  torch::NoGradGuard no_grad;
  // Channels whose mean is far larger than their spread: E[x^2] - mean^2 in bf16 would lose the
  // variance entirely (bf16 resolves 1 part in 256 of 100^2).
  torch::manual_seed(1);
  const at::Tensor offsets = torch::tensor({100.0f, -40.0f, 0.5f, 7.0f}).view({1, 4, 1, 1});
  const at::Tensor x = (torch::randn({2, 4, 24, 20}) * torch::tensor({1.0f, 0.3f, 2.0f, 0.05f}).view({1, 4, 1, 1}) + offsets);
  const at::Tensor xb = to_precision(x, Precision::bf16);
  InstanceNorm norm(4, /*affine=*/true);
  norm->weight.copy_(torch::tensor({1.5f, 0.5f, 1.0f, 2.0f}));
  norm->bias.copy_(torch::tensor({0.1f, -0.2f, 0.0f, 0.3f}));
  const at::Tensor exact = norm->forward(xb.to(torch::kFloat32));  // same rounded input
  set_precision(*norm, Precision::bf16);
  const at::Tensor reduced = norm->forward(xb);
  EXPECT_EQ(reduced.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(channels_last(reduced));
  // Outputs are about unit scale (times gamma <= 2): bf16 rounds them to ~0.01.
  EXPECT_LT(max_abs(reduced, exact), 0.05) << (reduced.to(torch::kFloat32) - exact).abs().amax({0, 2, 3});
  // Fixed statistics (tiling) take the same path.
  norm->set_statistics(torch::tensor({100.0f, -40.0f, 0.5f, 7.0f}), torch::tensor({1.0f, 0.09f, 4.0f, 0.0025f}));
  const at::Tensor fixed = norm->forward(xb);
  set_precision(*norm, Precision::fp32);
  const at::Tensor fixed_exact = norm->forward(xb.to(torch::kFloat32));
  EXPECT_LT(max_abs(fixed, fixed_exact), 0.1);
}

TEST(Precision, TransformerNetInBf16StaysWithinTheGateOnPhotoLikePictures) {
  torch::NoGradGuard no_grad;
  TransformerNet net = published_transformer_net();
  const at::Tensor picture = photo(180, 240, 11);
  const at::Tensor exact = net->forward(picture);
  ASSERT_GT(exact.std().item<double>(), 0.1) << "the scaled random net should give a picture, not flat grey";
  set_precision(*net, Precision::bf16);
  EXPECT_EQ(module_precision(*net), Precision::bf16);
  const at::Tensor reduced = net->forward(picture);
  EXPECT_EQ(reduced.scalar_type(), torch::kFloat32);
  EXPECT_EQ(reduced.sizes(), exact.sizes());
  const double db = psnr(reduced, exact);
  std::printf("TransformerNet (width 32, 5 blocks) bf16 vs fp32: %.1f dB\n", db);
  EXPECT_GE(db, kBf16GateDb);
}

TEST(Precision, CycleGanGeneratorsInBf16StayWithinTheGate) {
  torch::NoGradGuard no_grad;
  for (const std::string arch : {"resnet_9blocks", "unet_128"}) {
    SCOPED_TRACE(arch);
    torch::manual_seed(5);
    CycleGanGeneratorOptions o;
    o.arch = arch;
    o.ngf = arch == "resnet_9blocks" ? 64 : 16;
    CycleGanGenerator g = make_cyclegan_generator(o);
    g->eval();
    const at::Tensor picture = photo(128, 128, 4);
    const at::Tensor exact = translate(*g, picture);
    ASSERT_GT(exact.std().item<double>(), 0.02);
    set_precision(*g, Precision::bf16);
    const at::Tensor reduced = translate(*g, picture);
    const double db = psnr(reduced, exact);
    std::printf("%s bf16 vs fp32: %.1f dB\n", arch.c_str(), db);
    EXPECT_GE(db, kBf16GateDb);
  }
}

TEST(Precision, NetworkMethodChoosesByCpuAndGateAndReportsIt) {
  const std::string dir = test::temp_dir("precision_method");
  const std::string model = dir + "/transformer32.ckpt";
  TransformerNet net = published_transformer_net();
  save_checkpoint(model, Checkpoint{"transformer_net", Json::object(), module_state_dict(*net)});
  StylizeInputs in;
  in.content.rgb = photo(150, 200, 21);

  const StylizeResult automatic = stylize_once("network", Json{{"model", model}}, in, StylizeHooks{});
  const Json& report = automatic.summary.at("precision");
  EXPECT_EQ(report.at("requested"), "auto");
  EXPECT_EQ(report.at("cpu_flags"), cpu_features().flags());
  if (cpu_features().native_bf16()) {
    EXPECT_EQ(report.at("used"), "bf16") << report.dump();
    EXPECT_GE(report.at("gate_psnr_db").get<double>(), kBf16GateDb);
  } else {
    EXPECT_EQ(report.at("used"), "fp32") << report.dump();
  }

  const StylizeResult exact = stylize_once("network", Json{{"model", model}, {"precision", "fp32"}}, in, StylizeHooks{});
  EXPECT_EQ(exact.summary.at("precision").at("used"), "fp32");
  EXPECT_EQ(exact.summary.at("precision").at("reason"), "requested");
  if (!cpu_features().native_bf16()) {
    EXPECT_THROW(stylize_once("network", Json{{"model", model}, {"precision", "bf16"}}, in, StylizeHooks{}), OptionError);
    GTEST_SKIP() << "no native bf16 on this CPU (" << cpu_features().flags() << "): explicit bf16 is refused, as checked";
  }
  const StylizeResult reduced = stylize_once("network", Json{{"model", model}, {"precision", "bf16"}}, in, StylizeHooks{});
  EXPECT_EQ(reduced.summary.at("precision").at("used"), "bf16");
  const double db = psnr(reduced.image.rgb, exact.image.rgb);
  EXPECT_GE(db, kBf16GateDb);
  // The style distance (random-multiscale's recipe) to a painting-like picture moves by under 2%.
  Backbone backbone = make_backbone(BackboneOptions{});
  const PerceptualDistanceOptions distance = resolve_distance_options(*backbone, {});
  const at::Tensor style = synthetic_landscape(128, 128, 99).flip({3}).pow(0.5);
  const double d_exact = style_distance(*backbone, exact.image.rgb, style, distance).total;
  const double d_reduced = style_distance(*backbone, reduced.image.rgb, style, distance).total;
  std::printf("method output bf16 vs fp32: %.1f dB, style distance %.5f vs %.5f\n", db, d_reduced, d_exact);
  EXPECT_LT(std::abs(d_reduced - d_exact) / d_exact, 0.02);
}

TEST(Precision, AdainWithTheBuiltInModelInBf16StaysWithinTheGate) {
  // The built-in decoder (trained by the project against random-vgg19: a real trained network).
  StylizeInputs in;
  in.content.rgb = photo(128, 160, 5);
  in.styles.push_back({"painting", (synthetic_painting(96, 96, 2) * 255).round() / 255, 1.0, {}});
  const Json base{{"image_size", 0}, {"style_size", 0}, {"device", "cpu"}};
  Json fp32 = base, automatic = base;
  fp32["precision"] = "fp32";
  const StylizeResult exact = stylize_once("adain", fp32, in, StylizeHooks{});
  const StylizeResult chosen = stylize_once("adain", automatic, in, StylizeHooks{});
  const Json& report = chosen.summary.at("precision");
  EXPECT_EQ(report.at("used"), cpu_features().native_bf16() ? "bf16" : "fp32") << report.dump();
  const double db = psnr(chosen.image.rgb, exact.image.rgb);
  std::printf("adain (built-in decoder) %s vs fp32: %.1f dB\n", report.at("used").get<std::string>().c_str(), db);
  EXPECT_GE(db, kBf16GateDb);
}

TEST(Precision, UnknownPrecisionIsAnOptionError) {
  EXPECT_THROW(parse_precision("fp16"), OptionError);
  try {
    NetworkStylizerOptions o;
    o.model = "x.pth";
    o.precision = "int4";
    check_network_options(o);
    FAIL() << "int4 accepted";
  } catch (const OptionError& e) {
    EXPECT_EQ(e.option(), "precision");
    EXPECT_NE(std::string(e.what()).find("auto, fp32, bf16"), std::string::npos) << e.what();
  }
}

TEST(Precision, CpuFeaturesAreConsistent) {
  const impasto::CpuFeatures& cpu = cpu_features();
  // Each extension implies its base; the flags text lists exactly what is set.
  if (cpu.avx512_bf16 || cpu.avx512_vnni || cpu.avx512bw) EXPECT_TRUE(cpu.avx512f);
  if (cpu.amx_bf16 || cpu.amx_int8) EXPECT_TRUE(cpu.amx_tile);
  EXPECT_EQ(cpu.native_bf16(), cpu.avx512_bf16 || cpu.amx_bf16);
  EXPECT_EQ(cpu.flags().find("avx512_bf16") != std::string::npos, cpu.avx512_bf16);
  EXPECT_EQ(cpu.flags().find("avx2") != std::string::npos, cpu.avx2);
  std::printf("cpu: %s; flags: %s\n", cpu.model.c_str(), cpu.flags().c_str());
}
