// The CycleGAN trainer's contracts: the image pool's behaviour, option errors naming the option,
// exact resume, checkpoint contents, and the exported generators loading as style networks.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "impasto/core/error.h"
#include "impasto/data/synthetic.h"
#include "impasto/io/weights.h"
#include "impasto/nn/cyclegan_nets.h"
#include "impasto/nn/gan_model.h"
#include "impasto/style/network.h"
#include "impasto/train/cyclegan_trainer.h"
#include "impasto/train/image_pool.h"
#include "impasto/io/run_dir.h"
#include "test_support.h"

using namespace impasto;
namespace fs = std::filesystem;

namespace {

// Tiny nets on 16 px digits in the two palettes: a few seconds for a dozen steps.
CycleGanTrainOptions tiny_options(int64_t steps) {
  CycleGanTrainOptions o;
  o.synthetic_a = "digits-paper";
  o.synthetic_b = "digits-neon";
  o.size = 16;
  o.flip = false;
  o.batch_size = 2;
  o.workers = 1;
  o.netG = "resnet_1blocks";
  o.ngf = 4;
  o.netD = "n_layers";
  o.n_layers_D = 2;
  o.ndf = 4;
  o.pool_size = 3;  // full after two steps: the swapping branch runs too
  o.steps = steps;
  o.log_every = 1;
  o.sample_every = 4;
  o.checkpoint_every = 4;
  o.num_samples = 2;
  o.device = "cpu";
  o.seed = 7;
  return o;
}

at::Tensor images(int64_t n, float base) { return at::arange(n, at::kFloat).reshape({n, 1, 1, 1}).expand({n, 1, 2, 2}) + base; }

// The first value of each image (images are constant): which image it is.
std::vector<float> ids(const at::Tensor& batch) {
  std::vector<float> out;
  for (int64_t i = 0; i < batch.size(0); ++i) out.push_back(batch[i][0][0][0].item<float>());
  return out;
}

Callbacks stop_after(int64_t stop_after) {
  auto last = std::make_shared<int64_t>(0);
  Callbacks cb;
  cb.progress = [last](const ProgressEvent& e) { *last = e.step; };
  cb.should_stop = [last, stop_after] { return *last >= stop_after; };
  return cb;
}

std::map<std::string, at::Tensor> tensors_of(const std::string& checkpoint) {
  std::map<std::string, at::Tensor> out;
  for (auto& [name, t] : load_checkpoint(checkpoint).tensors) out[name] = t;
  return out;
}

void expect_exact_resume(const CycleGanTrainOptions& options, int64_t stop, const std::string& name) {
  const std::string straight = test::temp_dir(name + "_straight"), broken = test::temp_dir(name + "_broken");
  train_cyclegan(options, straight, {});
  const CycleGanTrainResult first = train_cyclegan(options, broken, stop_after(stop));
  EXPECT_TRUE(first.interrupted);
  EXPECT_EQ(first.step, stop);
  const CycleGanTrainResult second = resume_cyclegan(broken, 0, {});
  EXPECT_FALSE(second.interrupted);
  EXPECT_EQ(second.step, options.steps);

  const auto a = RunFolder(straight).read_log(), b = RunFolder(broken).read_log();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    for (const char* key : {"step", "loss_D_A", "loss_G_A", "cycle_A", "idt_A", "loss_D_B", "loss_G_B", "cycle_B", "idt_B",
                            "grad_norm_G", "grad_norm_D", "lr"})
      EXPECT_EQ(a[i][key], b[i][key]) << key << " at record " << i;
  auto ta = tensors_of(straight + "/checkpoints/latest.ckpt"), tb = tensors_of(broken + "/checkpoints/latest.ckpt");
  ASSERT_EQ(ta.size(), tb.size());
  for (auto& [key, t] : ta) {
    if (key.rfind("rng", 0) == 0) continue;
    ASSERT_TRUE(tb.count(key)) << key;
    EXPECT_TRUE(t.equal(tb[key])) << key;
  }
}

}  // namespace

TEST(ImagePool, FillsFirstThenSwapsHalfTheTime) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(11);
  ImagePool pool(4);
  // Until full: every image is stored and comes back itself.
  EXPECT_EQ(ids(pool.query(images(3, 0), generator)), (std::vector<float>{0, 1, 2}));
  EXPECT_EQ(pool.size(), 3);
  EXPECT_EQ(ids(pool.query(images(1, 100), generator)), (std::vector<float>{100}));  // the fourth fills it
  EXPECT_EQ(pool.size(), 4);
  // Once full: each image comes back itself or swapped for a stored one, about half the time each.
  std::set<float> stored = {0, 1, 2, 100};
  int swapped = 0, total = 0;
  for (int round = 0; round < 200; ++round) {
    const float base = 1000.0f * (round + 1);
    const at::Tensor batch = images(4, base);
    const std::vector<float> out = ids(pool.query(batch, generator));
    for (size_t i = 0; i < out.size(); ++i) {
      ++total;
      if (out[i] == base + i) continue;
      ++swapped;
      EXPECT_TRUE(stored.count(out[i])) << out[i] << " was never stored";
      stored.erase(out[i]);
      stored.insert(base + i);
    }
    std::set<float> held;
    for (float v : ids(pool.contents())) held.insert(v);
    EXPECT_EQ(held, stored);
  }
  EXPECT_EQ(pool.size(), 4);
  EXPECT_NEAR(static_cast<double>(swapped) / total, 0.5, 0.06);  // 800 coins: std 0.018
}

TEST(ImagePool, ZeroPassesThroughAndRestoredPoolsContinueAlike) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(3);
  ImagePool none(0);
  const at::Tensor x = images(5, 0).requires_grad_(true);
  const at::Tensor y = none.query(x, generator);
  EXPECT_TRUE(y.equal(x.detach()));
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(none.size(), 0);
  EXPECT_FALSE(none.contents().defined());

  // A pool restored from its contents, queried with a generator in the same state, answers alike.
  ImagePool a(6);
  a.query(images(8, 0), generator);
  ImagePool b(6);
  b.restore(a.contents());
  auto g1 = at::make_generator<at::CPUGeneratorImpl>(5), g2 = at::make_generator<at::CPUGeneratorImpl>(5);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(a.query(images(4, 10.0f * (i + 1)), g1).equal(b.query(images(4, 10.0f * (i + 1)), g2)));
  EXPECT_TRUE(a.contents().equal(b.contents()));

  EXPECT_THROW(ImagePool(2).restore(images(3, 0)), SourceError);
  EXPECT_EQ(test::failing_option([] { ImagePool(-1); }), "pool_size");
}

TEST(CycleGanTrainer, BadOptionsNameTheOption) {
  const CycleGanTrainOptions o = tiny_options(3);
  auto bad = o;
  auto expect_option = [](const CycleGanTrainOptions& options, const std::string& option) {
    EXPECT_EQ(test::failing_option([&] { resolve(options); }), option);
  };
  bad.gan_mode = "hinge";
  expect_option(bad, "gan_mode");
  bad = o;
  bad.netG = "resnet_big";
  expect_option(bad, "netG");
  bad = o;
  bad.netD = "patch";
  expect_option(bad, "netD");
  bad = o;
  bad.n_layers_D = 5;  // no patch left of a 16 px image
  expect_option(bad, "n_layers_D");
  bad = o;
  bad.norm = "layer";
  expect_option(bad, "norm");
  bad = o;
  bad.netG = "unet_256";  // needs 256 px
  expect_option(bad, "size");
  bad = o;
  bad.size = 18;  // not a multiple of 4
  expect_option(bad, "size");
  bad = o;
  bad.output_nc = 1;  // identity loss needs equal channels
  expect_option(bad, "lambda_identity");
  bad.lambda_identity = 0;
  EXPECT_EQ(resolve(bad).output_nc, 1);
  bad = o;
  bad.synthetic_a = "ring8";
  expect_option(bad, "synthetic_a");
  bad = o;
  bad.synthetic_b.clear();
  expect_option(bad, "domain_b");
  bad = o;
  bad.domain_a = "/somewhere";
  expect_option(bad, "synthetic_a");  // both a folder and a synthetic set
  bad = o;
  bad.decay_start = 4;
  expect_option(bad, "decay_start");
  bad = o;
  bad.pool_size = -1;
  expect_option(bad, "pool_size");
  bad = o;
  bad.lr = 0;
  expect_option(bad, "lr");
  bad = o;
  bad.preprocess = "scale_width";  // the reference's, but it keeps sizes that vary
  expect_option(bad, "preprocess");
  bad = o;
  bad.load_size = o.size - 4;  // below the crop
  expect_option(bad, "load_size");
  EXPECT_EQ(resolve(o).decay_start, 1);  // -1 = half the steps
  EXPECT_EQ(test::failing_option([] { cyclegan_train_options_from_json(Json{{"lambda_a", 10}}); }), "lambda_a");
  // The reference's preprocessing by default: resize_and_crop from 286 to 256 (the same ratio for
  // other sizes); a config.json from before --preprocess resumes as it was trained.
  CycleGanTrainOptions reference = o;
  reference.size = 256;
  reference.netD = "pixel";
  EXPECT_EQ(resolve(reference).load_size, 286);
  EXPECT_EQ(resolve(reference).preprocess, "resize_and_crop");
  EXPECT_EQ(resolve(o).load_size, (o.size * 286 + 128) / 256);
  Json old_config = to_json(resolve(o));
  old_config.erase("preprocess");
  old_config.erase("load_size");
  const CycleGanTrainOptions old = cyclegan_train_options_from_json(old_config);
  EXPECT_EQ(old.preprocess, "scale_shortside_and_crop");
  EXPECT_EQ(old.load_size, o.size);
  // Folders are opened by training: a missing one is a FileError naming it.
  bad = o;
  bad.synthetic_a.clear();
  bad.domain_a = test::temp_dir("cyclegan_bad") + "/missing";
  const std::string message = test::expect_error<FileError>([&] { train_cyclegan(bad, test::temp_dir("cyclegan_bad_run"), {}); });
  EXPECT_NE(message.find("missing"), std::string::npos) << message;
  EXPECT_THROW(resume_cyclegan(test::temp_dir("not_a_cyclegan_run"), 0, {}), FileError);
}

TEST(CycleGanTrainer, ResumeRepeatsTheUninterruptedRunExactly) {
  // lsgan, dropout (the global generator), batch norm (running statistics), a pool that swaps, decay.
  CycleGanTrainOptions o = tiny_options(10);
  o.no_dropout = false;
  o.norm = "batch";
  o.decay_start = 5;
  expect_exact_resume(o, 6, "cyclegan_resume");
}

TEST(CycleGanTrainer, ResumeIsExactWithGradientPenaltyAndWorkers) {
  CycleGanTrainOptions o = tiny_options(7);
  o.gan_mode = "wgangp";
  o.workers = 2;
  o.flip = true;
  expect_exact_resume(o, 3, "cyclegan_resume_gp");
}

TEST(CycleGanTrainer, RunFolderCheckpointAndExportedGenerators) {
  const std::string dir = test::temp_dir("cyclegan_run");
  CycleGanTrainOptions o = tiny_options(5);
  o.gan_mode = "vanilla";
  o.log_every = 2;
  const CycleGanTrainResult result = train_cyclegan(o, dir, {});
  EXPECT_EQ(result.step, 5);
  EXPECT_EQ(result.generator_a, dir + "/G_A.ckpt");

  RunFolder run(dir);
  const Json config = run.read_config();
  EXPECT_EQ(config["decay_start"], 2);
  EXPECT_EQ(config["netG"], "resnet_1blocks");
  EXPECT_EQ(cyclegan_train_options_from_json(recipe_options(config)).steps, 5);  // round trip
  const auto log = run.read_log();
  ASSERT_EQ(log.size(), 3u);  // steps 2, 4 and the last
  for (const char* key : {"loss_D_A", "loss_G_A", "cycle_A", "idt_A", "loss_D_B", "loss_G_B", "cycle_B", "idt_B", "lr",
                          "images_per_s", "grad_norm_G", "grad_norm_D"})
    EXPECT_TRUE(log.back().contains(key)) << key;
  for (int64_t step : {0, 4, 5}) EXPECT_TRUE(fs::exists(run.sample_path(step))) << step;
  std::ifstream in(dir + "/report.html");
  const std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(html.find("G_A.ckpt"), std::string::npos);
  size_t pos = 0;
  int references = 0;
  while ((pos = html.find("src=\"", pos)) != std::string::npos) {
    pos += 5;
    const std::string file = html.substr(pos, html.find('"', pos) - pos);
    EXPECT_TRUE(fs::exists(dir + "/" + file)) << file;
    ++references;
  }
  EXPECT_GE(references, 8);  // five charts, three sample grids

  // The run checkpoint holds all four nets, both optimizers, both pools and the generator state.
  const Checkpoint c = load_checkpoint(dir + "/checkpoints/latest.ckpt");
  EXPECT_EQ(c.arch, "cyclegan");
  EXPECT_EQ(c.meta["step"], 5);
  std::set<std::string> prefixes;
  for (const auto& [name, t] : c.tensors) prefixes.insert(name.substr(0, name.find('.')));
  EXPECT_EQ(prefixes, (std::set<std::string>{"G_A", "G_B", "D_A", "D_B", "optimizer", "pool", "rng"}));
  EXPECT_EQ(find_tensor(c.tensors, "pool.fake_A")->size(0), 3);
  EXPECT_NE(find_tensor(c.tensors, "optimizer.D.0.exp_avg"), nullptr);

  // G_A.ckpt is G_A's state dict with the reference's keys, equal to the run checkpoint's G_A.
  const StateDict exported = load_weights(dir + "/G_A.ckpt");
  const StateDict in_run = sub_state_dict(c.tensors, "G_A");
  ASSERT_EQ(exported.size(), in_run.size());
  for (size_t i = 0; i < exported.size(); ++i) {
    EXPECT_EQ(exported[i].first, in_run[i].first);
    EXPECT_TRUE(exported[i].second.equal(in_run[i].second)) << exported[i].first;
  }
  EXPECT_NE(find_tensor(exported, "model.1.weight"), nullptr);
  EXPECT_EQ(style_network_kind(dir + "/G_A.ckpt"), "cyclegan_generator");
  const CycleGanGenerator G_A = load_cyclegan_generator(dir + "/G_A.ckpt");
  EXPECT_EQ(G_A->options().arch, "resnet_1blocks");
  EXPECT_EQ(G_A->options().ngf, 4);

  // `impasto stylize --model runs/x/G_A.ckpt` applies it to a photo of any size (fp32: the same numbers).
  StylizeInputs photo;
  photo.content.rgb = synthetic_landscape(30, 42, 3);
  const at::Tensor out = stylize_once("network", {{"model", dir + "/G_A.ckpt"}, {"precision", "fp32"}}, photo, {}).image.rgb;
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, 3, 30, 42}));
  torch::NoGradGuard no_grad;
  EXPECT_LT((out - translate(*G_A, photo.content.rgb).clamp(0, 1)).abs().max().item<float>(), 1e-6);
  // G_B maps the other way; both files are refreshed with every checkpoint.
  EXPECT_EQ(load_checkpoint(dir + "/G_B.ckpt").meta["direction"], "B->A");
  EXPECT_EQ(load_checkpoint(dir + "/G_B.ckpt").meta["step"], 5);
  // Resuming to a total before the decay start (2) is refused; a second run into the folder too.
  EXPECT_EQ(test::failing_option([&] { resume_cyclegan(dir, 1, {}); }), "steps");
  const std::string message = test::expect_error<FileError>([&] { train_cyclegan(o, dir, {}); });
  EXPECT_NE(message.find("--resume"), std::string::npos);
}
