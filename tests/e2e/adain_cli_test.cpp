// `impasto stylize --method adain` as a user runs it, on the AdaIN fixtures (random-weight encoder
// and decoder made by tools/make_adain_fixtures.py): the result is the reference's output within
// 8-bit rounding, two styles blend with --style-blend-weights at --alpha, --decoder implies the
// method, and bad options end with a message that names them.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "impasto/core/json_options.h"
#include "impasto/io/image.h"
#include "impasto/io/weights.h"
#include "impasto/io/builtin_models.h"
#include "impasto/style/adain.h"
#include "test_support.h"

using namespace impasto;
using impasto::test::expect_cli_failure;
using impasto::test::run_cli;

namespace fs = std::filesystem;

namespace {

const std::string kDecoder = test::fixture("adain/decoder_w8.pth");
const std::string kEncoder = test::fixture("weights/vgg19_normalised_w8.pth");

struct Inputs {
  std::string dir, content, style_a, style_b;
  std::map<std::string, at::Tensor> ref;
};

// The fixture's uint8 images as PNG files (exact).
Inputs write_inputs(const std::string& name) {
  Inputs in;
  in.dir = test::temp_dir(name);
  for (const auto& [key, t] : load_pth(test::fixture("adain/adain_w8_ref.pth"))) in.ref[key] = t;
  in.content = in.dir + "/content.png";
  in.style_a = in.dir + "/style_a.png";
  in.style_b = in.dir + "/style_b.png";
  write_image(in.content, in.ref.at("content").to(torch::kFloat32) / 255.0);
  write_image(in.style_a, in.ref.at("style_a").to(torch::kFloat32) / 255.0);
  write_image(in.style_b, in.ref.at("style_b").to(torch::kFloat32) / 255.0);
  return in;
}

// fp32: the reference's numbers (auto may choose bf16 on this CPU: precision_test.cpp).
std::string networks() {
  return " --decoder " + kDecoder + " --weights " + kEncoder + " --image-size 0 --style-size 0 --precision fp32";
}

Json read_json_file(const std::string& path) {
  std::ifstream in(path);
  return Json::parse(in);
}

// An 8-bit PNG holds the result rounded to 1/255.
constexpr double kPngTolerance = 0.5 / 255 + 1e-4;

}  // namespace

TEST(AdainCli, StylizesLikeTheReference) {
  const Inputs in = write_inputs("adain_cli_one");
  const std::string out = in.dir + "/out.png";
  auto r = run_cli("stylize --method adain -c " + in.content + " -s " + in.style_a + networks() + " -o " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const at::Tensor got = read_image(out).rgb;
  ASSERT_EQ(got.sizes(), (std::vector<int64_t>{1, 3, 48, 64}));
  EXPECT_LE((got - in.ref.at("one").clamp(0, 1)).abs().max().item<double>(), kPngTolerance);
  // The summary names the method and its options; no loss files for a one-pass method.
  const Json summary = read_json_file(in.dir + "/out.json");
  EXPECT_EQ(summary["method"], "adain");
  EXPECT_EQ(summary["options"]["alpha"], 1.0);
  EXPECT_FALSE(fs::exists(in.dir + "/out.losses.jsonl"));
}

TEST(AdainCli, BlendsTwoStylesAtAnAlphaAndTheDecoderImpliesTheMethod) {
  const Inputs in = write_inputs("adain_cli_blend");
  const std::string out = in.dir + "/blend.png";
  auto r = run_cli("stylize -c " + in.content + " -s " + in.style_a + "," + in.style_b +
                   " --style-blend-weights 1,3 --alpha 0.7" + networks() + " -o " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_LE((read_image(out).rgb - in.ref.at("interp_alpha").clamp(0, 1)).abs().max().item<double>(), kPngTolerance);
}

TEST(AdainCli, BadInputEndsWithAMessageNamingIt) {
  const Inputs in = write_inputs("adain_cli_bad");
  const std::string base = "stylize --method adain -c " + in.content + " -o " + in.dir + "/x.png";
  expect_cli_failure(base + " -s " + in.style_a + networks() + " --alpha 1.5", "alpha");
  expect_cli_failure(base + " -s " + in.style_a + "," + in.style_b + " --style-blend-weights 1" + networks(), "--style-blend-weights");
  expect_cli_failure(base + " -s " + in.style_a + " --masks " + in.style_a + "," + in.style_b + networks(), "masks");
  expect_cli_failure(base + " -s " + in.style_a + " --weights " + kEncoder + " --decoder " + kEncoder, "not an AdaIN decoder");
  // An encoder file without a decoder: with the built-in model (whose encoder takes no file) the
  // file is refused; without it the missing decoder is named.
  expect_cli_failure(base + " -s " + in.style_a + " --weights " + kEncoder,
                     find_builtin_model(kBuiltinAdainDecoder).empty() ? "decoder" : "weights");
}

TEST(AdainCli, TrainsADecoderThatStylizesWithNothingElseAndResumes) {
  const Inputs in = write_inputs("adain_cli_train");
  const std::string run = in.dir + "/run";
  const auto trained = run_cli("train adain --content-synthetic textures --style-synthetic textures --image-size 32 "
                               "--load-size 0 --batch-size 2 --steps 2 --sample-every 2 --threads 1 -o " + run);
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  // The printed way to use the model is one that works: the decoder names its encoder (random-vgg19).
  const std::string usage = "impasto stylize --decoder " + run + "/decoder.ckpt -c photo.jpg -s painting.jpg -o out.png";
  EXPECT_NE(trained.output.find(usage), std::string::npos) << trained.output;
  const auto stylized = run_cli("stylize --decoder " + run + "/decoder.ckpt -c " + in.content + " -s " + in.style_a +
                                " --image-size 0 -o " + in.dir + "/out.png");
  ASSERT_EQ(stylized.exit_code, 0) << stylized.output;
  EXPECT_EQ(read_image(in.dir + "/out.png").rgb.sizes(), read_image(in.content).rgb.sizes());
  // The published encoder with this decoder: named, with the widths that do not fit.
  const auto mismatch = run_cli("stylize --decoder " + run + "/decoder.ckpt --backbone vgg19-normalised --weights " + kEncoder +
                                " -c " + in.content + " -s " + in.style_a + " -o " + in.dir + "/bad.png");
  EXPECT_NE(mismatch.exit_code, 0);
  EXPECT_NE(mismatch.output.find("'1.weight'"), std::string::npos) << mismatch.output;
  // `train --resume` continues it by its recipe.
  const auto resumed = run_cli("train --resume " + run + " --steps 3 --threads 1");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("trained 3 steps"), std::string::npos) << resumed.output;
}
