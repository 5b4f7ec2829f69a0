// Evaluation of folders (metrics/evaluate.h) and the per-image style and content distances
// (metrics/style_distance.h): the distances' extremes, folder listing and pairing rules, FID through
// evaluate() is 0 for a set against itself and grows with noise, the rows equal the metrics they
// report, the Inception Score of the digit classifier, and every bad input is a typed error.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "impasto/core/error.h"
#include "impasto/data/dataset.h"
#include "impasto/data/synthetic.h"
#include "impasto/io/image.h"
#include "impasto/metrics/evaluate.h"
#include "impasto/metrics/ssim.h"
#include "impasto/metrics/style_distance.h"
#include "impasto/train/eval_classifiers.h"
#include "test_support.h"

using namespace impasto;
using impasto::test::expect_error;
using impasto::test::failing_option;

namespace {

Backbone random_backbone() {
  BackboneOptions o;
  o.name = "random-multiscale";
  return make_backbone(o);
}

// Smooth random images in [0,1]: coarse noise upsampled, plus fine noise.
at::Tensor smooth_images(int64_t n, int64_t size, uint64_t seed) {
  torch::manual_seed(seed);
  namespace F = torch::nn::functional;
  auto coarse = torch::rand({n, 3, size / 8, size / 8});
  auto img = F::interpolate(coarse, F::InterpolateFuncOptions()
                                        .size(std::vector<int64_t>{size, size})
                                        .mode(torch::kBilinear)
                                        .align_corners(false));
  return (img + 0.05 * torch::randn({n, 3, size, size})).clamp(0, 1);
}

void write_set(const std::string& dir, const at::Tensor& images) {
  for (int64_t i = 0; i < images.size(0); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "/%03lld.png", static_cast<long long>(i));
    write_image(dir + name, images[i].unsqueeze(0));
  }
}

// Rendered digits of the `digits` synthetic set, [n,3,size,size].
Batch rendered_digits(int64_t n, int64_t size, uint64_t seed) {
  DatasetOptions d;
  d.synthetic = "digits";
  d.size = size;
  d.batch_size = n;
  d.seed = seed;
  d.workers = 0;
  auto data = make_dataset(d);
  data->start(0);
  return data->next();
}

}  // namespace

// ---- style and content distances ---------------------------------------------------------------

TEST(StyleDistance, ZeroForTheStyleItselfAndLargerForUnrelatedThanPerturbed) {
  Backbone backbone = random_backbone();
  const auto options = resolve_distance_options(*backbone, {});
  const at::Tensor style = synthetic_painting(64, 64, 2);
  torch::manual_seed(3);
  const at::Tensor perturbed = (style + 0.03 * torch::randn(style.sizes())).clamp(0, 1);
  const at::Tensor unrelated = synthetic_landscape(64, 64, 1);

  const LayerDistances self = style_distance(*backbone, style, style, options);
  EXPECT_EQ(self.total, 0.0);
  ASSERT_EQ(self.layers.size(), options.style_layers.size());
  const LayerDistances near = style_distance(*backbone, perturbed, style, options);
  const LayerDistances far = style_distance(*backbone, unrelated, style, options);
  EXPECT_GT(near.total, 0.0);
  EXPECT_GT(far.total, 5.0 * near.total) << near.total << " vs " << far.total;
  double sum = 0;
  for (const auto& [name, value] : far.layers) sum += value;
  EXPECT_NEAR(sum, far.total, 1e-12 * far.total);  // per-layer values add up to the total

  // Per-location Grams: a style image of another size is comparable (a smooth painting's statistics
  // change little with scale, much less than an unrelated picture's).
  const LayerDistances resized = style_distance(*backbone, style, synthetic_painting(96, 96, 2), options);
  EXPECT_LT(resized.total, far.total);

  // Layer weights scale their layer: one layer with weight 2 gives twice its weight-1 value.
  PerceptualDistanceOptions one = options;
  one.style_layers = {{"s2_relu1", 1.0}};
  PerceptualDistanceOptions two = options;
  two.style_layers = {{"s2_relu1", 2.0}};
  EXPECT_NEAR(style_distance(*backbone, unrelated, style, two).total,
              2.0 * style_distance(*backbone, unrelated, style, one).total, 1e-9);
}

TEST(StyleDistance, ContentDistanceZeroForItselfAndGrowingWithChange) {
  Backbone backbone = random_backbone();
  const auto options = resolve_distance_options(*backbone, {});
  const at::Tensor content = synthetic_landscape(48, 64, 4);
  torch::manual_seed(5);
  const at::Tensor noise = torch::randn(content.sizes());
  EXPECT_EQ(content_distance(*backbone, content, content, options).total, 0.0);
  const double small = content_distance(*backbone, (content + 0.02 * noise).clamp(0, 1), content, options).total;
  const double large = content_distance(*backbone, (content + 0.2 * noise).clamp(0, 1), content, options).total;
  EXPECT_GT(small, 0.0);
  EXPECT_GT(large, small);
  EXPECT_EQ(failing_option([&] { content_distance(*backbone, content, synthetic_landscape(64, 64, 4), options); }), "images");
  EXPECT_EQ(failing_option([&] { style_distance(*backbone, torch::rand({2, 3, 32, 32}), content, options); }), "images");
}

TEST(StyleDistance, OptionsComeFromTheRecipeAndAreChecked) {
  Backbone backbone = random_backbone();
  const auto resolved = resolve_distance_options(*backbone, {});
  const StyleRecipe recipe = backbone->recipe();
  EXPECT_EQ(resolved.style_layers, recipe.style_layers);
  EXPECT_EQ(resolved.content_layers, recipe.content_layers);
  EXPECT_EQ(resolved.normalisation, recipe.normalisation);

  PerceptualDistanceOptions o;
  o.style_layers = {{"relu9_9", 1.0}};
  EXPECT_EQ(failing_option([&] { resolve_distance_options(*backbone, o); }), "style_layers");
  o = {};
  o.content_layers = {{"s1_relu1", -1.0}};
  EXPECT_EQ(failing_option([&] { resolve_distance_options(*backbone, o); }), "content_layers");
  o = {};
  o.normalisation = "l1";
  EXPECT_EQ(failing_option([&] { resolve_distance_options(*backbone, o); }), "normalisation");

  const LayerWeights parsed = layer_weights_from_json(Json::array({"s1_relu1", "s2_relu2:0.5"}), "style_layers");
  EXPECT_EQ(parsed, (LayerWeights{{"s1_relu1", 1.0}, {"s2_relu2", 0.5}}));
  EXPECT_EQ(failing_option([] { layer_weights_from_json(Json::array({"s1_relu1:abc"}), "style_layers"); }), "style_layers");
  EXPECT_EQ(failing_option([] { layer_weights_from_json(Json::array({":1"}), "content_layers"); }), "content_layers");
}

// ---- folders and pairing ------------------------------------------------------------------------

TEST(Evaluate, ListsImageFilesSortedAndRecursiveOnlyWhenAsked) {
  namespace fs = std::filesystem;
  const std::string dir = test::temp_dir("eval_list");
  const at::Tensor img = torch::rand({1, 3, 16, 16});
  write_image(dir + "/b.png", img);
  write_image(dir + "/a.jpg", img);
  write_image(dir + "/c.WEBP", img);
  write_image(dir + "/out.losses.png", img);  // a loss chart of `impasto stylize`: not an output
  write_image(dir + "/d.bmp", img);           // not an evaluated format
  std::ofstream(dir + "/out.json") << "{}";
  fs::create_directories(dir + "/sub");
  write_image(dir + "/sub/e.png", img);
  EXPECT_EQ(list_image_files(dir, false, "fake"), (std::vector<std::string>{"a.jpg", "b.png", "c.WEBP"}));
  EXPECT_EQ(list_image_files(dir, true, "fake"), (std::vector<std::string>{"a.jpg", "b.png", "c.WEBP", "sub/e.png"}));

  EXPECT_EQ(failing_option([&] { list_image_files(dir + "/missing", false, "real"); }), "real");
  const std::string empty = test::temp_dir("eval_empty");
  std::ofstream(empty + "/notes.txt") << "no images here";
  const std::string what = expect_error<OptionError>([&] { list_image_files(empty, false, "fake"); });
  EXPECT_NE(what.find("no image files"), std::string::npos) << what;
  EXPECT_EQ(failing_option([&] { list_image_files(dir + "/a.jpg", false, "content"); }), "content");
}

TEST(Evaluate, PairsOutputsWithContentImagesByName) {
  const std::vector<std::string> contents{"cat.jpg", "city.png", "city_night.png", "sub/dog.webp"};
  EXPECT_EQ(pair_with_content({"cat.png", "city_starry.png", "city_night_starry.png", "city-2.jpg", "sub/dog.png", "cat.v2.png"},
                              contents, "photos"),
            (std::vector<std::string>{"cat.jpg", "city.png", "city_night.png", "city.png", "sub/dog.webp", "cat.jpg"}));
  std::string what = expect_error<OptionError>([&] { pair_with_content({"cat.png", "cats.png"}, contents, "photos"); });
  EXPECT_NE(what.find("option 'content'"), std::string::npos) << what;
  EXPECT_NE(what.find("cats.png"), std::string::npos) << what;
  EXPECT_NE(what.find("photos"), std::string::npos) << what;
  what = expect_error<OptionError>([&] { pair_with_content({"cat.png"}, {"cat.jpg", "cat.png"}, "photos"); });
  EXPECT_NE(what.find("cat.jpg and cat.png"), std::string::npos) << what;
}

// ---- set metrics ---------------------------------------------------------------------------------

TEST(Evaluate, FidOfASetAgainstItselfIsZeroAndGrowsWithNoise) {
  const at::Tensor images = smooth_images(12, 32, 6);
  const std::string real = test::temp_dir("eval_real");
  write_set(real, images);
  torch::manual_seed(7);
  const at::Tensor noise = torch::randn(images.sizes());
  EvaluationOptions o;
  o.real = real;
  o.allow_rank_deficient = true;  // 12 images, 768-d random-multiscale features
  o.kid_subsets = 10;
  double previous = -1;
  for (double level : {0.0, 0.05, 0.1, 0.2}) {
    o.fake = test::temp_dir("eval_fake");
    write_set(o.fake, (images + level * noise).clamp(0, 1));
    const EvaluationResult r = evaluate(o);
    ASSERT_TRUE(r.fid && r.kid);
    EXPECT_EQ(r.fake_images, 12);
    EXPECT_EQ(r.feature_dimensions, 768);
    EXPECT_TRUE(r.fid_rank_deficient);
    EXPECT_TRUE(std::isfinite(*r.fid));
    EXPECT_GT(*r.fid, previous) << "noise " << level;
    if (level == 0.0) EXPECT_LT(std::abs(*r.fid), 1e-6) << *r.fid;
    previous = *r.fid;
    EXPECT_EQ(r.rows.size(), 12u);  // one row per image, even without per-image metrics
  }
  EXPECT_GT(previous, 1e-3);

  // Without allowing it, too few images for the feature dimension is the clear error of FID, under
  // the option of the folder, before any image is read.
  o.allow_rank_deficient = false;
  const std::string what = expect_error<OptionError>([&] { evaluate(o); });
  EXPECT_NE(what.find("option 'fake'"), std::string::npos) << what;
  EXPECT_NE(what.find("768 dimensions"), std::string::npos) << what;
  EXPECT_NE(what.find("allow_rank_deficient"), std::string::npos) << what;
}

TEST(Evaluate, InceptionScoreWithTheDigitClassifier) {
  // Trained once (about 10 s) and shared by both folders.
  const ImageClassifier digits = trained_digit_classifier();
  EXPECT_NE(digits.description.find("trained on the fly"), std::string::npos) << digits.description;
  EXPECT_NE(digits.description.find("accuracy"), std::string::npos) << digits.description;
  const ClassifierFactories classifiers{{"digits", [&digits](const Callbacks&) { return digits; }}};

  const Batch varied = rendered_digits(60, 32, 11);
  EvaluationOptions o;
  o.fake = test::temp_dir("eval_digits");
  write_set(o.fake, varied.samples);
  o.classifier = "digits";
  o.is_splits = 1;
  EvaluationResult r = evaluate(o, {}, classifiers);
  ASSERT_TRUE(r.inception_score_fake);
  EXPECT_GT(r.inception_score_fake->mean, 7.0);  // of at most 10 classes
  EXPECT_LE(r.inception_score_fake->mean, 10.0);
  EXPECT_EQ(r.classifier, "digits");
  EXPECT_EQ(r.classifier_description, digits.description);
  EXPECT_FALSE(r.fid);

  // One digit, repeated: every p(y|x) is the same, so p(y) equals it and the score is 1.
  o.fake = test::temp_dir("eval_one_digit");
  write_set(o.fake, varied.samples.narrow(0, 0, 1).expand({20, -1, -1, -1}));
  r = evaluate(o, {}, classifiers);
  EXPECT_NEAR(r.inception_score_fake->mean, 1.0, 1e-4);
  o.is_splits = 0;  // the default: 10 splits (of 2 images each here)
  r = evaluate(o, {}, classifiers);
  EXPECT_EQ(r.inception_score_fake->splits, 10);
  EXPECT_NEAR(r.inception_score_fake->mean, 1.0, 1e-4);
}

TEST(Evaluate, InceptionFeaturesAndScoreMatchTheMetricsOnTheirOwn) {
  // The width-reduced pytorch-fid Inception of the fixtures (128-d pool3, 1008 logits): one pass
  // gives FID features and IS logits; a separate inception classifier gives the same score.
  const std::string weights = test::fixture("metrics/inception_w16.pth");
  const at::Tensor fake_images = smooth_images(6, 32, 12), real_images = smooth_images(6, 32, 13);
  EvaluationOptions o;
  o.fake = test::temp_dir("eval_inception_fake");
  o.real = test::temp_dir("eval_inception_real");
  write_set(o.fake, fake_images);
  write_set(o.real, real_images);
  o.features.name = "inception";
  o.features.weights = weights;
  o.allow_rank_deficient = true;
  o.is_splits = 1;
  const EvaluationResult r = evaluate(o);
  EXPECT_EQ(r.feature_dimensions, 128);
  EXPECT_EQ(r.classifier, "inception");  // auto: the feature network's logits
  ASSERT_TRUE(r.fid && r.inception_score_fake && r.inception_score_real);

  auto read_set = [](const std::string& dir) {
    std::vector<at::Tensor> images;
    for (const auto& name : list_image_files(dir, false, "fake")) images.push_back(read_image(dir + "/" + name).rgb);
    return torch::cat(images, 0);
  };
  FeatureNetwork network(o.features);
  const at::Tensor fa = network.features(read_set(o.fake)), fb = network.features(read_set(o.real));
  FidOptions allow;
  allow.allow_rank_deficient = true;
  const double expected_fid = fid(fa, fb, allow);
  EXPECT_NEAR(*r.fid, expected_fid, 1e-6 * std::abs(expected_fid) + 1e-9);
  torch::NoGradGuard no_grad;
  const at::Tensor logits = network.backbone()->extract(read_set(o.fake), {"logits"}).at("logits");
  const double expected_is = inception_score_from_logits(logits, {1}).mean;
  EXPECT_NEAR(r.inception_score_fake->mean, expected_is, 1e-6 * expected_is);

  EvaluationOptions separate = o;
  separate.features = {};  // random-multiscale for FID; inception only as the classifier
  separate.classifier = "inception";
  separate.classifier_weights = weights;
  const EvaluationResult s = evaluate(separate);
  EXPECT_EQ(s.feature_dimensions, 768);
  EXPECT_NEAR(s.inception_score_fake->mean, expected_is, 1e-6 * expected_is);
}

// ---- per-image rows ------------------------------------------------------------------------------

TEST(Evaluate, RowsEqualTheMetricsOfEachPair) {
  const std::string fake = test::temp_dir("eval_outputs"), content = test::temp_dir("eval_contents");
  const std::string style = test::temp_dir("eval_style") + "/style.png";
  write_image(style, synthetic_painting(64, 64, 9));
  std::vector<std::string> names{"harbour_starry.png", "hills.png", "lake_starry.png"};
  for (size_t i = 0; i < names.size(); ++i) {
    const at::Tensor photo = synthetic_landscape(48, 64, 20 + i);
    write_image(content + "/" + names[i].substr(0, names[i].find_first_of("_.")) + ".png", photo);
    const at::Tensor painted = (0.6 * photo + 0.4 * synthetic_painting(48, 64, 30 + i)).clamp(0, 1);
    write_image(fake + "/" + names[i], painted);
  }
  std::ofstream(fake + "/hills.json") << R"({"seconds": 12.5, "width": 64})";  // as stylize writes

  EvaluationOptions o;
  o.fake = fake;
  o.content = content;
  o.style = style;
  const EvaluationResult r = evaluate(o);
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_EQ(r.backbone, "random-multiscale");
  Backbone backbone = random_backbone();
  const auto distances = resolve_distance_options(*backbone, {});
  double ssim_sum = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    const EvaluationRow& row = r.rows[i];
    EXPECT_EQ(row.name, names[i]);
    EXPECT_EQ(row.width, 64);
    EXPECT_EQ(row.height, 48);
    const at::Tensor out = read_image(fake + "/" + names[i]).rgb;
    const at::Tensor photo = read_image(row.content).rgb;
    ASSERT_TRUE(row.ssim && row.content_loss && row.style_distance);
    EXPECT_EQ(*row.ssim, ssim(out, photo)[0].item<double>());
    EXPECT_EQ(*row.content_loss, content_distance(*backbone, out, photo, distances).total);
    // The style image is resized to the output's longest side (64: unchanged).
    EXPECT_NEAR(*row.style_distance, style_distance(*backbone, out, read_image(style).rgb, distances).total,
                1e-12 * *row.style_distance);
    EXPECT_EQ(row.style_layers.size(), distances.style_layers.size());
    EXPECT_GT(row.seconds, 0.0);
    ssim_sum += *row.ssim;
  }
  EXPECT_FALSE(r.rows[0].made_seconds);
  ASSERT_TRUE(r.rows[1].made_seconds);
  EXPECT_EQ(*r.rows[1].made_seconds, 12.5);
  ASSERT_TRUE(r.mean.ssim);
  EXPECT_NEAR(*r.mean.ssim, ssim_sum / 3.0, 1e-12);
  EXPECT_FALSE(r.fid);
  EXPECT_FALSE(r.inception_score_fake);

  // CSV: a header and one line per image, nothing else; JSON: everything, parseable.
  std::istringstream csv(evaluation_csv(r));
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(csv, line)) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].rfind("name,content,width,height,ssim,content_loss,style_distance,style_s1_relu1,", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find(",seconds,made_seconds"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[2].rfind("hills.png,", 0), 0u) << lines[2];
  const size_t columns = std::count(lines[0].begin(), lines[0].end(), ',');
  for (const auto& l : lines) EXPECT_EQ(static_cast<size_t>(std::count(l.begin(), l.end(), ',')), columns) << l;
  const Json j = Json::parse(to_json(r).dump());
  ASSERT_EQ(j["rows"].size(), 3u);
  EXPECT_EQ(j["rows"][1]["name"], "hills.png");
  EXPECT_EQ(j["rows"][1]["ssim"].get<double>(), *r.rows[1].ssim);
  EXPECT_EQ(j["rows"][1]["style_layers"].size(), distances.style_layers.size());
  EXPECT_EQ(j["mean"]["ssim"].get<double>(), *r.mean.ssim);
  EXPECT_EQ(j["per_image"]["normalisation"], "energy");
  EXPECT_TRUE(j["fid"].is_null());
  EXPECT_EQ(j["options"]["backbone"], "random-multiscale");

  // With image_size every image (and the content, to the output's size) is resized first.
  o.image_size = 32;
  const EvaluationResult small = evaluate(o);
  EXPECT_EQ(small.rows[0].width, 32);
  EXPECT_EQ(small.rows[0].height, 24);
}

TEST(Evaluate, UnreadableFilesAreErrorsNamingThem) {
  const std::string fake = test::temp_dir("eval_unreadable");
  write_image(fake + "/good.png", torch::rand({1, 3, 32, 32}));
  std::ofstream(fake + "/broken.png") << "this is not an image";
  EvaluationOptions o;
  o.fake = fake;
  o.style = fake + "/good.png";
  const std::string what = expect_error<FormatError>([&] { evaluate(o); });
  EXPECT_NE(what.find("broken.png"), std::string::npos) << what;
}

TEST(Evaluate, BadOptionsAreErrorsNamingTheOption) {
  const std::string fake = test::temp_dir("eval_bad");
  write_set(fake, smooth_images(3, 32, 8));
  EvaluationOptions base;
  base.fake = fake;
  base.style = fake + "/000.png";

  EvaluationOptions o = base;
  o.style.clear();
  std::string what = expect_error<OptionError>([&] { evaluate(o); });
  EXPECT_NE(what.find("nothing to compute"), std::string::npos) << what;
  o = base;
  o.classifier = "resnet";
  what = expect_error<OptionError>([&] { evaluate(o, {}, trained_classifiers()); });
  EXPECT_NE(what.find("option 'classifier'"), std::string::npos) << what;
  EXPECT_NE(what.find("valid: auto, digits, digits-ttf, inception, none"), std::string::npos) << what;
  o = base;
  o.real = fake;
  o.features.name = "alexnet";
  EXPECT_EQ(failing_option([&] { evaluate(o); }), "features");
  o = base;
  o.real = fake;
  o.kid_subset_size = 1;
  EXPECT_EQ(failing_option([&] { evaluate(o); }), "kid_subset_size");
  o = base;
  o.classifier = "inception";
  o.is_splits = 1;
  EXPECT_EQ(failing_option([&] { evaluate(o); }), "classifier_weights");
  o = base;
  o.classifier = "digits";
  o.is_splits = 4;  // 3 images
  EXPECT_EQ(failing_option([&] { evaluate(o, {}, trained_classifiers()); }), "is_splits");
  o = base;
  o.distances.style_layers = {{"relu9_9", 1.0}};
  EXPECT_EQ(failing_option([&] { evaluate(o); }), "style_layers");
  o = base;
  o.backbone.name = "vgg19";
  EXPECT_EQ(failing_option([&] { evaluate(o); }), "backbone_weights");
  o = base;
  o.content = fake;
  o.ssim.channels = "cmyk";
  EXPECT_EQ(failing_option([&] { evaluate(o); }), "ssim_channels");
  o = base;
  o.style = fake + "/missing.png";
  what = expect_error<FileError>([&] { evaluate(o); });
  EXPECT_NE(what.find("missing.png"), std::string::npos) << what;
  o = base;
  o.content = test::temp_dir("eval_other_contents");
  write_image(o.content + "/000.png", torch::rand({1, 3, 32, 32}));
  what = expect_error<OptionError>([&] { evaluate(o); });
  EXPECT_NE(what.find("no content image for 001.png"), std::string::npos) << what;
  // Too small for SSIM's window: the error names the file.
  o = base;
  o.style.clear();
  o.content = fake;
  o.image_size = 8;
  what = expect_error<OptionError>([&] { evaluate(o); });
  EXPECT_NE(what.find("000.png"), std::string::npos) << what;
  EXPECT_NE(what.find("11x11"), std::string::npos) << what;
  // Too small for the backbone: a FormatError naming the file and its size, not LibTorch's error.
  o = base;
  o.image_size = 4;
  what = expect_error<FormatError>([&] { evaluate(o); });
  EXPECT_NE(what.find("000.png"), std::string::npos) << what;
  EXPECT_NE(what.find("4x4"), std::string::npos) << what;
  EXPECT_EQ(what.find("frame #"), std::string::npos) << what;
}
