// The CLI end to end: it writes what it says, and every bad input exits non-zero with a message
// that names the problem.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "impasto/core/json_options.h"
#include "impasto/data/synthetic.h"
#include "impasto/io/image.h"
#include "test_support.h"

using namespace impasto;
using impasto::test::expect_cli_failure;
using impasto::test::run_cli;

namespace {

struct Files {
  std::string dir, content, style, mask_small, text;
};

Files make_files(const std::string& name) {
  Files f;
  f.dir = test::temp_dir(name);
  f.content = f.dir + "/content.jpg";
  f.style = f.dir + "/style.png";
  f.mask_small = f.dir + "/mask.png";
  f.text = f.dir + "/notes.png";
  write_image(f.content, synthetic_landscape(60, 80, 1));
  write_image(f.style, synthetic_painting(64, 64, 2));
  write_image(f.mask_small, torch::ones({1, 3, 10, 10}));
  std::ofstream(f.text) << "this is not an image\n";
  return f;
}

std::string quick(const Files& f) {
  return "stylize -q -c " + f.content + " -s " + f.style + " --image-size 48 --iterations 3 -o " + f.dir + "/out.png";
}

}  // namespace

TEST(Cli, StylizeWritesImageOfRequestedSizeAndLosses) {
  Files f = make_files("stylize");
  const std::string out = f.dir + "/result.png";
  auto r = run_cli("stylize -c " + f.content + " -s " + f.style +
                   " --image-size 64 --iterations 6 --save-every 3 -o " + out);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Image img = read_image(out);
  EXPECT_EQ(img.width(), 64);  // content is 80x60: the longest side becomes 64
  EXPECT_EQ(img.height(), 48);
  std::ifstream losses(f.dir + "/result.losses.jsonl");
  int lines = 0;
  std::string line;
  while (std::getline(losses, line)) {
    auto j = Json::parse(line);
    EXPECT_TRUE(j.contains("style_layers") && j.contains("content_layers") && j.contains("total"));
    ++lines;
  }
  EXPECT_EQ(lines, 6);
  EXPECT_EQ(read_image(f.dir + "/result_0003.png").width(), 64);
  EXPECT_EQ(read_image(f.dir + "/result_0006.png").width(), 64);
  std::ifstream summary_file(f.dir + "/result.json");
  auto summary = Json::parse(summary_file);
  EXPECT_EQ(summary["options"]["iterations"], 6);
  EXPECT_EQ(summary["options"]["backbone"], "random-multiscale");
  EXPECT_EQ(read_image(summary["loss_curves"].get<std::string>()).width(), 1280);  // two charts side by side
}

TEST(Cli, ConfigFileAndFlagsCombine) {
  Files f = make_files("config");
  std::ofstream(f.dir + "/opts.json") << R"({"iterations": 2, "image_size": 40, "preserve_colors": "luminance"})";
  auto r = run_cli("stylize -q -c " + f.content + " -s " + f.style + " --config " + f.dir + "/opts.json --image-size 32 -o " +
                   f.dir + "/o.webp");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_image(f.dir + "/o.webp").width(), 32);
  std::ofstream(f.dir + "/bad.json") << R"({"iterations": 2, "colour": "x"})";
  expect_cli_failure("stylize -q -c " + f.content + " -s " + f.style + " --config " + f.dir + "/bad.json", "colour");
  std::ofstream(f.dir + "/broken.json") << R"({"iterations": )";
  expect_cli_failure("stylize -q -c " + f.content + " -s " + f.style + " --config " + f.dir + "/broken.json", "not valid JSON");
}

TEST(Cli, BadInputsExitNonZeroNamingTheProblem) {
  Files f = make_files("errors");
  const std::string base = quick(f);
  expect_cli_failure("stylize -q -c " + f.dir + "/missing.jpg -s " + f.style, "missing.jpg");
  expect_cli_failure("stylize -q -c " + f.text + " -s " + f.style, "notes.png");
  expect_cli_failure("stylize -q -c " + f.content, "--style");
  expect_cli_failure("stylize -q -c " + f.content + " -s " + f.dir + "/nostyle.png", "nostyle.png");
  expect_cli_failure(base + " --style-weight -1", "--style-weight");
  expect_cli_failure(base + " --style-layers relu9_9", "relu9_9");
  expect_cli_failure(base + " --backbone resnet", "unknown backbone 'resnet'");
  expect_cli_failure(base + " --masks " + f.mask_small, "masks must match the content size");
  expect_cli_failure(base + " --optimizer sgd", "--optimizer");
  expect_cli_failure(base + " --frobnicate", "frobnicate");
  expect_cli_failure(base + " --iterations abc", "iterations");
  expect_cli_failure(base + " --device tpu", "--device");
  expect_cli_failure(base + " --max-pixels 100", "limit");
  expect_cli_failure("stylize -q -c " + f.content + " -s " + f.style + " -o " + f.dir + "/out.gif", ".gif");
  expect_cli_failure("stylize -q -c " + f.content + " -s " + f.style + " -o /nonexistent-dir/x.png --iterations 1 --image-size 32",
                     "nonexistent-dir");
  expect_cli_failure("stylize -q -c " + f.content + " -s " + f.style + " --backbone vgg19", "--weights");
  expect_cli_failure("nosuchcommand", "nosuchcommand");
}

TEST(Cli, DemoRunsWithoutAnyInput) {
  const std::string dir = test::temp_dir("demo");
  auto r = run_cli("demo -q -o " + dir + " --image-size 48 --iterations 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* name : {"content.png", "style.png", "result.png", "compare.png"})
    EXPECT_GT(read_image(dir + "/" + name).width(), 0) << name;
  std::ifstream losses(dir + "/result.losses.jsonl");
  EXPECT_TRUE(losses.good());
}

TEST(Cli, ListShowsBackbonesAndMethods) {
  auto r = run_cli("list");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* name : {"random-multiscale", "vgg19", "vgg16", "vgg19-normalised", "gatys", "s8_relu2"})
    EXPECT_NE(r.output.find(name), std::string::npos) << name;
}

TEST(Cli, WeightsInspectAndImport) {
  const std::string pth = test::fixture("weights/vgg19_w8_legacy.pth");
  auto inspect = run_cli("weights inspect " + pth);
  ASSERT_EQ(inspect.exit_code, 0) << inspect.output;
  EXPECT_NE(inspect.output.find("features.0.weight"), std::string::npos) << inspect.output;
  EXPECT_NE(inspect.output.find("[8, 3, 3, 3]"), std::string::npos) << inspect.output;
  EXPECT_NE(inspect.output.find("Float"), std::string::npos) << inspect.output;

  const std::string dir = test::temp_dir("weights");
  auto import = run_cli("weights import " + pth + " --arch vgg19 -o " + dir + "/vgg19.ckpt");
  ASSERT_EQ(import.exit_code, 0) << import.output;
  auto again = run_cli("weights inspect " + dir + "/vgg19.ckpt");
  EXPECT_NE(again.output.find("architecture vgg19"), std::string::npos) << again.output;
  EXPECT_EQ(again.output.find("classifier"), std::string::npos) << "only the features are kept";

  // The imported checkpoint drives stylize.
  Files f = make_files("weights_stylize");
  auto r = run_cli(quick(f) + " --backbone vgg19 --weights " + dir + "/vgg19.ckpt");
  EXPECT_EQ(r.exit_code, 0) << r.output;

  expect_cli_failure("weights import " + test::fixture("weights/vgg16_w8.pth") + " --arch vgg19 -o " + dir + "/x.ckpt",
                     "features.17.weight");
  expect_cli_failure("weights import " + pth + " --arch alexnet -o " + dir + "/x.ckpt", "unknown backbone 'alexnet'");
  expect_cli_failure("weights inspect " + dir + "/none.pth", "none.pth");
  expect_cli_failure("weights inspect " + f.text, "notes.png");
}

TEST(Cli, InterruptWritesTheResultSoFar) {
  Files f = make_files("interrupt");
  const std::string out = f.dir + "/partial.png";
  // SIGINT once a run that would take minutes has reported its first step (a fixed delay races
  // with start-up on a loaded machine: a signal before the handler is installed just kills it).
  const std::string log = f.dir + "/stderr.txt";
  auto r = test::run_shell(std::string(IMPASTO_CLI_PATH) + " stylize -c " + f.content + " -s " + f.style +
                           " --image-size 96 --iterations 100000 -o " + out + " 2> " + log +
                           " & pid=$!; for i in $(seq 1 600); do grep -q ' 1/100000 ' " + log +
                           " && break; sleep 0.1; done; kill -INT $pid; wait $pid; echo exit=$?; cat " + log);
  EXPECT_NE(r.output.find("exit=130"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("interrupted at step"), std::string::npos) << r.output;
  EXPECT_EQ(read_image(out).width(), 96);
  std::ifstream summary_file(f.dir + "/partial.json");
  EXPECT_EQ(Json::parse(summary_file)["stopped_early"], true);
}

TEST(Cli, AlphaAndGreyInputsWork) {
  Files f = make_files("alpha");
  auto rgb = synthetic_landscape(40, 40, 3);
  auto alpha = torch::linspace(0, 1, 40).view({1, 1, 1, 40}).expand({1, 1, 40, 40}).contiguous();
  write_image(f.dir + "/rgba.png", rgb, alpha);
  auto r = run_cli("stylize -q -c " + f.dir + "/rgba.png -s " + f.style + " --image-size 40 --iterations 2 -o " + f.dir + "/o.png");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Image out = read_image(f.dir + "/o.png");
  ASSERT_TRUE(out.alpha.defined());
  EXPECT_LT((out.alpha - alpha).abs().max().item<float>(), 2.0f / 255);
  // A grey style image works too.
  write_image(f.dir + "/grey.png", synthetic_painting(40, 40, 4).mean(1, true).expand({1, 3, 40, 40}));
  r = run_cli("stylize -q -c " + f.content + " -s " + f.dir + "/grey.png --image-size 40 --iterations 2 -o " + f.dir + "/g.jpg");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}
