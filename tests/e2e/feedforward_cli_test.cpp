// `impasto train feedforward` end to end: the run folder, its model applied by
// `impasto stylize --model`, resume, bad flags named as flags, and data-parallel training across two
// processes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>

#include "impasto/data/synthetic.h"
#include "impasto/io/image.h"
#include "impasto/io/run_dir.h"
#include "impasto/io/weights.h"
#include "impasto/nn/transformer_net.h"
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

// Two processes started the way torchrun starts them, each with batch 2, end where one process with
// batch 4 ends: the recipe averages its gradients and draws the style patches' positions as this
// process's rows of one global draw. Every term of the objective is a batch mean under the mse
// normalisation and the nets have instance norms only, so only float32 summation order differs.
TEST(FeedforwardCli, TwoProcessDataParallelMatchesOneProcessOnTheCombinedBatch) {
  const std::string dir = test::temp_dir("feedforward_ddp");
  write_image(dir + "/style.png", synthetic_painting(40, 40, 1));
  const std::string common = " train feedforward -q --style " + dir + "/style.png --synthetic textures --image-size 16"
                             " --style-size 32 --width 4 --residual-blocks 1 --num-samples 2 --device cpu --threads 1"
                             " --workers 1 --normalisation mse --content-weight 1 --style-weight 10 --adversarial-weight 0.5"
                             " --netD n_layers --n-layers-D 1 --ndf 4 --steps 8 --checkpoint-every 4 --seed 4";
  auto r = test::run_cli_two_ranks(common + " --batch-size 2 --out " + dir + "/ddp");
  ASSERT_NE(r.output.find("exit=0,0"), std::string::npos) << r.output;
  r = run_cli(common + " --batch-size 4 --out " + dir + "/single");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const Checkpoint ddp = load_checkpoint(dir + "/ddp/checkpoints/latest.ckpt");
  const Checkpoint single = load_checkpoint(dir + "/single/checkpoints/latest.ckpt");
  EXPECT_EQ(ddp.meta["world_size"], 2);
  EXPECT_EQ(ddp.meta["replicas_identical"], true);
  EXPECT_EQ(single.meta["world_size"], 1);
  // Weights of the network and of D. (Not the biases of convs followed by an instance norm: their
  // gradient is zero up to rounding, which Adam turns into steps of the learning rate's size in
  // either direction; they change no output.)
  int compared = 0;
  double worst = 0;
  for (const auto& [name, t] : ddp.tensors) {
    const bool weight = name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
    if ((name.rfind("net.", 0) != 0 && name.rfind("D.", 0) != 0) || !weight) continue;
    const at::Tensor* s = find_tensor(single.tensors, name);
    ASSERT_NE(s, nullptr) << name;
    const double diff = (t - *s).abs().max().item<double>();
    worst = std::max(worst, diff);
    EXPECT_TRUE(t.allclose(*s, 1e-4, 1e-5)) << name << " max diff " << diff;
    ++compared;
  }
  EXPECT_GE(compared, 10);
  // The exported networks (rank 0's model.ckpt) stylize alike.
  const TransformerNet a = load_transformer_net(dir + "/ddp/model.ckpt"), b = load_transformer_net(dir + "/single/model.ckpt");
  torch::NoGradGuard no_grad;
  const at::Tensor photo = synthetic_landscape(24, 32, 2);
  const double output_diff = (a->forward(photo) - b->forward(photo)).abs().max().item<double>();
  EXPECT_LT(output_diff, 1e-4);
  std::printf("feed-forward, 2 processes x batch 2 vs 1 x batch 4, 8 steps: weights differ by at most %.3g, "
              "outputs by %.3g\n", worst, output_diff);
}

// `impasto train --resume DIR` continues a run of any recipe by the recipe its config.json names.
TEST(FeedforwardCli, TrainResumeWithoutARecipeContinuesTheRun) {
  const std::string dir = test::temp_dir("train_resume_cli"), run = dir + "/run";
  write_image(dir + "/style.png", synthetic_painting(40, 40, 1));
  auto r = run_cli("train feedforward -q" + tiny(dir + "/style.png") + " --steps 2 --out " + run);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("train -q --resume " + run + " --steps 3 --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("stylize --model " + run + "/model.ckpt"), std::string::npos) << r.output;
  EXPECT_EQ(RunFolder(run).read_log().back()["step"], 3);
  expect_cli_failure("train", "--resume");
  expect_cli_failure("train --resume " + dir + "/none", "none");
  expect_cli_failure("train gan --resume " + run, "feedforward");
}
