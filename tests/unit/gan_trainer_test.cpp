// The GAN trainer's contracts: exact resume, checkpoint contents, run-folder files, corrupt images
// skipped and counted, option checking.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "impasto/core/error.h"
#include "impasto/data/synthetic.h"
#include "impasto/io/image.h"
#include "impasto/io/weights.h"
#include "impasto/nn/gan_model.h"
#include "impasto/train/gan_trainer.h"
#include "impasto/io/run_dir.h"
#include "test_support.h"

using namespace impasto;
namespace fs = std::filesystem;

namespace {

GanTrainOptions ring_options(int64_t steps) {
  GanTrainOptions o;
  o.data.synthetic = "ring8";
  o.data.batch_size = 32;
  o.nets.z_dim = 4;
  o.nets.mlp_hidden = 32;
  o.nets.mlp_layers = 2;
  o.steps = steps;
  o.log_every = 1;
  o.sample_every = 10;
  o.checkpoint_every = 10;
  o.device = "cpu";
  o.seed = 3;
  return o;
}

GanTrainOptions digits_options(int64_t steps) {
  GanTrainOptions o;
  o.data.synthetic = "digits";
  o.data.size = 32;
  o.data.batch_size = 8;
  o.data.workers = 2;
  o.nets.z_dim = 16;
  o.nets.g_width = 8;
  o.nets.d_width = 8;
  o.steps = steps;
  o.log_every = 1;
  o.sample_every = 5;
  o.checkpoint_every = 5;
  o.num_samples = 16;
  o.device = "cpu";
  o.seed = 5;
  return o;
}

// Callbacks that ask to stop once `stop_after` steps have been reported.
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

// Runs uninterrupted, and interrupted at `stop` then resumed: the logs after `stop` and the final
// weights must be identical.
void expect_exact_resume(const GanTrainOptions& options, int64_t stop, const std::string& name) {
  const std::string straight = test::temp_dir(name + "_straight"), broken = test::temp_dir(name + "_broken");
  train_gan(options, straight, {});
  GanTrainResult first = train_gan(options, broken, stop_after(stop));
  EXPECT_TRUE(first.interrupted);
  EXPECT_EQ(first.step, stop);
  GanTrainResult second = resume_gan(broken, 0, {});
  EXPECT_FALSE(second.interrupted);
  EXPECT_EQ(second.step, options.steps);

  const auto a = RunFolder(straight).read_log(), b = RunFolder(broken).read_log();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    for (const char* key : {"step", "loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g"})
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

TEST(GanTrainer, ResumeRepeatsTheUninterruptedRunExactly) {
  expect_exact_resume(ring_options(30), 13, "resume_ring");
}

TEST(GanTrainer, ResumeIsExactWithBatchNormEmaWorkersAndGradientPenalty) {
  GanTrainOptions o = digits_options(12);
  o.loss = "wgangp";
  o.n_critic = 2;
  expect_exact_resume(o, 7, "resume_digits");
}

TEST(GanTrainer, ResumeIsExactWithSpectralNormAugmentationAndDecay) {
  GanTrainOptions o = digits_options(10);
  o.loss = "hinge";
  o.nets.spectral_norm = true;
  o.diff_augment = "color,translation,cutout";
  o.schedule = "linear";
  o.data.flip = true;
  expect_exact_resume(o, 5, "resume_sn");
}

TEST(GanTrainer, ResumeIsExactWithR1PackingAndPixelNormUpsamplingG) {
  GanTrainOptions o = digits_options(6);
  o.r1_gamma = 2;
  o.nets.pack = 2;
  o.nets.d_norm = "none";
  o.nets.g_norm = "pixel";
  o.nets.g_upsample = "nearest";
  expect_exact_resume(o, 3, "resume_r1");
  const std::string dir = test::temp_dir("r1_run");
  o.steps = 2;
  train_gan(o, dir, {});
  // The penalty is logged, and is a real, positive number.
  for (const Json& record : RunFolder(dir).read_log()) {
    ASSERT_TRUE(record.contains("r1")) << record.dump();
    EXPECT_GT(record["r1"].get<double>(), 0.0);
  }
  // The options survive config.json and the checkpoint; the model generates with the same G.
  const GanTrainOptions back = gan_train_options_from_json(recipe_options(RunFolder(dir).read_config()));
  EXPECT_DOUBLE_EQ(back.r1_gamma, 2.0);
  EXPECT_EQ(back.nets.pack, 2);
  EXPECT_EQ(back.nets.g_norm, "pixel");
  EXPECT_EQ(back.nets.g_upsample, "nearest");
  GanModel model = load_gan_model(dir);
  EXPECT_EQ(model.nets.g_norm, "pixel");
  EXPECT_EQ(model.nets.g_upsample, "nearest");
  EXPECT_EQ(generate(model, sample_latents(2, o.nets.z_dim, 0, 1)).sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
}

// FastGAN's self-supervised D draws its crop from the step's generator, lazy R1 runs on a fixed
// cadence of D updates, and latent categories are drawn from the step's generator: all stay exact
// across a resume.
TEST(GanTrainer, ResumeIsExactWithFastganReconstructionAndLazyR1) {
  GanTrainOptions o = digits_options(8);
  o.nets.arch = "fastgan";
  o.nets.g_width = 4;
  o.nets.d_width = 4;
  o.loss = "hinge";
  o.r1_gamma = 1;
  o.r1_every = 4;
  o.diff_augment = "translation";
  o.ada_target = 0.6;
  o.ada_images = 1000;  // p moves by 4 * 8 / 1000 every 4 D updates
  o.nets.categories = 3;
  o.info_augment = "hue,invert";  // the category head's second pass draws from the step's generator too
  expect_exact_resume(o, 5, "resume_fastgan");
  const std::string dir = test::temp_dir("fastgan_run");
  o.steps = 4;
  train_gan(o, dir, {});
  const auto log = RunFolder(dir).read_log();
  ASSERT_EQ(log.size(), 4u);
  for (const Json& record : log) {
    ASSERT_TRUE(record.contains("reconstruction")) << record.dump();
    EXPECT_GT(record["reconstruction"].get<double>(), 0.0);
    // D's read-back of the latent category: a cross-entropy over 3 categories, and its accuracy.
    for (const char* key : {"info_d", "info_g"}) {
      ASSERT_TRUE(record.contains(key)) << record.dump();
      EXPECT_GT(record[key].get<double>(), 0.0);
      EXPECT_LT(record[key].get<double>(), 3.0);
    }
    EXPECT_GE(record["category_accuracy"].get<double>(), 0.0);
    EXPECT_LE(record["category_accuracy"].get<double>(), 1.0);
  }
  // Adaptive augmentation: p starts at 0 and after the 4th D update moves up by 4 * 8 / 1000 when
  // r_t is above the target (or stays at 0, clamped, when below).
  EXPECT_EQ(log[0]["ada_p"].get<double>(), 0.0);
  const double rt = log[3]["ada_rt"].get<double>();
  EXPECT_GE(rt, -1.0);
  EXPECT_LE(rt, 1.0);
  EXPECT_NEAR(log[3]["ada_p"].get<double>(), rt > 0.6 ? 0.032 : 0.0, 1e-12);
  // With one D update per step, R1 runs where step * n_critic + k is a multiple of 4: at step 4 of
  // these, logged unweighted there and 0 elsewhere.
  EXPECT_GT(log[3]["r1"].get<double>(), 0.0);
  EXPECT_EQ(log[0]["r1"].get<double>(), 0.0);
  GanModel model = load_gan_model(dir);
  EXPECT_EQ(model.nets.arch, "fastgan");
  EXPECT_EQ(model.nets.categories, 3);
  EXPECT_EQ(load_gan_model(dir + "/generator.ckpt").nets.categories, 3);
  EXPECT_EQ(generate(model, sample_gan_latents(model.nets, 2, 0, 1, 2)).sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
  EXPECT_EQ(RunFolder(dir).read_config()["categories"].get<int64_t>(), 3);
}

// Evaluation while training: FID and KID in the log at the cadence, with the training time; curves
// against time in the report; the time continues over a resume. (The classifier's figures are
// checked by the learning test, tests/e2e/gan_learning_test.cpp, which trains the classifier anyway.)
TEST(GanTrainer, EvaluationLogsFidKidAndTrainingTime) {
  GanTrainOptions o = digits_options(6);
  o.eval_every = 3;
  o.eval_images = 20;
  o.log_every = 2;
  const std::string dir = test::temp_dir("eval_run");
  GanTrainResult first = train_gan(o, dir, stop_after(4));
  ASSERT_TRUE(first.interrupted);
  resume_gan(dir, 0, {});
  const auto log = RunFolder(dir).read_log();
  std::vector<int64_t> evaluated;
  double last_time = 0;
  for (const Json& record : log) {
    ASSERT_TRUE(record.contains("train_s")) << record.dump();
    EXPECT_GE(record["train_s"].get<double>(), last_time);  // over the resume too
    last_time = record["train_s"].get<double>();
    if (!record.contains("fid")) continue;
    evaluated.push_back(record["step"].get<int64_t>());
    EXPECT_GT(record["fid"].get<double>(), 0.0);
    EXPECT_TRUE(record.contains("kid"));
    EXPECT_TRUE(record.contains("eval_s"));
    EXPECT_FALSE(record.contains("top1"));  // no classifier asked for
  }
  EXPECT_EQ(evaluated, (std::vector<int64_t>{3, 6}));
  std::ifstream in(dir + "/report.html");
  const std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(html.find("FID of samples"), std::string::npos);
  EXPECT_NE(html.find("evaluation"), std::string::npos);
  o.eval_classifier = "letters";
  auto message = test::expect_error<OptionError>([&] { resolve(o); });
  EXPECT_NE(message.find("digits-ttf"), std::string::npos);
}

TEST(GanTrainer, EvaluationTakesInceptionFeaturesWhenTheirWeightsAreGiven) {
  // The width-reduced Inception of the fixtures in the published layout: the loader of the real one.
  GanTrainOptions o = digits_options(2);
  o.eval_every = 2;
  o.eval_images = 20;
  o.eval_features = "inception";
  o.eval_weights = test::fixture("metrics/inception_w16.pth");
  const std::string dir = test::temp_dir("eval_inception_run");
  train_gan(o, dir, {});
  bool measured = false;
  for (const Json& record : RunFolder(dir).read_log())
    if (record.contains("fid")) measured = std::isfinite(record["fid"].get<double>()) && record["fid"].get<double>() > 0;
  EXPECT_TRUE(measured);
  std::ifstream in(dir + "/report.html");
  const std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(html.find("FID of samples (inception)"), std::string::npos);
  // Mistakes are named before training starts.
  o.eval_weights = dir + "/missing.pth";
  EXPECT_NE(test::expect_error<OptionError>([&] { resolve(o); }).find("eval_weights"), std::string::npos);
  o.eval_features = "no-such-network";
  EXPECT_NE(test::expect_error<OptionError>([&] { resolve(o); }).find("eval_features"), std::string::npos);
}

TEST(GanTrainer, CheckpointHoldsEverythingAndLoadsAsAModel) {
  const std::string dir = test::temp_dir("ckpt");
  GanTrainOptions o = digits_options(5);
  train_gan(o, dir, {});
  const Checkpoint c = load_checkpoint(dir + "/checkpoints/latest.ckpt");
  EXPECT_EQ(c.arch, "gan");
  EXPECT_EQ(c.meta["step"], 5);
  EXPECT_EQ(c.meta["config"]["loss"], "nonsaturating");
  std::set<std::string> prefixes;
  for (const auto& [name, t] : c.tensors) prefixes.insert(name.substr(0, name.find('.')));
  for (const char* p : {"G", "D", "G_ema", "optimizer", "rng"}) EXPECT_TRUE(prefixes.count(p)) << p;
  EXPECT_TRUE(fs::exists(dir + "/checkpoints/step-000005.ckpt"));

  // The model loader takes the EMA weights by default and the raw ones on request.
  GanModel ema = load_gan_model(dir), raw = load_gan_model(dir + "/checkpoints/step-000005.ckpt", false);
  EXPECT_TRUE(ema.ema);
  EXPECT_FALSE(raw.ema);
  EXPECT_EQ(ema.step, 5);
  const auto ema_dict = sub_state_dict(c.tensors, "G_ema");
  const auto loaded = ema.generator->named_parameters();
  for (const auto& [name, t] : ema_dict)
    if (loaded.contains(name)) EXPECT_TRUE(loaded[name].equal(t)) << name;
  const at::Tensor z = sample_latents(4, o.nets.z_dim, 0, 1);
  const at::Tensor a = generate(ema, z), b = generate(raw, z);
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{4, 3, 32, 32}));
  EXPECT_GE(a.min().item<double>(), 0.0);
  EXPECT_LE(a.max().item<double>(), 1.0);
  EXPECT_FALSE(a.equal(b));  // EMA lags the raw weights
  EXPECT_TRUE(generate(ema, z).equal(a));  // eval mode: deterministic
  // A run folder gives its exported generator.ckpt (the EMA generator alone) for the EMA weights, and
  // latest.ckpt for the raw ones: the same weights as the training checkpoint's.
  EXPECT_EQ(fs::path(ema.source).filename(), "generator.ckpt");
  GanModel raw_of_run = load_gan_model(dir, false);
  EXPECT_EQ(fs::path(raw_of_run.source).filename(), "latest.ckpt");
  EXPECT_FALSE(raw_of_run.ema);
  EXPECT_TRUE(generate(raw_of_run, z).equal(b));
}

TEST(GanTrainer, RunFolderHoldsConfigLogSamplesAndReport) {
  const std::string dir = test::temp_dir("runfolder");
  GanTrainOptions o = ring_options(20);
  o.log_every = 5;
  train_gan(o, dir, {});
  RunFolder run(dir);
  const Json config = run.read_config();
  EXPECT_EQ(config["arch"], "mlp");      // auto resolved
  EXPECT_EQ(config["n_critic"], 1);
  EXPECT_DOUBLE_EQ(config["lr_g"].get<double>(), 2e-4);
  EXPECT_EQ(gan_train_options_from_json(recipe_options(config)).steps, 20);  // round trip
  const auto log = run.read_log();
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log.back()["step"], 20);
  for (const char* key : {"loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g", "images_per_s", "lr_g"})
    EXPECT_TRUE(log.back().contains(key)) << key;
  for (int64_t step : {0, 10, 20}) EXPECT_TRUE(fs::exists(run.sample_path(step))) << step;
  std::ifstream in(dir + "/report.html");
  std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(html.find("Samples over training"), std::string::npos);
  EXPECT_NE(html.find("samples/real.png"), std::string::npos);  // the training data beside the timeline
  // Every file the report references exists.
  size_t pos = 0;
  int references = 0;
  while ((pos = html.find("src=\"", pos)) != std::string::npos) {
    pos += 5;
    const std::string file = html.substr(pos, html.find('"', pos) - pos);
    EXPECT_TRUE(fs::exists(dir + "/" + file)) << file;
    ++references;
  }
  EXPECT_GE(references, 7);  // charts, the training data and three sample plots
  // A second run into the same folder is refused.
  auto message = test::expect_error<FileError>([&] { train_gan(o, dir, {}); });
  EXPECT_NE(message.find("--resume"), std::string::npos);
}

TEST(GanTrainer, CorruptImagesAreSkippedAndCounted) {
  const std::string data = test::temp_dir("corrupt_data"), dir = test::temp_dir("corrupt_run");
  for (int i = 0; i < 6; ++i) write_image(data + "/good" + std::to_string(i) + ".png", synthetic_painting(40, 48, i));
  std::ofstream(data + "/broken.png") << "\x89PNG\r\n\x1a\n not really";
  std::vector<std::string> warnings;
  Callbacks cb;
  cb.log = [&](LogLevel level, const std::string& m) {
    if (level == LogLevel::warn) warnings.push_back(m);
  };
  GanTrainOptions o = digits_options(3);
  o.data.synthetic.clear();
  o.data.folder = data;
  o.data.batch_size = 4;
  GanTrainResult r = train_gan(o, dir, cb);
  EXPECT_EQ(r.step, 3);
  EXPECT_EQ(r.skipped_files, 1);
  EXPECT_EQ(RunFolder(dir).read_log().back()["skipped_files"], 1);
  int named = 0;
  for (const auto& w : warnings) named += w.find("broken.png") != std::string::npos;
  EXPECT_EQ(named, 1);  // once, although the training-data preview read the folder first
}

TEST(GanTrainer, BadOptionsNameTheOption) {
  auto expect_option = [](GanTrainOptions o, const std::string& option) {
    try {
      resolve(o);
      ADD_FAILURE() << "no error for " << option;
    } catch (const OptionError& e) {
      EXPECT_EQ(e.option(), option) << e.what();
    }
  };
  GanTrainOptions o = ring_options(10);
  auto bad = o;
  bad.loss = "wasserstein";
  expect_option(bad, "loss");
  bad = o;
  bad.schedule = "step";
  expect_option(bad, "schedule");
  bad = o;
  bad.ema = 1.0;
  expect_option(bad, "ema");
  bad = o;
  bad.nets.arch = "dcgan";
  expect_option(bad, "arch");
  bad = digits_options(3);
  bad.data.size = 48;
  expect_option(bad, "size");
  bad = digits_options(3);
  bad.info_weight = -1;
  expect_option(bad, "info_weight");
  bad = digits_options(3);
  bad.nets.categories = 4;  // the dcgan nets have no category head
  expect_option(bad, "categories");
  bad = digits_options(3);
  bad.info_augment = "hue";  // without categories
  expect_option(bad, "info_augment");
  bad.nets.arch = "fastgan";
  bad.nets.categories = 2;
  bad.info_augment = "hue,blur";
  expect_option(bad, "info_augment");
  bad = o;
  bad.diff_augment = "colour";
  expect_option(bad, "diff_augment");
  bad = o;
  bad.r1_gamma = -1;
  expect_option(bad, "r1_gamma");
  bad = digits_options(3);
  bad.nets.pack = 3;  // batch 8
  expect_option(bad, "pack");
  EXPECT_THROW(gan_train_options_from_json(Json{{"stepz", 3}}), OptionError);
  EXPECT_THROW(resume_gan(test::temp_dir("not_a_run"), 0, {}), FileError);
}

TEST(GanTrainer, AutoDefaultsFollowThePapers) {
  GanTrainOptions o = ring_options(10);
  o.loss = "wgangp";
  GanTrainOptions r = resolve(o);
  EXPECT_EQ(r.n_critic, 5);
  EXPECT_DOUBLE_EQ(r.lr_g, 1e-4);
  EXPECT_DOUBLE_EQ(r.beta1, 0.0);
  EXPECT_DOUBLE_EQ(r.beta2, 0.9);
  o = digits_options(3);
  EXPECT_EQ(resolve(o).nets.d_norm, "batch");
  o.loss = "wgangp";
  EXPECT_NE(resolve(o).nets.d_norm, "batch");  // per-sample penalty: no batch norm in the critic
}
