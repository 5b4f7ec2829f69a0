// Golden tests: impasto's VGG backbones, loaded from torch.save files written by
// tools/make_weight_fixtures.py (torchvision's VGG and AdaIN's normalised VGG19, widths / 8, random
// weights), reproduce PyTorch's feature maps within 1e-4.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "impasto/core/error.h"
#include "impasto/io/weights.h"
#include "impasto/nn/backbone.h"
#include "impasto/style/method.h"
#include "test_support.h"

using namespace impasto;
using impasto::test::fixture;

namespace {

constexpr double kTolerance = 1e-4;

std::map<std::string, at::Tensor> reference(const std::string& file) {
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, t] : load_pth(fixture("weights/" + file))) out[name] = t;
  return out;
}

// Compares every reference layer (optionally under a key prefix) with the backbone's output.
int compare_all(const std::string& arch, const std::string& weights, const std::string& ref_file,
                const std::string& pooling = "max") {
  BackboneOptions o;
  o.name = arch;
  o.weights = fixture("weights/" + weights);
  o.pooling = pooling;
  Backbone b = make_backbone(o);
  auto ref = reference(ref_file);
  const std::string prefix = pooling == "avg" ? "avg/" : "";
  std::set<std::string> taps;
  for (const auto& [key, t] : ref)
    if (key != "input" && key.rfind(prefix, 0) == 0 && (prefix.size() || key.find('/') == std::string::npos))
      taps.insert(key.substr(prefix.size()));
  torch::NoGradGuard no_grad;
  auto features = b->extract(ref.at("input"), taps);
  int compared = 0;
  for (const auto& layer : taps) {
    const auto& expected = ref.at(prefix + layer);
    const auto& got = features.at(layer);
    EXPECT_EQ(got.sizes(), expected.sizes()) << layer;
    if (got.sizes() != expected.sizes()) continue;
    const double diff = (got - expected).abs().max().item<double>();
    EXPECT_LE(diff, kTolerance) << arch << " " << prefix << layer;
    ++compared;
  }
  return compared;
}

}  // namespace

TEST(VggGolden, Vgg19ZipMatchesTorchvision) { EXPECT_EQ(compare_all("vgg19", "vgg19_w8.pth", "vgg19_w8_ref.pth"), 17); }

TEST(VggGolden, Vgg19LegacyFormatMatchesTorchvision) {
  EXPECT_EQ(compare_all("vgg19", "vgg19_w8_legacy.pth", "vgg19_w8_ref.pth"), 17);
}

TEST(VggGolden, Vgg19AveragePoolingMatches) {
  EXPECT_EQ(compare_all("vgg19", "vgg19_w8.pth", "vgg19_w8_ref.pth", "avg"), 17);
}

TEST(VggGolden, Vgg16MatchesTorchvision) { EXPECT_EQ(compare_all("vgg16", "vgg16_w8.pth", "vgg16_w8_ref.pth"), 14); }

TEST(VggGolden, Vgg19NormalisedMatchesAdaINLayout) {
  EXPECT_EQ(compare_all("vgg19-normalised", "vgg19_normalised_w8.pth", "vgg19_normalised_w8_ref.pth"), 5);
}

TEST(VggGolden, ImportedCheckpointGivesTheSameFeatures) {
  BackboneOptions o;
  o.name = "vgg19";
  o.weights = fixture("weights/vgg19_w8_legacy.pth");
  Backbone from_pth = make_backbone(o);
  const std::string path = test::temp_dir("import") + "/vgg19.impasto";
  save_checkpoint(path, Checkpoint{"vgg19", Json{{"source", o.weights}}, module_state_dict(*from_pth)});
  o.weights = path;
  Backbone from_checkpoint = make_backbone(o);
  torch::NoGradGuard no_grad;
  auto x = torch::rand({1, 3, 32, 32});
  EXPECT_TRUE(torch::equal(from_pth->extract(x, {"relu5_4"}).at("relu5_4"),
                           from_checkpoint->extract(x, {"relu5_4"}).at("relu5_4")));
  // A checkpoint for one architecture is refused by another.
  o.name = "vgg16";
  EXPECT_THROW(make_backbone(o), FormatError);
}

TEST(VggGolden, WrongArchitectureNamesTheFirstMismatch) {
  BackboneOptions o;
  o.name = "vgg19";
  o.weights = fixture("weights/vgg16_w8.pth");
  try {
    make_backbone(o);
    FAIL() << "expected FormatError";
  } catch (const FormatError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("vgg16_w8.pth"), std::string::npos) << what;
    // VGG16's features.17 is a conv (block 4), VGG19's is a ReLU: the first mismatch is named.
    EXPECT_NE(what.find("'features.17.weight'"), std::string::npos) << what;
  }
  o.name = "vgg19-normalised";
  o.weights = fixture("weights/vgg19_w8.pth");
  EXPECT_THROW(make_backbone(o), FormatError);
}

TEST(VggGolden, StylizeRunsOnAVggBackbone) {
  // The Gatys stylizer drives any backbone; here the width-reduced VGG19 at 32 px.
  Json options{{"backbone", "vgg19"}, {"weights", fixture("weights/vgg19_w8.pth")}, {"image_size", 32}, {"iterations", 10}};
  StylizeInputs in;
  torch::manual_seed(3);
  in.content.rgb = torch::rand({1, 3, 32, 32});
  in.styles.push_back(StyleInput{"s", torch::rand({1, 3, 32, 32}), 1.0, {}});
  std::vector<StepRecord> steps;
  StylizeHooks hooks;
  hooks.on_step = [&](const StepRecord& r) { steps.push_back(r); };
  stylize_once("gatys", options, in, hooks);
  ASSERT_EQ(steps.size(), 10u);
  EXPECT_LT(steps.back().style, steps.front().style);
}
