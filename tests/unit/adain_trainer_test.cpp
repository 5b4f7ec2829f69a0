// The AdaIN recipe (train/adain_trainer.h) and the no-file encoder it trains against by default
// (random-vgg19): run folder, exact resume, the published loss and schedule, the exported decoder
// running through the adain method with nothing but its file, and option checks.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "impasto/core/error.h"
#include "impasto/core/runtime.h"
#include "impasto/data/dataset.h"
#include "impasto/io/image.h"
#include "impasto/io/run_dir.h"
#include "impasto/io/weights.h"
#include "impasto/nn/adain.h"
#include "impasto/nn/backbone.h"
#include "impasto/style/method.h"
#include "impasto/train/adain_trainer.h"
#include "test_support.h"

using namespace impasto;

namespace {

AdainTrainOptions tiny() {
  AdainTrainOptions o;
  o.content.synthetic = "textures";
  o.style.synthetic = "textures";
  o.content.size = 32;
  o.content.load_size = 0;
  o.content.batch_size = 2;
  o.content.workers = 1;
  o.steps = 6;
  o.seed = 5;
  o.device = "cpu";
  o.log_every = 1;
  o.sample_every = 3;
  o.checkpoint_every = 3;
  o.num_samples = 2;
  return o;
}

std::vector<double> logged(const std::string& run, const std::string& key) {
  std::vector<double> out;
  for (const Json& r : RunFolder(run).read_log()) out.push_back(r.at(key).get<double>());
  return out;
}

Backbone random_vgg(uint64_t seed) {
  BackboneOptions b;
  b.name = "random-vgg19";
  b.seed = seed;
  return make_backbone(b);
}

// Batch `index` (8 images of 32 px) of a textures stream no run trains on.
at::Tensor held_out_textures(uint64_t seed, int64_t index) {
  DatasetOptions held;
  held.synthetic = "textures";
  held.size = 32;
  held.batch_size = 8;
  held.workers = 0;
  held.seed = seed;
  auto stream = make_dataset(held);
  stream->start(index);
  return stream->next().samples;
}

// `o` as the learning tests run it: `steps` updates of 4 images at a learning rate of 1e-3, the
// samples and the checkpoint at the end.
AdainTrainOptions learning_run(AdainTrainOptions o, int64_t steps) {
  o.content.batch_size = 4;
  o.lr = 1e-3;
  o.steps = steps;
  o.log_every = 10;
  o.sample_every = steps;
  o.checkpoint_every = steps;
  return o;
}

// The decoder a run with these options starts from (the recipe seeds before making it).
AdainDecoder initial_decoder(const AdainTrainOptions& o) {
  seed_everything(o.seed);
  return make_adain_decoder(128);
}

}  // namespace

TEST(RandomVgg, IsTheNormalisedLayoutAtAQuarterWidthMadeFromItsSeed) {
  EXPECT_FALSE(backbone_info("random-vgg19").needs_weights);
  Backbone a = random_vgg(1), b = random_vgg(1), c = random_vgg(2);
  const at::Tensor image = torch::rand({1, 3, 40, 48}, torch::TensorOptions().dtype(torch::kFloat32));
  torch::NoGradGuard no_grad;
  const FeatureMaps fa = a->extract(image, {"conv0", "relu1_1", "relu4_1"});
  // conv0 is the ImageNet normalisation, so the random convs see centred input as the VGGs do.
  EXPECT_LT((fa.at("conv0") - imagenet_normalise(image)).abs().max().item<double>(), 1e-5);
  // A quarter of VGG19's widths; three ceil-mode pools.
  EXPECT_EQ(fa.at("relu1_1").size(1), 16);
  EXPECT_EQ(fa.at("relu4_1").sizes(), (std::vector<int64_t>{1, 128, 5, 6}));
  // The same seed gives the same network; another seed another one.
  EXPECT_TRUE(torch::equal(fa.at("relu4_1"), b->extract(image, {"relu4_1"}).at("relu4_1")));
  EXPECT_FALSE(torch::allclose(fa.at("relu4_1"), c->extract(image, {"relu4_1"}).at("relu4_1")));
  // Kaiming-normal weights keep the activations' scale through ten layers: the second moment at
  // relu4_1 stays within a factor of a few of relu1_1's (it would shrink or grow geometrically otherwise).
  const double m1 = fa.at("relu1_1").pow(2).mean().item<double>(), m4 = fa.at("relu4_1").pow(2).mean().item<double>();
  EXPECT_GT(m4 / m1, 0.1) << m1 << " " << m4;
  EXPECT_LT(m4 / m1, 10.0) << m1 << " " << m4;
  BackboneOptions with_file;
  with_file.name = "random-vgg19";
  with_file.weights = "vgg.pth";
  EXPECT_EQ(test::failing_option([&] { make_backbone(with_file); }), "weights");
}

TEST(AdainTrainer, ResumeRepeatsTheUninterruptedRunAndTheDecoderNeedsNoOtherFile) {
  const std::string dir = test::temp_dir("adain_train_resume");
  AdainTrainOptions o = tiny();
  train_adain(o, dir + "/full", {});
  o.steps = 3;
  train_adain(o, dir + "/split", {});
  const AdainTrainResult resumed = resume_adain(dir + "/split", 6, {});
  EXPECT_EQ(resumed.step, 6);
  const std::vector<double> full = logged(dir + "/full", "loss"), split = logged(dir + "/split", "loss");
  ASSERT_EQ(full.size(), 6u);
  ASSERT_EQ(split.size(), 6u);
  for (size_t i = 0; i < full.size(); ++i) EXPECT_DOUBLE_EQ(full[i], split[i]) << "step " << i + 1;
  for (const char* file : {"config.json", "report.html", "decoder.ckpt", "samples/real.png", "samples/step-000000.png",
                           "samples/step-000006.png", "checkpoints/latest.ckpt"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/full/" + file)) << file;
  // The published schedule: lr / (1 + 5e-5 i) before update i = step - 1.
  const std::vector<double> lr = logged(dir + "/full", "lr");
  for (size_t i = 0; i < lr.size(); ++i) EXPECT_NEAR(lr[i], 1e-4 / (1 + 5e-5 * static_cast<double>(i)), 1e-12);
  // The loss is content + style, the style term the sum of its layers.
  const Json record = RunFolder(dir + "/full").read_log().back();
  double layers = 0;
  for (const char* layer : {"relu1_1", "relu2_1", "relu3_1", "relu4_1"}) layers += record.at(std::string("style/") + layer).get<double>();
  EXPECT_NEAR(record.at("style").get<double>(), layers, 1e-4 * layers);
  EXPECT_NEAR(record.at("loss").get<double>(), record.at("content").get<double>() + record.at("style").get<double>(),
              1e-4 * record.at("loss").get<double>());

  // decoder.ckpt: the published keys, its encoder named; the adain method runs it with no other
  // option and gives D(AdaIN(E(c), E(s))) for the seeded encoder.
  const Checkpoint exported = load_checkpoint(dir + "/full/decoder.ckpt");
  EXPECT_EQ(exported.arch, "adain_decoder");
  EXPECT_EQ(exported.meta.at("encoder"), "random-vgg19");
  EXPECT_EQ(exported.meta.at("encoder_seed"), 0);
  ASSERT_NE(find_tensor(exported.tensors, "1.weight"), nullptr);
  EXPECT_EQ(find_tensor(exported.tensors, "1.weight")->sizes(), (std::vector<int64_t>{64, 128, 3, 3}));
  const at::Tensor photo = torch::rand({1, 3, 32, 40}), painting = torch::rand({1, 3, 24, 24});
  StylizeInputs inputs;
  inputs.content.rgb = photo;
  inputs.styles.push_back({"painting", painting, 1.0, {}});
  // fp32: the networks' own numbers (auto may choose bf16: precision_test.cpp).
  const Json options{{"decoder", dir + "/full/decoder.ckpt"}, {"image_size", 0}, {"style_size", 0}, {"device", "cpu"}, {"precision", "fp32"}};
  EXPECT_EQ(method_registry().get("adain").backbone(options), "random-vgg19");
  const StylizeResult result = stylize_once("adain", options, inputs);
  AdainDecoder decoder = load_adain_decoder(dir + "/full/decoder.ckpt");
  Backbone encoder = random_vgg(0);
  torch::NoGradGuard no_grad;
  const at::Tensor expected =
      decoder->forward(adaptive_instance_norm(encoder->extract(photo, {"relu4_1"}).at("relu4_1"),
                                              encoder->extract(painting, {"relu4_1"}).at("relu4_1")))
          .clamp(0, 1);
  EXPECT_LT((result.image.rgb - expected).abs().max().item<double>(), 1e-5) << result.summary.dump();
}

TEST(AdainTrainer, LearnsToDecodeStyledFeatures) {
  // The recipe's objective on fixed pairs it never trains on (another stream of the textures), with
  // the decoder as the run starts (the seed's initial weights) and after 200 updates at 32 px (whose
  // relu4_1 is only 4x4: the objective falls by about half here, where an untrained decoder stays at 1).
  const std::string dir = test::temp_dir("adain_train_learns");
  const AdainTrainOptions o = learning_run(tiny(), 200);
  train_adain(o, dir + "/run", {});
  const at::Tensor content = held_out_textures(991, 0), style = held_out_textures(991, 1);
  Backbone encoder = random_vgg(0);
  AdainDecoder initial = initial_decoder(o), trained = load_adain_decoder(dir + "/run/decoder.ckpt");
  const AdainTrainOptions resolved = resolve(o);
  const AdainObjective before = adain_objective(*encoder, *initial, content, style, resolved);
  const AdainObjective after = adain_objective(*encoder, *trained, content, style, resolved);
  EXPECT_LT(after.total.item<double>(), 0.65 * before.total.item<double>())  // 0.54 measured here
      << "content " << before.content << " -> " << after.content << ", style " << before.style << " -> " << after.style;
}

TEST(AdainTrainer, ReconstructionOnlyTrainingLearnsToInvertTheEncoder) {
  // Li et al. 2017's recipe (content and style weights 0, identity 1): the decoder's reconstruction
  // of photos it never saw gets closer to them in pixels (0.54 of the initial error here in 150 updates
  // at 32 px, whose relu4_1 is 4x4; an untrained decoder stays at 1).
  const std::string dir = test::temp_dir("adain_train_identity");
  AdainTrainOptions o = tiny();
  o.content_weight = 0;
  o.style_weight = 0;
  o.identity_weight = 1;
  o = learning_run(o, 150);
  train_adain(o, dir + "/run", {});
  EXPECT_TRUE(RunFolder(dir + "/run").read_log().back().contains("identity"));
  const at::Tensor photos = held_out_textures(992, 0);
  Backbone encoder = random_vgg(0);
  AdainDecoder initial = initial_decoder(o), trained = load_adain_decoder(dir + "/run/decoder.ckpt");
  torch::NoGradGuard no_grad;
  const at::Tensor features = encoder->extract(photos, {"relu4_1"}).at("relu4_1");
  const double before = torch::mse_loss(initial->forward(features), photos).item<double>();
  const double after = torch::mse_loss(trained->forward(features), photos).item<double>();
  EXPECT_LT(after, 0.7 * before) << "pixel MSE of the reconstruction: " << before << " -> " << after;
}

TEST(AdainTrainer, OptionErrorsNameTheOption) {
  auto fails_on = [&](const std::function<void(AdainTrainOptions&)>& change) {
    AdainTrainOptions o = tiny();
    change(o);
    return test::failing_option([&] { resolve(o); });
  };
  EXPECT_EQ(fails_on([](auto& o) { o.content.synthetic.clear(); }), "content_dir");
  EXPECT_EQ(fails_on([](auto& o) { o.style.synthetic.clear(); }), "style_dir");
  EXPECT_EQ(fails_on([](auto& o) { o.content.size = 36; }), "image_size");
  EXPECT_EQ(fails_on([](auto& o) { o.content.load_size = 16; }), "load_size");
  EXPECT_EQ(fails_on([](auto& o) { o.encoder.name = "random-multiscale"; }), "encoder");
  EXPECT_EQ(fails_on([](auto& o) { o.encoder.name = "vgg19-normalised"; }), "weights");
  EXPECT_EQ(fails_on([](auto& o) { o.style_layers = {{"relu9_1", 1.0}}; }), "style_layers");
  EXPECT_EQ(fails_on([](auto& o) { o.lr = 0; }), "lr");
  EXPECT_EQ(fails_on([](auto& o) { o.lr_decay = -1; }), "lr_decay");
  EXPECT_EQ(fails_on([](auto& o) { o.style_weight = -1; }), "style_weight");
  EXPECT_EQ(fails_on([](auto& o) { o.identity_weight = -1; }), "identity_weight");
  EXPECT_EQ(fails_on([](auto& o) {
              o.content_weight = 0;
              o.style_weight = 0;
            }),
            "content_weight");
  EXPECT_EQ(fails_on([](auto& o) { o.hold_out = 2; }), "hold_out");
  AdainTrainOptions missing = tiny();
  missing.content.synthetic.clear();
  missing.content.folder = test::temp_dir("adain_train_options") + "/nope";
  EXPECT_THROW(resolve(missing), FileError);
  // A resolved config round-trips through config.json's JSON; unknown keys are refused.
  const AdainTrainOptions resolved = resolve(tiny());
  EXPECT_EQ(to_json(adain_train_options_from_json(to_json(resolved))), to_json(resolved));
  Json unknown = to_json(resolved);
  unknown["colour"] = 1;
  EXPECT_EQ(test::failing_option([&] { adain_train_options_from_json(unknown); }), "colour");
}

// --init-decoder starts from a trained decoder (fine-tuning): with a vanishing learning rate the
// run's decoder is that decoder; one trained for another encoder is refused by name.
TEST(AdainTrainer, StartsFromAGivenDecoderOfTheSameEncoder) {
  const std::string dir = test::temp_dir("adain_train_init");
  AdainTrainOptions first = tiny();
  first.steps = 2;
  train_adain(first, dir + "/first", {});
  AdainTrainOptions tuned = tiny();
  tuned.steps = 1;
  tuned.lr = 1e-12;
  tuned.init_decoder = dir + "/first/decoder.ckpt";
  train_adain(tuned, dir + "/tuned", {});
  AdainDecoder a = load_adain_decoder(dir + "/first/decoder.ckpt"), b = load_adain_decoder(dir + "/tuned/decoder.ckpt");
  const auto pa = a->named_parameters(), pb = b->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  double largest = 0;
  for (const auto& item : pa) largest = std::max(largest, (item.value() - pb[item.key()]).abs().max().item<double>());
  EXPECT_LT(largest, 1e-6);
  // Against a fresh start: the decoder differs.
  EXPECT_GT((initial_decoder(tuned)->parameters()[0] - a->parameters()[0]).abs().max().item<double>(), 1e-4);
  AdainTrainOptions other = tuned;
  other.encoder.seed = 7;
  EXPECT_EQ(test::failing_option([&] { resolve(other); }), "init_decoder");
}

TEST(AdainTrainer, FoldersHoldOutFilesForTheSamples) {
  const std::string dir = test::temp_dir("adain_train_folders");
  for (const char* folder : {"photos", "paintings"}) {
    std::filesystem::create_directories(dir + "/" + folder);
    for (int i = 0; i < 8; ++i)
      write_image(dir + "/" + folder + "/img" + std::to_string(i) + ".png", torch::rand({1, 3, 40, 36}));
  }
  AdainTrainOptions o = tiny();
  o.content.synthetic.clear();
  o.style.synthetic.clear();
  o.content.folder = dir + "/photos";
  o.style.folder = dir + "/paintings";
  o.content.load_size = 40;
  o.content.crop = "random";
  o.steps = 2;
  const AdainTrainOptions resolved = resolve(o);
  EXPECT_EQ(resolved.content.hold_out, 2);  // num_samples, at most a quarter of the folder
  EXPECT_EQ(resolved.style.hold_out, 2);
  EXPECT_EQ(resolved.style.load_size, 40);  // the style images are cut like the content images
  const AdainTrainResult result = train_adain(o, dir + "/run", {});
  EXPECT_EQ(result.step, 2);
  const Json config = RunFolder(dir + "/run").read_config();
  EXPECT_EQ(config.at("hold_out_content"), 2);
  EXPECT_EQ(config.at("recipe"), "adain");
  // The grid: a corner, two styles; two rows of photo + two stylizations.
  const at::Tensor grid = read_image(dir + "/run/samples/step-000002.png").rgb;
  EXPECT_EQ(grid.size(2), 3 * 96 + 4 * 2);
}
