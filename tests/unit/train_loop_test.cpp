// The training loop's contracts across recipes: config.json names the recipe, resume_run finds the
// recipe of any run (also of runs written before config.json named it), the registry refuses unknown
// names, and the run folder's read-only side creates nothing.
#include <gtest/gtest.h>

#include <filesystem>

#include "impasto/core/error.h"
#include "impasto/data/synthetic.h"
#include "impasto/io/image.h"
#include "impasto/io/run_dir.h"
#include "impasto/train/cyclegan_trainer.h"
#include "impasto/train/feedforward_trainer.h"
#include "impasto/train/gan_trainer.h"
#include "impasto/train/loop.h"
#include "test_support.h"

using namespace impasto;
namespace fs = std::filesystem;

namespace {

GanTrainOptions tiny_gan(int64_t steps) {
  GanTrainOptions o;
  o.data.synthetic = "ring8";
  o.data.batch_size = 16;
  o.nets.z_dim = 4;
  o.nets.mlp_hidden = 16;
  o.nets.mlp_layers = 1;
  o.steps = steps;
  o.log_every = 1;
  o.checkpoint_every = 2;
  o.device = "cpu";
  return o;
}

FeedforwardTrainOptions tiny_feedforward(const std::string& dir, int64_t steps) {
  write_image(dir + "/style.png", synthetic_painting(32, 32, 1));
  FeedforwardTrainOptions o;
  o.style = dir + "/style.png";
  o.data.synthetic = "textures";
  o.data.size = 16;
  o.data.batch_size = 1;
  o.data.workers = 0;
  o.style_size = 16;
  o.net.width = 2;
  o.net.residual_blocks = 0;
  o.num_samples = 1;
  o.steps = steps;
  o.log_every = 1;
  o.device = "cpu";
  return o;
}

// config.json as a run from before the "recipe" key has it.
void forget_recipe(const std::string& run) {
  Json config = RunFolder(run).read_config();
  config.erase("recipe");
  RunDirectory(run).write_config(config);
}

}  // namespace

TEST(TrainLoop, ConfigNamesTheRecipeAndAnyRunResumesByIt) {
  const std::string dir = test::temp_dir("loop_resume");
  train_gan(tiny_gan(2), dir + "/gan", {});
  train_feedforward(tiny_feedforward(dir, 2), dir + "/ff", {});
  EXPECT_EQ(RunFolder(dir + "/gan").read_config()["recipe"], "gan");
  EXPECT_EQ(RunFolder(dir + "/ff").read_config()["recipe"], "feedforward");

  const TrainResult gan = resume_run(dir + "/gan", 3, {});
  EXPECT_EQ(gan.recipe, "gan");
  EXPECT_EQ(gan.step, 3);
  ASSERT_EQ(gan.models.size(), 1u);  // the generator alone, for --style-gan and a server's models folder
  EXPECT_EQ(gan.models[0].file, dir + "/gan/generator.ckpt");
  const TrainResult ff = resume_run(dir + "/ff", 3, {});
  EXPECT_EQ(ff.recipe, "feedforward");
  EXPECT_EQ(ff.step, 3);
  ASSERT_EQ(ff.models.size(), 1u);
  EXPECT_EQ(ff.models[0].file, dir + "/ff/model.ckpt");
  EXPECT_EQ(RunFolder(dir + "/ff").read_log().back()["step"], 3);

  // A typed resume of another recipe's run says whose run it is.
  const std::string message = test::expect_error<OptionError>([&] { resume_gan(dir + "/ff", 0, {}); });
  EXPECT_NE(message.find("feedforward"), std::string::npos) << message;
}

TEST(TrainLoop, RunsWithoutTheRecipeKeyAreToldByTheirKeysOrCheckpoint) {
  const std::string dir = test::temp_dir("loop_old_runs");
  train_gan(tiny_gan(2), dir + "/gan", {});
  forget_recipe(dir + "/gan");
  const RunFolder gan(dir + "/gan");
  EXPECT_EQ(recipe_of_run(gan, gan.read_config()), "gan");
  EXPECT_EQ(resume_run(dir + "/gan", 4, {}).step, 4);
  EXPECT_EQ(gan.read_config()["recipe"], "gan");  // a new total rewrites config.json, now with the key
  forget_recipe(dir + "/gan");
  EXPECT_EQ(resume_gan(dir + "/gan", 5, {}).step, 5);  // the typed entry point too

  // Keys alone: a feed-forward and a CycleGAN config (as resolve() writes them) without "recipe".
  const RunFolder none(dir + "/nowhere");
  EXPECT_EQ(recipe_of_run(none, to_json(resolve(tiny_feedforward(dir, 1)))), "feedforward");
  CycleGanTrainOptions cyclegan;
  cyclegan.synthetic_a = "digits-paper";
  cyclegan.synthetic_b = "digits-neon";
  cyclegan.size = 16;
  cyclegan.netG = "resnet_1blocks";
  cyclegan.netD = "pixel";
  EXPECT_EQ(recipe_of_run(none, to_json(resolve(cyclegan))), "cyclegan");
  // Neither key nor checkpoint: an error naming config.json; with a checkpoint: its architecture.
  EXPECT_NE(test::expect_error<FormatError>([&] { recipe_of_run(none, Json{{"seed", 1}}); }).find("config.json"),
            std::string::npos);
  EXPECT_EQ(recipe_of_run(gan, Json{{"seed", 1}}), "gan");
}

TEST(TrainLoop, UnknownRecipeNamesTheValidOnes) {
  const std::string message = test::expect_error<OptionError>([] { recipe_registry().create("wct", Json::object()); });
  for (const char* name : {"adain", "cyclegan", "feedforward", "gan"}) EXPECT_NE(message.find(name), std::string::npos) << message;
  EXPECT_EQ(test::failing_option([] { recipe_registry().create("nope", Json::object()); }), "recipe");

  const std::string dir = test::temp_dir("loop_unknown");
  train_gan(tiny_gan(2), dir + "/run", {});
  Json config = RunFolder(dir + "/run").read_config();
  config["recipe"] = "wct";
  RunDirectory(dir + "/run").write_config(config);
  EXPECT_EQ(test::failing_option([&] { resume_run(dir + "/run", 0, {}); }), "recipe");
}

TEST(TrainLoop, ReadOnlyRunFolderCreatesNothing) {
  const std::string dir = test::temp_dir("loop_read_only") + "/absent/";
  const RunFolder run(dir);
  EXPECT_EQ(run.path() + "/", dir);
  EXPECT_EQ(run.latest_checkpoint(), "");
  EXPECT_TRUE(run.read_log().empty());
  EXPECT_THROW(run.read_config(), FileError);
  EXPECT_FALSE(fs::exists(dir));
  RunDirectory writing(dir);
  EXPECT_TRUE(fs::is_directory(dir + "checkpoints"));
}
