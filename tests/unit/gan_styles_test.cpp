// Style images painted by a GAN run (style/gan_styles.h) in a stylization: the pictures are the
// run's generator's for the seed, written beside the result and listed in its summary with the
// latents, so --style-latent <result>.json paints them again and gives the same result; the job
// folder explains like any other; bad options and files are named.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "impasto/core/error.h"
#include "impasto/data/synthetic.h"
#include "impasto/explain/explain.h"
#include "impasto/io/image.h"
#include "impasto/nn/gan_model.h"
#include "impasto/style/job.h"
#include "gan_support.h"
#include "test_support.h"

using namespace impasto;
using impasto::test::tiny_gan_run;
namespace fs = std::filesystem;

namespace {

Json read_json(const std::string& path) {
  std::ifstream in(path);
  return Json::parse(in);
}

}  // namespace

TEST(GanStyles, PaintedStylesAreTheRunsAndRepeatFromTheSummary) {
  const std::string dir = test::temp_dir("gan_styles");
  const std::string run = tiny_gan_run(dir + "/run");
  write_image(dir + "/content.png", synthetic_landscape(40, 48, 1));
  StylizeJob job;
  job.content = dir + "/content.png";
  job.gan_styles.run = run;
  job.gan_styles.seed = 3;
  job.gan_styles.count = 2;
  job.output = dir + "/result.png";
  job.options = {{"image_size", 32}, {"iterations", 3}, {"device", "cpu"}};
  run_stylize_job(job, {});

  // The two pictures are the generator's for seed 3, as `impasto generate --seed 3` makes them.
  GanModel model = load_gan_model(run);
  const at::Tensor expected = generate(model, sample_latents(2, model.nets.z_dim, 0, 3));
  for (int i = 0; i < 2; ++i) {
    const Image painted = read_image(dir + "/result.style-gan-" + std::to_string(i + 1) + ".png");
    EXPECT_LE((painted.rgb - expected.narrow(0, i, 1)).abs().max().item<double>(), 0.5 / 255 + 1e-6);
  }
  const Json summary = read_json(dir + "/result.json");
  ASSERT_EQ(summary["styles"].size(), 2u);
  EXPECT_EQ(summary["styles"][1], dir + "/result.style-gan-2.png");
  EXPECT_EQ(summary["style_gan"]["seed"], 3);
  EXPECT_EQ(summary["style_gan"]["step"], 2);
  ASSERT_EQ(summary["style_gan"]["latents"].size(), 2u);
  EXPECT_EQ(summary["style_gan"]["latents"][0].size(), 8u);

  // --style-latent <result>.json: the same styles, so the same result.
  StylizeJob again = job;
  again.gan_styles.seed = 99;  // ignored: the file's latents are used
  again.gan_styles.latents = dir + "/result.json";
  again.output = dir + "/again.png";
  run_stylize_job(again, {});
  EXPECT_TRUE(torch::equal(read_image(dir + "/again.style-gan-2.png").rgb, read_image(dir + "/result.style-gan-2.png").rgb));
  EXPECT_TRUE(torch::equal(read_image(dir + "/again.png").rgb, read_image(dir + "/result.png").rgb));
  EXPECT_EQ(read_json(dir + "/again.json")["style_gan"]["latents_file"], dir + "/result.json");

  // The result explains like any other: the painted styles are files in its summary.
  explain::ExplainOptions quick = explain::ExplainOptions::quick();
  quick.device = "cpu";
  EXPECT_EQ(explain::explain_stylize_job(dir + "/result.json", quick, dir + "/explain", {}), dir + "/explain/report.html");
}

TEST(GanStyles, BadOptionsAndFilesAreNamed) {
  const std::string dir = test::temp_dir("gan_styles_bad");
  const std::string run = tiny_gan_run(dir + "/run");
  write_image(dir + "/content.png", synthetic_landscape(40, 48, 1));
  StylizeJob job;
  job.content = dir + "/content.png";
  job.output = dir + "/out.png";
  job.options = {{"image_size", 32}, {"iterations", 2}, {"device", "cpu"}};
  job.gan_styles.run = run;

  StylizeJob bad = job;
  bad.gan_styles.count = 0;
  EXPECT_EQ(test::failing_option([&] { run_stylize_job(bad, {}); }), "style_count");
  bad = job;
  bad.gan_styles.run.clear();
  bad.gan_styles.latents = dir + "/z.json";
  EXPECT_EQ(test::failing_option([&] { run_stylize_job(bad, {}); }), "style_latent");
  bad = job;
  bad.masks = {""};
  EXPECT_EQ(test::failing_option([&] { run_stylize_job(bad, {}); }), "masks");
  bad = job;
  bad.style_blend_weights = {1, 2, 3};
  EXPECT_EQ(test::failing_option([&] { run_stylize_job(bad, {}); }), "style_blend_weights");
  // Latents of the wrong dimension, and a file that is not JSON: FormatError naming the file.
  std::ofstream(dir + "/z.json") << "[[1, 2, 3]]";
  bad = job;
  bad.gan_styles.latents = dir + "/z.json";
  EXPECT_NE(test::expect_error<FormatError>([&] { run_stylize_job(bad, {}); }).find("z.json"), std::string::npos);
  std::ofstream(dir + "/junk.json") << "not json";
  bad.gan_styles.latents = dir + "/junk.json";
  EXPECT_NE(test::expect_error<FormatError>([&] { run_stylize_job(bad, {}); }).find("junk.json"), std::string::npos);
  // No run there; a run of points.
  bad = job;
  bad.gan_styles.run = dir + "/nowhere";
  EXPECT_NE(test::expect_error<FileError>([&] { run_stylize_job(bad, {}); }).find("nowhere"), std::string::npos);
  bad.gan_styles.run = tiny_gan_run(dir + "/ring", "ring8");
  EXPECT_NE(test::expect_error<FormatError>([&] { run_stylize_job(bad, {}); }).find("points"), std::string::npos);
  // A category of a GAN without latent categories; a category with a latent file.
  bad = job;
  bad.gan_styles.category = 0;
  EXPECT_EQ(test::failing_option([&] { run_stylize_job(bad, {}); }), "style_category");
  bad.gan_styles.latents = dir + "/z.json";
  EXPECT_EQ(test::failing_option([&] { run_stylize_job(bad, {}); }), "style_category");
}

// A GAN trained with latent categories paints the pictures of the category asked for: the latents
// in the summary carry its one-hot code; a category the GAN does not have is named.
TEST(GanStyles, ACategoryOfAGanWithLatentCategoriesIsPainted) {
  const std::string dir = test::temp_dir("gan_styles_category");
  const std::string run = tiny_gan_run(dir + "/run", "digits", 3);
  write_image(dir + "/content.png", synthetic_landscape(40, 48, 1));
  StylizeJob job;
  job.content = dir + "/content.png";
  job.output = dir + "/out.png";
  job.options = {{"image_size", 32}, {"iterations", 2}, {"device", "cpu"}};
  job.gan_styles.run = run;
  job.gan_styles.count = 2;
  job.gan_styles.seed = 4;
  job.gan_styles.category = 2;
  run_stylize_job(job, {});
  const Json record = read_json(dir + "/out.json")["style_gan"];
  EXPECT_EQ(record["category"], 2);
  for (const auto& z : record["latents"]) {
    EXPECT_EQ(z[0].get<double>(), 0.0);
    EXPECT_EQ(z[1].get<double>(), 0.0);
    EXPECT_EQ(z[2].get<double>(), 1.0);
  }
  GanModel model = load_gan_model(run);
  const at::Tensor expected = generate(model, sample_gan_latents(model.nets, 2, 0, 4, 2));
  const Image painted = read_image(dir + "/out.style-gan-2.png");
  EXPECT_LE((painted.rgb - expected.narrow(0, 1, 1)).abs().max().item<double>(), 0.5 / 255 + 1e-6);
  StylizeJob bad = job;
  bad.gan_styles.category = 3;
  EXPECT_EQ(test::failing_option([&] { run_stylize_job(bad, {}); }), "style_category");
}

TEST(GanStyles, TheBuiltInLandscapeGanPaintsVariedPictures) {
  // models/gan-landscapes/generator.ckpt, found by its built-in name from the source tree.
  GanStyleOptions o;
  o.run = "builtin-gan-landscapes";
  o.seed = 1;
  o.count = 8;
  const GanStyles painted = generate_gan_styles(o);
  ASSERT_EQ(painted.images.size(), 8u);
  EXPECT_EQ(painted.record["ema"], true);
  for (const at::Tensor& image : painted.images) {
    EXPECT_EQ(image.sizes(), (std::vector<int64_t>{1, 3, 64, 64}));
    EXPECT_GT(image.std().item<double>(), 0.05);  // a picture, not a flat field
  }
  // Different latents, different pictures (no collapse onto one).
  double smallest = 1;
  for (size_t i = 0; i < 8; ++i)
    for (size_t j = i + 1; j < 8; ++j)
      smallest = std::min(smallest, (painted.images[i] - painted.images[j]).abs().mean().item<double>());
  EXPECT_GT(smallest, 0.03);
}
