// Golden tests: the fast_neural_style TransformerNet and the CycleGAN/pix2pix generators and
// discriminators load checkpoints written by tools/make_style_net_fixtures.py (reference
// architectures with the published layouts, width-reduced, seeded random weights) key for key, infer
// their architecture from the shapes, and reproduce PyTorch's outputs within 1e-4 in the canonical
// [0,1] range (discriminator logits and activations: 1e-4 relative to their largest magnitude).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <set>

#include "impasto/io/weights.h"
#include "impasto/nn/backbone.h"
#include "impasto/nn/cyclegan_nets.h"
#include "impasto/nn/gan_model.h"
#include "impasto/nn/transformer_net.h"
#include "tensor_support.h"
#include "test_support.h"

using namespace impasto;
using namespace impasto::test;

namespace {

constexpr double kTolerance = 1e-4;

std::string path_of(const std::string& file) { return fixture("style_nets/" + file); }

// Max abs error over the reference's largest magnitude (at least 1): for unbounded values.
double relative_error(const at::Tensor& got, const at::Tensor& expected) {
  return max_error(got, expected) / std::max(1.0, expected.abs().max().item<double>());
}

const at::Tensor& feature(const Activations& features, const std::string& name) {
  for (const auto& [n, t] : features)
    if (n == name) return t;
  ADD_FAILURE() << "no feature " << name;
  static const at::Tensor none = torch::zeros({1});
  return none;
}

at::Tensor input32() { return load_fixture_map("style_nets/input32.pth").at("image"); }

}  // namespace

TEST(StyleNetsGolden, TransformerNetLoadsPublishedLayoutAndMatchesReference) {
  const std::string path = path_of("transformer_w4.pth");
  const StateDict file = load_pth(path);  // the legacy (pre-1.6) torch.save format
  std::set<std::string> expected_keys;
  int deprecated = 0;
  for (const auto& [k, t] : file) {
    if (is_deprecated_instance_norm_key(k))
      ++deprecated;
    else
      expected_keys.insert(k);
  }
  EXPECT_EQ(deprecated, 2 * 15);  // running_mean/var of in1..in5 and of res1..res5's in1, in2

  const TransformerNetOptions o = infer_transformer_net_options(file, path);
  EXPECT_EQ(o.width, 4);
  EXPECT_EQ(o.residual_blocks, 5);
  TransformerNet net = load_transformer_net(path);
  EXPECT_EQ(keys_of(module_state_dict(*net)), expected_keys);

  const auto ref = load_fixture_map("style_nets/transformer_w4_ref.pth");
  const at::Tensor image = input32();
  torch::NoGradGuard no_grad;
  const at::Tensor out = net->forward(image);
  const double err = max_error(out, ref.at("image"));
  EXPECT_LE(err, kTolerance);
  EXPECT_GE(out.min().item<double>(), 0.0);
  EXPECT_LE(out.max().item<double>(), 1.0);

  Activations raw_features;
  const at::Tensor raw = net->forward_raw(to_255_range(image), &raw_features);
  const double raw_err = max_error(raw / 255.0, ref.at("raw") / 255.0);  // unclamped, compared in [0,1] units
  EXPECT_LE(raw_err, kTolerance);
  EXPECT_GT(ref.at("raw").max().item<double>(), 255.0);  // the clamp is exercised
  EXPECT_LT(ref.at("raw").min().item<double>(), 0.0);
  for (const char* name : {"conv3", "res5"})
    EXPECT_LE(relative_error(feature(raw_features, name), ref.at(name)), kTolerance) << name;

  Activations features;
  EXPECT_TRUE(net->forward_with_features(image, features).equal(out));  // 32x32 needs no padding
  ASSERT_EQ(features.size(), raw_features.size());
  for (size_t i = 0; i < features.size(); ++i) EXPECT_TRUE(features[i].second.equal(raw_features[i].second));
  std::cout << "[ measured ] TransformerNet max abs diff: image " << err << ", raw/255 " << raw_err << "\n";
}

TEST(StyleNetsGolden, ResnetGeneratorInstanceNormMatchesReference) {
  const std::string path = path_of("resnet6_ngf2_instance_G.pth");
  const StateDict file = load_pth(path);
  const CycleGanGeneratorOptions o = infer_cyclegan_generator_options(file, path);
  EXPECT_EQ(o.arch, "resnet_6blocks");
  EXPECT_EQ(o.ngf, 2);
  EXPECT_EQ(o.norm, "instance");
  EXPECT_FALSE(o.dropout);
  EXPECT_EQ(o.input_nc, 3);
  EXPECT_EQ(o.output_nc, 3);
  CycleGanGenerator g = load_cyclegan_generator(path);
  EXPECT_EQ(keys_of(module_state_dict(*g)), keys_of(file));

  const auto ref = load_fixture_map("style_nets/resnet6_ngf2_instance_G_ref.pth");
  const at::Tensor image = input32();
  torch::NoGradGuard no_grad;
  Activations features;
  const at::Tensor out = translate(*g, image, &features);
  const double err = max_error(out, ref.at("image"));
  EXPECT_LE(err, kTolerance);
  EXPECT_LE(max_error(from_gan_range(g->forward(image * 2 - 1)), ref.at("image")), kTolerance);
  for (const char* name : {"down", "block3"})
    EXPECT_LE(relative_error(feature(features, name), ref.at(name)), kTolerance) << name;

  auto resnet = std::dynamic_pointer_cast<ResnetGeneratorImpl>(g);
  ASSERT_TRUE(resnet);
  resnet->set_block_enabled(2, false);
  const double skip_err = max_error(translate(*g, image), ref.at("skip2"));
  EXPECT_LE(skip_err, kTolerance);
  std::cout << "[ measured ] resnet_6blocks (instance) max abs diff: " << err << ", block 2 skipped " << skip_err
            << "\n";
}

TEST(StyleNetsGolden, ResnetGeneratorBatchNormDropoutOldCheckpointMatchesReference) {
  // Legacy format, batch norm without num_batches_tracked (as PyTorch < 0.4.1 saved it), dropout.
  const std::string path = path_of("resnet2_ngf2_batch_dropout_G.pth");
  const StateDict file = load_pth(path);
  for (const auto& [k, t] : file) EXPECT_EQ(k.find("num_batches_tracked"), std::string::npos) << k;
  const CycleGanGeneratorOptions o = infer_cyclegan_generator_options(file, path);
  EXPECT_EQ(o.arch, "resnet_2blocks");
  EXPECT_EQ(o.ngf, 2);
  EXPECT_EQ(o.norm, "batch");
  EXPECT_TRUE(o.dropout);
  CycleGanGenerator g = load_cyclegan_generator(path);
  std::set<std::string> mine;
  for (const auto& [k, t] : module_state_dict(*g))
    if (k.find("num_batches_tracked") == std::string::npos) mine.insert(k);
  EXPECT_EQ(mine, keys_of(file));

  torch::NoGradGuard no_grad;
  const double err = max_error(translate(*g, input32()), load_fixture_map("style_nets/resnet2_ngf2_batch_dropout_G_ref.pth").at("image"));
  EXPECT_LE(err, kTolerance);
  std::cout << "[ measured ] resnet_2blocks (batch, dropout, eval) max abs diff: " << err << "\n";
}

TEST(StyleNetsGolden, UnetGeneratorMatchesReference) {
  const std::string path = path_of("unet128_ngf1_batch_G.pth");
  const StateDict file = load_pth(path);
  const CycleGanGeneratorOptions o = infer_cyclegan_generator_options(file, path);
  EXPECT_EQ(o.arch, "unet_128");
  EXPECT_EQ(o.ngf, 1);
  EXPECT_EQ(o.norm, "batch");
  EXPECT_EQ(o.input_nc, 3);
  EXPECT_EQ(o.output_nc, 1);
  CycleGanGenerator g = load_cyclegan_generator(path);
  EXPECT_EQ(keys_of(module_state_dict(*g)), keys_of(file));
  EXPECT_TRUE(find_tensor(file, "model.model.1.model.3.model.3.model.3.model.3.model.3.model.1.weight"));

  const at::Tensor image = load_fixture_map("style_nets/input128.pth").at("image").to(torch::kFloat32) / 255;
  torch::NoGradGuard no_grad;
  const double err = max_error(translate(*g, image), load_fixture_map("style_nets/unet128_ngf1_batch_G_ref.pth").at("image"));
  EXPECT_LE(err, kTolerance);
  std::cout << "[ measured ] unet_128 (batch, eval) max abs diff: " << err << "\n";
}

TEST(StyleNetsGolden, DiscriminatorsMatchReference) {
  struct Case {
    std::string name, arch, norm;
    int64_t ndf, n_layers, receptive_field;
  };
  const std::vector<Case> cases = {{"basic_ndf2_instance_D", "basic", "instance", 2, 3, 70},
                                   {"n2_ndf4_batch_D", "n_layers", "batch", 4, 2, 34},
                                   {"pixel_ndf8_batch_D", "pixel", "batch", 8, 3, 1}};
  const at::Tensor image = input32();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = path_of(c.name + ".pth");
    const StateDict file = load_pth(path);
    const CycleGanDiscriminatorOptions o = infer_cyclegan_discriminator_options(file, path);
    EXPECT_EQ(o.arch, c.arch);
    EXPECT_EQ(o.norm, c.norm);
    EXPECT_EQ(o.ndf, c.ndf);
    if (c.arch != "pixel") EXPECT_EQ(o.n_layers, c.n_layers);
    CycleGanDiscriminator d = load_cyclegan_discriminator(path);
    EXPECT_EQ(keys_of(module_state_dict(*d)), keys_of(file));
    EXPECT_EQ(d->receptive_field(), c.receptive_field);
    torch::NoGradGuard no_grad;
    const double err = relative_error(patch_logits(*d, image), load_fixture_map("style_nets/" + c.name + "_ref.pth").at("patches"));
    EXPECT_LE(err, kTolerance);
    std::cout << "[ measured ] " << c.arch << " (" << c.norm << ") patch logits max rel diff: " << err << "\n";
  }
}
