// `impasto train cyclegan` end to end: the run folder, the exported generators applied by
// `impasto stylize --model`, Ctrl-C and resume, and bad flags named as flags.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "impasto/data/synthetic.h"
#include "impasto/io/image.h"
#include "impasto/io/weights.h"
#include "impasto/io/run_dir.h"
#include "test_support.h"

using namespace impasto;
using impasto::test::expect_cli_failure;
using impasto::test::run_cli;
using impasto::test::run_shell;
namespace fs = std::filesystem;

namespace {

const std::string kTiny =
    " --synthetic-a digits-paper --synthetic-b digits-neon --size 16 --batch-size 2 --netG resnet_1blocks --ngf 4"
    " --netD n_layers --n-layers-D 2 --ndf 4 --no-flip --num-samples 2 --device cpu --threads 1";

}  // namespace

TEST(CycleGanCli, TrainWritesRunFolderAndStylizeAppliesTheGenerators) {
  const std::string dir = test::temp_dir("cyclegan_cli"), run = dir + "/run";
  auto r = run_cli("train cyclegan -q" + kTiny + " --steps 4 --sample-every 2 --checkpoint-every 2 --out " + run);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(run + "/G_A.ckpt (A -> B)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(run + "/G_B.ckpt (B -> A)"), std::string::npos) << r.output;
  for (const char* f : {"config.json", "log.jsonl", "report.html", "G_A.ckpt", "G_B.ckpt", "samples/step-000000.png",
                        "samples/step-000004.png", "checkpoints/latest.ckpt", "checkpoints/step-000002.ckpt"})
    EXPECT_TRUE(fs::exists(run + "/" + f)) << f;
  const Json config = RunFolder(run).read_config();
  EXPECT_EQ(config["flip"], false);
  EXPECT_EQ(config["no_dropout"], true);
  EXPECT_EQ(config["n_layers_D"], 2);

  write_image(dir + "/photo.png", synthetic_landscape(20, 28, 1));
  for (const char* g : {"G_A", "G_B"}) {
    r = run_cli("stylize -q -c " + dir + "/photo.png --model " + run + "/" + g + ".ckpt -o " + dir + "/" + g + ".png");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const Image out = read_image(dir + "/" + g + ".png");
    EXPECT_EQ(out.width(), 28);
    EXPECT_EQ(out.height(), 20);
  }
}

TEST(CycleGanCli, CtrlCWritesACheckpointAndResumeFinishes) {
  const std::string dir = test::temp_dir("cyclegan_cli_sigint"), run = dir + "/run";
  auto r = run_shell(std::string(IMPASTO_CLI_PATH) + " train cyclegan -q" + kTiny + " --steps 1000000 --decay-start 0 --log-every 1 --out " +
                     run + " & pid=$!; for i in $(seq 1 300); do [ -s " + run +
                     "/log.jsonl ] && break; sleep 0.1; done; kill -INT $pid; wait $pid; echo exit=$?");
  ASSERT_NE(r.output.find("exit=130"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("train cyclegan --resume"), std::string::npos) << r.output;
  const int64_t stopped = load_checkpoint(run + "/checkpoints/latest.ckpt").meta["step"].get<int64_t>();
  EXPECT_GT(stopped, 0);
  EXPECT_TRUE(fs::exists(run + "/G_A.ckpt"));

  expect_cli_failure("train cyclegan --resume " + run + " --gan-mode vanilla", "--gan-mode");
  r = run_cli("train cyclegan -q --resume " + run + " --steps " + std::to_string(stopped + 3));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto log = RunFolder(run).read_log();
  EXPECT_EQ(log.back()["step"], stopped + 3);
  for (size_t i = 1; i < log.size(); ++i) EXPECT_EQ(log[i]["step"].get<int64_t>(), log[i - 1]["step"].get<int64_t>() + 1);
  EXPECT_EQ(load_checkpoint(run + "/G_B.ckpt").meta["step"], stopped + 3);
}

TEST(CycleGanCli, BadFlagsAreNamed) {
  const std::string dir = test::temp_dir("cyclegan_cli_bad");
  expect_cli_failure("train cyclegan" + kTiny + " --gan-mode hinge --out " + dir + "/a", "--gan-mode");
  expect_cli_failure("train cyclegan" + kTiny + " --netG resnet_big --out " + dir + "/b", "--netG");
  expect_cli_failure("train cyclegan" + kTiny + " --n-layers-D 6 --out " + dir + "/c", "--n-layers-D");
  expect_cli_failure("train cyclegan --synthetic-a nope --synthetic-b digits --out " + dir + "/d", "--synthetic-a");
  expect_cli_failure("train cyclegan --synthetic-a digits --out " + dir + "/e", "--domain-b");
  expect_cli_failure("train cyclegan --domain-a " + dir + "/missing --synthetic-b digits --out " + dir + "/f", "missing");
  expect_cli_failure("train cyclegan" + kTiny + " --output-nc 1 --out " + dir + "/g", "--lambda-identity");
  expect_cli_failure("train cyclegan" + kTiny, "--out");
  expect_cli_failure("train cyclegan --resume " + dir + "/none", "none");
}

TEST(CycleGanCli, FolderDomainsTakeTheReferencesPreprocessingFlags) {
  const std::string dir = test::temp_dir("cyclegan_cli_folders"), run = dir + "/run";
  for (const char* domain : {"a", "b"}) {
    fs::create_directories(dir + "/" + domain);
    for (int i = 0; i < 3; ++i)
      write_image(dir + "/" + domain + "/" + std::to_string(i) + ".png", synthetic_landscape(30 + 4 * i, 44, uint64_t(i)));
  }
  const std::string nets = " --batch-size 2 --netG resnet_1blocks --ngf 4 --netD n_layers --n-layers-D 1 --ndf 4"
                           " --num-samples 2 --workers 0 --device cpu --threads 1";
  auto r = run_cli("train cyclegan -q --domain-a " + dir + "/a --domain-b " + dir + "/b --crop-size 16 --load-size 20"
                   " --preprocess scale_width_and_crop" + nets + " --steps 2 --out " + run);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Json config = RunFolder(run).read_config();
  EXPECT_EQ(config["size"], 16);
  EXPECT_EQ(config["load_size"], 20);
  EXPECT_EQ(config["preprocess"], "scale_width_and_crop");
  // Without the flags: the reference's resize_and_crop at its ratio (18 for a 16 crop).
  r = run_cli("train cyclegan -q --domain-a " + dir + "/a --domain-b " + dir + "/b --size 16" + nets + " --steps 1 --out " + run + "2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(RunFolder(run + "2").read_config()["preprocess"], "resize_and_crop");
  EXPECT_EQ(RunFolder(run + "2").read_config()["load_size"], 18);
  expect_cli_failure("train cyclegan" + kTiny + " --preprocess none --steps 1 --out " + dir + "/x", "--preprocess");
  expect_cli_failure("train cyclegan" + kTiny + " --load-size 8 --steps 1 --out " + dir + "/y", "--load-size");
}
