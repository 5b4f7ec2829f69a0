// `impasto train feedforward` end to end: the run folder, its model applied by
// `impasto stylize --model`, resume, and bad flags named as flags.
#include <gtest/gtest.h>

#include <filesystem>

#include "impasto/data/synthetic.h"
#include "impasto/io/image.h"
#include "impasto/io/run_dir.h"
#include "test_support.h"

using namespace impasto;
using impasto::test::expect_cli_failure;
using impasto::test::run_cli;
namespace fs = std::filesystem;

namespace {

std::string tiny(const std::string& style) {
  return " --style " + style + " --synthetic textures --image-size 16 --style-size 32 --batch-size 2 --width 4"
         " --residual-blocks 1 --num-samples 2 --device cpu --threads 1";
}

}  // namespace

TEST(FeedforwardCli, TrainWritesTheRunAndItsModelStylizesAPhoto) {
  const std::string dir = test::temp_dir("feedforward_cli"), run = dir + "/run";
  write_image(dir + "/style.png", synthetic_painting(40, 40, 1));
  auto r = run_cli("train feedforward -q" + tiny(dir + "/style.png") + " --steps 4 --checkpoint-every 2 --out " + run);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("stylize --model " + run + "/model.ckpt"), std::string::npos) << r.output;
  for (const char* f : {"config.json", "log.jsonl", "report.html", "model.ckpt", "samples/real.png",
                        "samples/step-000004.png", "checkpoints/step-000002.ckpt"})
    EXPECT_TRUE(fs::exists(run + "/" + f)) << f;
  EXPECT_EQ(RunFolder(run).read_config()["image_size"], 16);

  write_image(dir + "/photo.png", synthetic_landscape(22, 30, 1));
  r = run_cli("stylize -q -c " + dir + "/photo.png --model " + run + "/model.ckpt -o " + dir + "/out.png");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Image out = read_image(dir + "/out.png");
  EXPECT_EQ(out.width(), 30);
  EXPECT_EQ(out.height(), 22);

  r = run_cli("train feedforward -q --resume " + run + " --steps 6");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(RunFolder(run).read_log().back()["step"], 6);
  expect_cli_failure("train feedforward --resume " + run + " --lr 0.1", "--lr cannot be combined");
}

TEST(FeedforwardCli, BadInputsNameTheProblem) {
  const std::string dir = test::temp_dir("feedforward_cli_bad");
  write_image(dir + "/style.png", synthetic_painting(40, 40, 1));
  expect_cli_failure("train feedforward --synthetic textures --steps 2 --out " + dir + "/a", "--style");
  expect_cli_failure("train feedforward --style " + dir + "/missing.png --synthetic textures --steps 2 --out " + dir + "/b",
                     "missing.png");
  expect_cli_failure("train feedforward" + tiny(dir + "/style.png") + " --out " + dir + "/c", "--steps");
  expect_cli_failure("train feedforward" + tiny(dir + "/style.png") + " --steps 2 --image-size 18 --out " + dir + "/d",
                     "--image-size");
  expect_cli_failure("train feedforward" + tiny(dir + "/style.png") + " --steps 2 --style-layers nope --out " + dir + "/e",
                     "nope");
}
