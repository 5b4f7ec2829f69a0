// `impasto explain` as a user runs it: a stylization explained end to end, a finished job, a
// network with its discriminator, and clear errors for bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "impasto/core/json_options.h"
#include "impasto/data/synthetic.h"
#include "impasto/io/image.h"
#include "test_support.h"

using namespace impasto;
using impasto::test::expect_cli_failure;
using impasto::test::run_cli;
namespace fs = std::filesystem;

namespace {

struct Files {
  std::string dir, content, style;
};

Files make_files(const std::string& name) {
  Files f;
  f.dir = test::temp_dir(name);
  f.content = f.dir + "/content.png";
  f.style = f.dir + "/style.jpg";
  write_image(f.content, synthetic_landscape(36, 48, 1));
  write_image(f.style, synthetic_painting(40, 40, 2));
  return f;
}

Json read_json(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return Json::parse(in);
}

}  // namespace

TEST(ExplainCli, StylizesAndExplainsThenExplainsTheFinishedJobQuickly) {
  Files f = make_files("explain_cli");
  const std::string out = f.dir + "/report";
  auto r = run_cli("explain -c " + f.content + " -s " + f.style +
                   " -o " + out + " --image-size 32 --iterations 3 --gallery-iterations 2 --gallery-size 24"
                   " --style-weight-factors 0.5,2 --style-scale-factors 1 --device cpu --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("report.html: 7 sections (0 not made)"), std::string::npos) << r.output;
  EXPECT_EQ(read_image(out + "/result.png").width(), 32);
  EXPECT_TRUE(fs::exists(out + "/result.losses.jsonl"));
  const Json index = read_json(out + "/report.json");
  EXPECT_EQ(index["sections"].size(), 7u);
  EXPECT_EQ(index["method_options"]["iterations"], 3);
  EXPECT_EQ(read_json(out + "/figures/losses-curves.json")["steps"].size(), 3u);
  EXPECT_EQ(read_json(out + "/figures/sweep-style-weight.json")["entries"].size(), 2u);

  // The same result from its summary, in the cheap mode.
  r = run_cli("explain -q --job " + out + "/result.json --quick -o " + f.dir + "/again --device cpu");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Json again = read_json(f.dir + "/again/report.json");
  int skipped = 0;
  for (const auto& s : again["sections"]) skipped += s["status"] == "skipped" ? 1 : 0;
  EXPECT_EQ(skipped, 2);  // ablation and sweeps
  EXPECT_EQ(read_json(f.dir + "/again/figures/losses-curves.json")["steps"].size(), 3u);  // from result.losses.jsonl
}

TEST(ExplainCli, NetworkWithStyleAndDiscriminator) {
  Files f = make_files("explain_cli_net");
  auto r = run_cli("explain -q --model " + test::fixture("style_nets/transformer_w4.pth") + " -c " + f.content + " -s " +
                   f.style + " --discriminator " + test::fixture("style_nets/basic_ndf2_instance_D.pth") +
                   " --strengths 0,1 --input-scales 1 --style-layers s1_relu1,s2_relu1 -o " + f.dir + "/net --device cpu");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Json index = read_json(f.dir + "/net/report.json");
  for (const auto& s : index["sections"]) EXPECT_EQ(s["status"], "done") << s.dump();
  EXPECT_EQ(index["explain_options"]["loss"]["style_layers"], Json::array({"s1_relu1", "s2_relu1"}));
  EXPECT_TRUE(fs::exists(f.dir + "/net/figures/gram-s2_relu1.png"));
  EXPECT_FALSE(fs::exists(f.dir + "/net/figures/gram-s4_relu1.png"));
  EXPECT_TRUE(fs::exists(f.dir + "/net/figures/discriminator.png"));
}

// Every option of the network method reaches the run, not the loss measurement (a regression:
// --tile-statistics was taken for a gatys option and refused).
TEST(ExplainCli, EveryNetworkOptionRunsTheNetwork) {
  Files f = make_files("explain_cli_tiles");
  auto r = run_cli("explain -q --quick --model " + test::fixture("style_nets/transformer_w4.pth") + " -c " + f.content +
                   " --tile-statistics exact --tile 32 --overlap 8 -o " + f.dir + "/tiles --device cpu");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Json index = read_json(f.dir + "/tiles/report.json");
  EXPECT_EQ(index["method_options"]["tile_statistics"], "exact");
  EXPECT_EQ(index["method_options"]["tile"], 32);
  EXPECT_TRUE(index["explain_options"]["loss"].empty()) << index["explain_options"].dump();
  const Json job = read_json(f.dir + "/tiles/result.json");
  EXPECT_GT(job["tiles"].get<int>(), 1);
  EXPECT_EQ(job["tile_statistics"], "exact");
}

TEST(ExplainCli, BadInputsGiveClearErrors) {
  Files f = make_files("explain_cli_bad");
  const std::string q = "explain -q -o " + f.dir + "/r ";
  expect_cli_failure(q, "nothing to explain");
  expect_cli_failure(q + "--run " + f.dir + " -c " + f.content, "--run");
  expect_cli_failure(q + "--run " + f.dir, "no config.json");
  expect_cli_failure(q + "--job " + f.dir + "/missing.json", "missing.json");
  expect_cli_failure(q + "-c " + f.content + " -s " + f.style + " --deletion-mode erase", "--deletion-mode");
  expect_cli_failure(q + "-c " + f.content + " -s " + f.style + " --discriminator d.pth", "--discriminator");
  expect_cli_failure(q + "-c " + f.content, "--style");
  expect_cli_failure(q + "-c " + f.dir + "/nope.png -s " + f.style, "nope.png");
  expect_cli_failure(q + "--model " + f.style + " -c " + f.content, "style.jpg");
}
