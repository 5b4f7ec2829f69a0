// `impasto train gan` and `impasto generate` end to end: the run folder, Ctrl-C, resume, generation
// modes, bad flags, and data-parallel training across two processes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "impasto/io/image.h"
#include "impasto/io/weights.h"
#include "impasto/nn/gan_model.h"
#include "impasto/io/run_dir.h"
#include "test_support.h"

using namespace impasto;
using impasto::test::expect_cli_failure;
using impasto::test::run_cli;
using impasto::test::run_shell;
namespace fs = std::filesystem;

namespace {

const std::string kTinyDigits =
    " --synthetic digits --size 32 --batch-size 8 --g-width 8 --d-width 8 --z-dim 16 --device cpu --threads 1";
const std::string kTinyRing = " --synthetic ring8 --batch-size 16 --z-dim 4 --mlp-hidden 32 --mlp-layers 2 --device cpu --threads 1";

}  // namespace

TEST(GanCli, TrainWritesRunFolderAndGenerateUsesIt) {
  const std::string dir = test::temp_dir("gan_cli"), run = dir + "/run";
  auto r = run_cli("train gan -q" + kTinyDigits + " --steps 4 --sample-every 2 --checkpoint-every 2 --out " + run);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* f : {"config.json", "log.jsonl", "report.html", "samples/real.png", "samples/step-000000.png", "samples/step-000004.png",
                        "checkpoints/latest.ckpt", "checkpoints/step-000002.ckpt"})
    EXPECT_TRUE(fs::exists(run + "/" + f)) << f;

  r = run_cli("generate -q --model " + run + " -n 6 --columns 3 -o " + dir + "/grid.png");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Image grid = read_image(dir + "/grid.png");
  EXPECT_GT(grid.width(), grid.height());  // 3 columns x 2 rows

  r = run_cli("generate -q --model " + run + " -n 3 --truncation 0.5 -o " + dir + "/each/");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* f : {"0000.png", "0001.png", "0002.png"}) {
    Image img = read_image(dir + "/each/" + f);
    EXPECT_EQ(img.width(), 32);
    EXPECT_EQ(img.height(), 32);
  }
  r = run_cli("generate -q --model " + run + "/checkpoints/step-000002.ckpt -n 2 --interpolate 5 -o " + dir + "/strip.png");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  Image strip = read_image(dir + "/strip.png");
  EXPECT_GT(strip.width(), 2 * strip.height());  // 2 rows of 5

  expect_cli_failure("generate --model " + dir + "/nowhere -o x.png", "nowhere");
  expect_cli_failure("generate --model " + dir + "/grid.png -o x.png", "grid.png");
  expect_cli_failure("generate --model " + run + " --interpolate 1 -o x.png", "--interpolate");
  expect_cli_failure("generate --model " + run + " -o " + dir + "/out.xyz", "out.xyz");
}

TEST(GanCli, BadFlagsAreNamed) {
  const std::string dir = test::temp_dir("gan_cli_bad");
  expect_cli_failure("train gan --synthetic ring8 --loss wasserstein --out " + dir + "/a", "--loss");
  expect_cli_failure("train gan --synthetic nope --out " + dir + "/b", "nope");
  expect_cli_failure("train gan --data " + dir + "/missing --out " + dir + "/c", "missing");
  expect_cli_failure("train gan --synthetic digits --size 40 --out " + dir + "/d", "--size");
  expect_cli_failure("train gan --synthetic digits", "--out");
  expect_cli_failure("train gan --resume " + dir + "/none", "none");
  expect_cli_failure("train gan --synthetic ring8 --schedule steps --out " + dir + "/e", "--schedule");
  expect_cli_failure("train wgan", "wgan");
}

// `impasto dataset` writes a synthetic set as a folder a user would give (one sub-folder per class);
// a GAN on a folder that small takes the small-collection preset unless told otherwise.
TEST(GanCli, DatasetFolderTrainsWithTheSmallCollectionPreset) {
  const std::string dir = test::temp_dir("gan_cli_small"), data = dir + "/digits";
  auto r = run_cli("dataset -q --synthetic digits-ttf -n 24 --size 32 --seed 3 -o " + data);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(data)) {
    if (!entry.is_regular_file()) continue;
    ++files;
    const std::string label = entry.path().parent_path().filename().string();
    EXPECT_TRUE(label.size() == 1 && label[0] >= '0' && label[0] <= '9') << entry.path();
    EXPECT_EQ(read_image(entry.path().string()).width(), 32);
  }
  EXPECT_EQ(files, 24);
  expect_cli_failure("dataset --synthetic digits-ttf -n 4 -o " + data, "not empty");
  expect_cli_failure("dataset --synthetic ring8 -n 4 -o " + dir + "/ring", "ring8");
  expect_cli_failure("dataset --synthetic fonts -n 4 -o " + dir + "/fonts", "fonts");

  r = run_cli("train gan -q --data " + data + " --size 32 --batch-size 8 --steps 2 --device cpu --threads 1 --out " + dir + "/run");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Json config = RunFolder(dir + "/run").read_config();
  EXPECT_EQ(config["preset"], "small");
  EXPECT_EQ(config["arch"], "fastgan");
  EXPECT_EQ(config["loss"], "hinge");
  EXPECT_EQ(config["diff_augment"], "color,translation,cutout");
  // Given options win over the preset's.
  r = run_cli("train gan -q --data " + data + " --size 32 --batch-size 8 --steps 1 --loss nonsaturating --arch dcgan --g-width 8 "
              "--d-width 8 --device cpu --threads 1 --out " + dir + "/run2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Json config2 = RunFolder(dir + "/run2").read_config();
  EXPECT_EQ(config2["arch"], "dcgan");
  EXPECT_EQ(config2["loss"], "nonsaturating");
  EXPECT_EQ(config2["g_width"], 8);
  expect_cli_failure("train gan --data " + data + " --preset tiny --out " + dir + "/run3", "--preset");
}

TEST(GanCli, CtrlCWritesACheckpointAndResumeFinishes) {
  const std::string dir = test::temp_dir("gan_cli_sigint"), run = dir + "/run";
  // Start a long run, interrupt it once it has logged, and resume it to a shorter total.
  auto r = run_shell(std::string(IMPASTO_CLI_PATH) + " train gan -q" + kTinyRing + " --steps 1000000 --log-every 1 --out " +
                     run + " & pid=$!; for i in $(seq 1 300); do [ -s " + run +
                     "/log.jsonl ] && break; sleep 0.1; done; sleep 0.5; kill -INT $pid; wait $pid; echo exit=$?");
  ASSERT_NE(r.output.find("exit=130"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--resume"), std::string::npos) << r.output;
  const Checkpoint c = load_checkpoint(run + "/checkpoints/latest.ckpt");
  const int64_t stopped = c.meta["step"].get<int64_t>();
  EXPECT_GT(stopped, 0);
  EXPECT_LT(stopped, 1000000);

  expect_cli_failure("train gan --resume " + run + " --loss hinge", "--loss");
  r = run_cli("train gan -q --resume " + run + " --steps " + std::to_string(stopped + 5));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto log = RunFolder(run).read_log();
  EXPECT_EQ(log.back()["step"], stopped + 5);
  for (size_t i = 1; i < log.size(); ++i) EXPECT_EQ(log[i]["step"].get<int64_t>(), log[i - 1]["step"].get<int64_t>() + 1);
}

// Two processes started the way torchrun starts them end with identical parameters, equal to one
// process trained on the combined batch.
TEST(GanCli, TwoProcessDataParallelMatchesOneProcessOnTheCombinedBatch) {
  const std::string dir = test::temp_dir("gan_ddp");
  const std::string common = " train gan -q --synthetic ring8 --z-dim 4 --mlp-hidden 32 --mlp-layers 2 --device cpu"
                             " --threads 1 --steps 20 --loss wgangp --n-critic 2 --ema 0 --seed 9";
  auto r = test::run_cli_two_ranks(common + " --batch-size 16 --out " + dir + "/ddp");
  ASSERT_NE(r.output.find("exit=0,0"), std::string::npos) << r.output;
  r = run_cli(common + " --batch-size 32 --out " + dir + "/single");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  // The final checkpoint records that every replica ended with the same parameters.
  const Checkpoint ddp = load_checkpoint(dir + "/ddp/checkpoints/latest.ckpt");
  const Checkpoint single = load_checkpoint(dir + "/single/checkpoints/latest.ckpt");
  EXPECT_EQ(ddp.meta["world_size"], 2);
  EXPECT_EQ(ddp.meta["replicas_identical"], true);
  EXPECT_FALSE(fs::exists(dir + "/ddp/checkpoints/rank1"));
  int compared = 0;
  for (const auto& [name, t] : ddp.tensors) {
    if (name.rfind("G.", 0) != 0 && name.rfind("D.", 0) != 0) continue;
    const at::Tensor* s = find_tensor(single.tensors, name);
    ASSERT_NE(s, nullptr) << name;
    // Summation order differs (two half-batch means averaged vs one mean): float32 rounding only.
    EXPECT_TRUE(t.allclose(*s, 1e-4, 1e-5)) << name << " max diff " << (t - *s).abs().max().item<double>();
    ++compared;
  }
  EXPECT_GE(compared, 8);
}
