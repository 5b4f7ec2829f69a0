// `impasto eval` end to end: it prints the table, writes the CSV and JSON it is asked for, and every
// bad input exits non-zero naming the problem. (The Inception Score with the digit classifier, which
// takes 10-40 s to train, is tested once, in unit/evaluate_test.cpp.)
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <sstream>

#include "impasto/core/json_options.h"
#include "impasto/data/synthetic.h"
#include "impasto/io/image.h"
#include "test_support.h"

using namespace impasto;
using impasto::test::expect_cli_failure;
using impasto::test::run_cli;

namespace {

struct EvalFolders {
  std::string root, fake, real, content, style, empty;
};

// Four 48x64 "stylized" outputs named <photo>_starry.png, their photos, four real paintings and a
// style image.
EvalFolders make_folders(const std::string& name) {
  EvalFolders f;
  f.root = test::temp_dir(name);
  f.fake = f.root + "/out";
  f.real = f.root + "/paintings";
  f.content = f.root + "/photos";
  f.style = f.root + "/starry.png";
  f.empty = f.root + "/empty";
  for (const auto& dir : {f.fake, f.real, f.content, f.empty}) std::system(("mkdir -p '" + dir + "'").c_str());
  write_image(f.style, synthetic_painting(64, 64, 1));
  for (int i = 0; i < 4; ++i) {
    const std::string photo = "photo" + std::to_string(i);
    const at::Tensor content = synthetic_landscape(48, 64, 10 + i);
    write_image(f.content + "/" + photo + ".jpg", content);
    write_image(f.fake + "/" + photo + "_starry.png", (0.5 * content + 0.5 * synthetic_painting(48, 64, 20 + i)).clamp(0, 1));
    write_image(f.real + "/painting" + std::to_string(i) + ".png", synthetic_painting(48, 64, 30 + i));
  }
  return f;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

}  // namespace

TEST(EvalCli, PrintsTheTableAndWritesCsvAndJson) {
  const EvalFolders f = make_folders("eval_cli");
  const std::string csv = f.root + "/rows.csv", json = f.root + "/all.json";
  auto r = run_cli("eval -q --fake " + f.fake + " --real " + f.real + " --content " + f.content + " --style " + f.style +
                   " --allow-rank-deficient --kid-subsets 5 --csv " + csv + " --json " + json);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* needle : {"FID", "KID", "rank-deficient", "random-multiscale", "ssim", "style_distance",
                             "photo0_starry.png", "photo3_starry.png", "mean"})
    EXPECT_NE(r.output.find(needle), std::string::npos) << needle << " in:\n" << r.output;

  const auto rows = lines_of(csv);
  ASSERT_EQ(rows.size(), 5u);  // header + one line per image
  EXPECT_EQ(rows[0].rfind("name,content,width,height,ssim,content_loss,style_distance,", 0), 0u) << rows[0];
  EXPECT_EQ(rows[1].rfind("photo0_starry.png," + f.content + "/photo0.jpg,64,48,", 0), 0u) << rows[1];

  std::ifstream in(json);
  const Json j = Json::parse(in);
  EXPECT_EQ(j["fake"]["images"], 4);
  EXPECT_EQ(j["real"]["images"], 4);
  EXPECT_TRUE(j["fid"].is_number());
  EXPECT_GT(j["fid"].get<double>(), 0.0);
  EXPECT_EQ(j["fid_rank_deficient"], true);
  EXPECT_EQ(j["kid"]["subsets"], 5);
  EXPECT_EQ(j["features"]["network"], "random-multiscale");
  ASSERT_EQ(j["rows"].size(), 4u);
  for (const auto& row : j["rows"]) {
    EXPECT_GT(row["ssim"].get<double>(), 0.0);
    EXPECT_LT(row["ssim"].get<double>(), 1.0);
    EXPECT_GT(row["style_distance"].get<double>(), 0.0);
    EXPECT_GT(row["content_loss"].get<double>(), 0.0);
  }
  EXPECT_TRUE(j["mean"]["ssim"].is_number());
  EXPECT_EQ(j["options"]["allow_rank_deficient"], true);
  EXPECT_TRUE(j["classifier"].is_null());

  // The style image against itself (named like the output) has distance 0.
  const std::string self = f.root + "/self";
  std::system(("mkdir -p '" + self + "' && cp '" + f.style + "' '" + self + "/'").c_str());
  r = run_cli("eval -q --fake " + self + " --style " + f.style + " --json " + json);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in2(json);
  EXPECT_EQ(Json::parse(in2)["rows"][0]["style_distance"].get<double>(), 0.0);
}

TEST(EvalCli, BadInputsExitNonZeroNamingTheProblem) {
  const EvalFolders f = make_folders("eval_cli_errors");
  const std::string fake = " --fake " + f.fake;
  expect_cli_failure("eval -q --fake " + f.root + "/nowhere --style " + f.style, "nowhere");
  expect_cli_failure("eval -q --fake " + f.empty + " --style " + f.style, "no image files");
  expect_cli_failure("eval -q" + fake + " --real " + f.real + " --features alexnet", "--features: unknown backbone 'alexnet'");
  expect_cli_failure("eval -q" + fake + " --style " + f.root + "/nostyle.png", "nostyle.png");
  expect_cli_failure("eval -q" + fake, "nothing to compute");
  expect_cli_failure("eval -q" + fake + " --content " + f.real, "no content image for photo0_starry.png");
  expect_cli_failure("eval -q" + fake + " --real " + f.real, "--allow-rank-deficient");
  expect_cli_failure("eval -q" + fake + " --style " + f.style + " --classifier resnet", "--classifier");
  expect_cli_failure("eval -q" + fake + " --style " + f.style + " --style-layers relu9_9", "relu9_9");
  expect_cli_failure("eval -q" + fake + " --style " + f.style + " --classifier digits --is-splits 5", "--is-splits");
  expect_cli_failure("eval -q" + fake + " --style " + f.style + " --csv " + f.root + "/no/such/dir/rows.csv", "no/such/dir");
  expect_cli_failure("eval -q --style " + f.style, "--fake");
  std::ofstream(f.fake + "/broken.png") << "not an image";
  expect_cli_failure("eval -q" + fake + " --style " + f.style, "broken.png");
}
