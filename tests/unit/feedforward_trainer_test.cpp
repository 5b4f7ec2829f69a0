// The feed-forward recipe's run folder, exact resume, the exported model and its option checks.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "impasto/core/error.h"
#include "impasto/data/synthetic.h"
#include "impasto/io/image.h"
#include "impasto/nn/transformer_net.h"
#include "impasto/train/feedforward_trainer.h"
#include "impasto/io/run_dir.h"
#include "test_support.h"

using namespace impasto;

namespace {

FeedforwardTrainOptions tiny(const std::string& dir) {
  const std::string style = dir + "/style.png";
  if (!std::filesystem::exists(style)) write_image(style, synthetic_painting(40, 48, 2));
  FeedforwardTrainOptions o;
  o.style = style;
  o.data.synthetic = "textures";
  o.data.size = 16;
  o.data.batch_size = 2;
  o.data.workers = 1;
  o.style_size = 32;
  o.net.width = 4;
  o.net.residual_blocks = 1;
  o.steps = 6;
  o.seed = 3;
  o.device = "cpu";
  o.log_every = 1;
  o.sample_every = 3;
  o.checkpoint_every = 3;
  o.num_samples = 2;
  return o;
}

void fs_create(const std::string& dir) { std::filesystem::create_directories(dir); }

std::vector<double> losses(const std::string& run) {
  std::vector<double> out;
  for (const Json& r : RunFolder(run).read_log()) out.push_back(r.at("loss").get<double>());
  return out;
}

}  // namespace

TEST(FeedforwardTrainer, ResumeRepeatsTheUninterruptedRunAndExportsAModel) {
  const std::string dir = test::temp_dir("feedforward_resume");
  FeedforwardTrainOptions o = tiny(dir);
  o.adversarial_weight = 0.5;  // the PatchGAN term and its D must resume exactly too
  o.discriminator.arch = "n_layers";
  o.discriminator.n_layers = 1;
  o.discriminator.ndf = 4;
  train_feedforward(o, dir + "/full", {});
  o.steps = 3;
  train_feedforward(o, dir + "/split", {});
  const FeedforwardTrainResult resumed = resume_feedforward(dir + "/split", 6, {});
  EXPECT_EQ(resumed.step, 6);
  const std::vector<double> full = losses(dir + "/full"), split = losses(dir + "/split");
  ASSERT_EQ(full.size(), 6u);
  ASSERT_EQ(split.size(), 6u);
  for (size_t i = 0; i < full.size(); ++i) EXPECT_DOUBLE_EQ(full[i], split[i]) << "step " << i + 1;
  for (const char* file : {"config.json", "report.html", "model.ckpt", "samples/real.png", "samples/step-000000.png",
                           "samples/step-000006.png", "checkpoints/latest.ckpt"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/full/" + file)) << file;
  const Json record = RunFolder(dir + "/full").read_log().back();
  for (const char* key : {"content", "style", "adversarial", "loss_d", "images_per_s"}) EXPECT_TRUE(record.contains(key)) << key;

  // model.ckpt is a TransformerNet in pytorch/examples' [0,255] convention: it gives (up to the
  // instance norms' epsilon) what the trained [0,1] parametrisation gives.
  TransformerNet exported = load_transformer_net(dir + "/full/model.ckpt");
  EXPECT_EQ(exported->options().width, 4);
  EXPECT_EQ(exported->options().residual_blocks, 1);
  const at::Tensor image = torch::rand({1, 3, 20, 24});
  torch::NoGradGuard no_grad;
  const at::Tensor raw255 = exported->forward_raw(image * 255.0) / 255.0;
  auto trained = make_transformer_net(exported->options());
  Checkpoint ckpt = load_checkpoint(dir + "/full/checkpoints/latest.ckpt");
  StateDict net;
  for (auto& [name, t] : ckpt.tensors)
    if (name.rfind("net.", 0) == 0) net.emplace_back(name.substr(4), t);
  load_transformer_net_weights(*trained, net, "latest.ckpt");
  trained->eval();
  EXPECT_LT((trained->forward_raw(image) - raw255).abs().max().item<double>(), 1e-3);
}

TEST(FeedforwardTrainer, OptionErrorsNameTheOption) {
  const std::string dir = test::temp_dir("feedforward_options");
  auto fails_on = [&](const std::function<void(FeedforwardTrainOptions&)>& change) {
    FeedforwardTrainOptions o = tiny(dir);
    change(o);
    return test::failing_option([&] { resolve(o); });
  };
  EXPECT_EQ(fails_on([](auto& o) { o.style.clear(); }), "style");
  EXPECT_EQ(fails_on([](auto& o) { o.data.size = 30; }), "image_size");
  EXPECT_EQ(fails_on([](auto& o) { o.steps = 0; }), "steps");  // synthetic content has no epochs
  EXPECT_EQ(fails_on([](auto& o) { o.lr = 0; }), "lr");
  EXPECT_EQ(fails_on([](auto& o) { o.style_layers = {{"conv9_9", 1.0}}; }), "style_layers");
  EXPECT_EQ(fails_on([](auto& o) { o.normalisation = "l3"; }), "normalisation");
  EXPECT_EQ(fails_on([](auto& o) { o.content_weight = -1.0; }), "content_weight");
  EXPECT_EQ(fails_on([](auto& o) {
              o.adversarial_weight = 1;
              o.discriminator.arch = "huge";
            }),
            "arch");
  FeedforwardTrainOptions missing = tiny(dir);
  missing.style = dir + "/nope.png";
  EXPECT_THROW(resolve(missing), FileError);
  // A resolved config round-trips through config.json's JSON.
  const FeedforwardTrainOptions resolved = resolve(tiny(dir));
  EXPECT_EQ(to_json(feedforward_train_options_from_json(to_json(resolved))), to_json(resolved));
  Json unknown = to_json(resolved);
  unknown["colour"] = 1;
  EXPECT_EQ(test::failing_option([&] { feedforward_train_options_from_json(unknown); }), "colour");
}

TEST(FeedforwardTrainer, FolderRunsHoldOutFilesForTheSamples) {
  // Eight flat-coloured content files: the samples must show files the network never trains on.
  const std::string dir = test::temp_dir("feedforward_hold_out");
  fs_create(dir + "/photos");
  auto colour = [](int i) { return torch::tensor({i * 0.1f, 1.0f - i * 0.1f, 0.5f}).view({1, 3, 1, 1}); };
  for (int i = 0; i < 8; ++i) write_image(dir + "/photos/img" + std::to_string(i) + ".png", colour(i).expand({1, 3, 20, 24}).contiguous());
  FeedforwardTrainOptions o = tiny(dir);
  o.data.synthetic.clear();
  o.data.folder = dir + "/photos";
  o.steps = 0;  // from epochs: 2 passes over the 6 training files in batches of 2
  o.epochs = 2;
  const FeedforwardTrainOptions resolved = resolve(o);
  EXPECT_EQ(resolved.hold_out, 2);  // num_samples, at most a quarter of the folder
  EXPECT_EQ(resolved.steps, 6);
  o.steps = 1;
  train_feedforward(o, dir + "/run", {});
  EXPECT_EQ(RunFolder(dir + "/run").read_config()["hold_out"], 2);
  // The top row of the step-0 grid shows files 2 and 6 (evenly spread over the sorted names).
  const at::Tensor grid = read_image(dir + "/run/samples/step-000000.png").rgb;
  for (const auto& [column, file] : std::vector<std::pair<int, int>>{{0, 2}, {1, 6}}) {
    const at::Tensor pixel = grid.index({0, torch::indexing::Slice(), 50, 50 + column * 98}).view({1, 3, 1, 1});
    EXPECT_LT((pixel - colour(file)).abs().max().item<float>(), 0.01) << "column " << column;
  }
  // Too few files to hold any out: a warning, and the samples show training images.
  std::vector<std::string> warnings;
  Callbacks cb;
  cb.log = [&](LogLevel level, const std::string& message) {
    if (level == LogLevel::warn) warnings.push_back(message);
  };
  std::filesystem::remove_all(dir + "/photos");
  fs_create(dir + "/photos");
  for (int i = 0; i < 3; ++i) write_image(dir + "/photos/img" + std::to_string(i) + ".png", colour(i).expand({1, 3, 20, 24}).contiguous());
  train_feedforward(o, dir + "/small", cb);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("too few images"), std::string::npos) << warnings[0];
  o.hold_out = 3;
  EXPECT_EQ(test::failing_option([&] { resolve(o); }), "hold_out");
}
