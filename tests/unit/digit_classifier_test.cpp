// The digit judge used by the GAN and CycleGAN learning tests and by `impasto eval`, and the two
// digit domains it must judge alike.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "impasto/core/error.h"
#include "impasto/data/dataset.h"
#include "impasto/train/digit_classifier.h"

using namespace impasto;

namespace {

Batch digits(const std::string& set, int64_t size, uint64_t seed) {
  DatasetOptions d;
  d.synthetic = set;
  d.size = size;
  d.batch_size = 256;
  d.seed = seed;
  d.workers = 0;
  auto data = make_dataset(d);
  data->start(0);
  return data->next();
}

double accuracy(DigitClassifier& net, const Batch& b) {
  torch::NoGradGuard no_grad;
  return (net->forward(b.samples).argmax(1) == b.labels).to(at::kDouble).mean().item<double>();
}

}  // namespace

TEST(DigitClassifier, RecognisesUnseenDigitsOfEveryPaletteAndSize) {
  DigitClassifierResult trained = train_digit_classifier({});
  EXPECT_GE(trained.accuracy, 0.95);
  EXPECT_GE(accuracy(trained.net, digits("digits", 32, 7)), 0.93);
  // The fixed-palette domains are inside the random palette's range: no retraining needed.
  EXPECT_GE(accuracy(trained.net, digits("digits-paper", 32, 7)), 0.93);
  EXPECT_GE(accuracy(trained.net, digits("digits-neon", 32, 7)), 0.93);
  // Other sizes are resized to the classifier's 32 px.
  EXPECT_GE(accuracy(trained.net, digits("digits", 48, 7)), 0.9);
}

// The judge of the second renderer's digits (train/eval_classifiers.h's digits-ttf) learns them as well.
TEST(DigitClassifier, RecognisesTrueTypeDigitsWhenTrainedOnThem) {
  DigitClassifierOptions o;
  o.synthetic = "digits-ttf";
  DigitClassifierResult trained = train_digit_classifier(o);
  EXPECT_GE(trained.accuracy, 0.93);
  EXPECT_GE(accuracy(trained.net, digits("digits-ttf", 32, 7)), 0.93);
}

TEST(DigitClassifier, IsDeterministicForASeed) {
  DigitClassifierOptions o;
  o.steps = 20;
  DigitClassifierResult a = train_digit_classifier(o), b = train_digit_classifier(o);
  const Batch batch = digits("digits", 32, 3);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(a.net->forward(batch.samples), b.net->forward(batch.samples)));
}

TEST(DigitDomains, PaperIsDarkOnLightAndNeonLightOnDark) {
  const Batch paper = digits("digits-paper", 32, 1), neon = digits("digits-neon", 32, 1);
  // Corners are background: light paper, dark ground.
  const at::Tensor paper_corner = paper.samples.index({"...", 0, 0}).mean(), neon_corner = neon.samples.index({"...", 0, 0}).mean();
  EXPECT_GT(paper_corner.item<double>(), 0.75);
  EXPECT_LT(neon_corner.item<double>(), 0.25);
  // Ink is the minority: the paper image is mostly light, the neon one mostly dark.
  EXPECT_GT(paper.samples.mean().item<double>(), 0.6);
  EXPECT_LT(neon.samples.mean().item<double>(), 0.4);
  EXPECT_EQ(paper.labels.size(0), 256);
}

TEST(DigitClassifier, RejectsBadInput) {
  EXPECT_THROW(DigitClassifier(2), OptionError);
  DigitClassifier net(3);
  EXPECT_THROW(net->forward(torch::rand({2, 4, 32, 32})), OptionError);
  DigitClassifierOptions o;
  o.synthetic = "textures";
  EXPECT_THROW(train_digit_classifier(o), OptionError);
}
