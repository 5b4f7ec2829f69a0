// Unit tests of the style-transfer networks (nn/transformer_net.h, nn/cyclegan_nets.h): sizes kept for
// odd inputs, the feature and block-switch APIs, choose-by-name errors, checkpoint key rules (missing,
// unexpected, mis-shaped, tolerated keys), loading from files, and parameter counts at the default
// widths against PyTorch's (tests/fixtures/style_nets/param_counts.json, from
// tools/make_style_net_fixtures.py).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "impasto/core/error.h"
#include "impasto/io/weights.h"
#include "impasto/nn/backbone.h"
#include "impasto/nn/cyclegan_nets.h"
#include "impasto/nn/transformer_net.h"
#include "test_support.h"

using namespace impasto;
using impasto::test::expect_error;
using impasto::test::fixture;

namespace {

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

StateDict without(StateDict dict, const std::string& key) {
  for (auto it = dict.begin(); it != dict.end(); ++it)
    if (it->first == key) {
      dict.erase(it);
      return dict;
    }
  ADD_FAILURE() << "no key " << key;
  return dict;
}

StateDict with(StateDict dict, const std::string& key, const at::Tensor& t) {
  dict.emplace_back(key, t);
  return dict;
}

StateDict replaced(StateDict dict, const std::string& key, const at::Tensor& t) {
  for (auto& [k, v] : dict)
    if (k == key) v = t;
  return dict;
}

TransformerNetOptions small_transformer() {
  TransformerNetOptions o;
  o.width = 4;
  o.residual_blocks = 5;
  return o;
}

CycleGanGeneratorOptions small_generator(const std::string& arch, const std::string& norm = "instance") {
  CycleGanGeneratorOptions o;
  o.arch = arch;
  o.ngf = 2;
  o.norm = norm;
  return o;
}

}  // namespace

// ---- TransformerNet ---------------------------------------------------------------------------------

TEST(StyleNets, TransformerNetKeepsOddSizesAndRange) {
  torch::manual_seed(1);
  auto net = make_transformer_net(small_transformer());
  net->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor image = torch::rand({1, 3, 50, 70});
  const at::Tensor out = net->forward(image);
  EXPECT_EQ(out.sizes(), image.sizes());
  EXPECT_GE(out.min().item<double>(), 0.0);
  EXPECT_LE(out.max().item<double>(), 1.0);
  // The reference forward itself rounds up to a multiple of 4.
  EXPECT_EQ(net->forward_raw(to_255_range(image)).sizes(), (c10::IntArrayRef{1, 3, 52, 72}));
  // Tiny and thin images work through replication padding.
  EXPECT_EQ(net->forward(torch::rand({2, 3, 3, 17})).sizes(), (c10::IntArrayRef{2, 3, 3, 17}));
  expect_error<SourceError>([&] { net->forward(torch::rand({1, 4, 8, 8})); });
  expect_error<SourceError>([&] { net->forward(torch::rand({3, 8, 8})); });
}

TEST(StyleNets, TransformerNetFeaturesAndBlockSwitch) {
  torch::manual_seed(2);
  auto net = make_transformer_net(small_transformer());
  net->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor image = torch::rand({2, 3, 32, 40});
  Activations features;
  const at::Tensor out = net->forward_with_features(image, features);
  std::vector<std::string> names;
  for (const auto& [name, t] : features) {
    names.push_back(name);
    EXPECT_EQ(t.sizes(), (c10::IntArrayRef{2, 16, 8, 10})) << name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"conv3", "res1", "res2", "res3", "res4", "res5"}));
  EXPECT_TRUE(out.equal(net->forward(image)));

  net->set_block_enabled(3, false);
  EXPECT_FALSE(net->block_enabled(3));
  Activations ablated;
  const at::Tensor out3 = net->forward_with_features(image, ablated);
  EXPECT_TRUE(ablated[3].second.equal(ablated[2].second));  // res3 passes res2's output through
  EXPECT_TRUE(ablated[2].second.equal(features[2].second));
  EXPECT_GT((out3 - out).abs().max().item<double>(), 1e-4);
  net->set_block_enabled(3, true);
  EXPECT_TRUE(net->forward(image).equal(out));
  EXPECT_EQ(test::failing_option([&] { net->set_block_enabled(0, false); }), "block");
  EXPECT_EQ(test::failing_option([&] { net->block_enabled(6); }), "block");
}

TEST(StyleNets, TransformerNetOptionsAndInference) {
  EXPECT_EQ(test::failing_option([] { make_transformer_net({0, 5}); }), "width");
  EXPECT_EQ(test::failing_option([] { make_transformer_net({8, -1}); }), "residual_blocks");
  const StateDict dict = module_state_dict(*make_transformer_net({6, 3}));
  const auto o = infer_transformer_net_options(dict, "mem");
  EXPECT_EQ(o.width, 6);
  EXPECT_EQ(o.residual_blocks, 3);
  const std::string msg = expect_error<FormatError>([] { infer_transformer_net_options({}, "empty.pth"); });
  EXPECT_NE(msg.find("conv1.conv2d.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("empty.pth"), std::string::npos) << msg;
}

TEST(StyleNets, TransformerNetDeprecatedKeysIgnoredOthersNamed) {
  EXPECT_TRUE(is_deprecated_instance_norm_key("in1.running_mean"));
  EXPECT_TRUE(is_deprecated_instance_norm_key("res3.in2.running_var"));
  EXPECT_FALSE(is_deprecated_instance_norm_key("in1.weight"));
  EXPECT_FALSE(is_deprecated_instance_norm_key("in1.num_batches_tracked"));
  EXPECT_FALSE(is_deprecated_instance_norm_key("conv1.running_mean"));
  EXPECT_FALSE(is_deprecated_instance_norm_key("bin1.running_mean"));
  EXPECT_FALSE(is_deprecated_instance_norm_key("inx.running_mean"));

  torch::manual_seed(3);
  auto source = make_transformer_net(small_transformer());
  const StateDict good = module_state_dict(*source);
  auto net = make_transformer_net(small_transformer());
  // The published files' extra keys load silently.
  load_transformer_net_weights(*net, with(with(good, "in1.running_mean", torch::zeros({4})), "res2.in1.running_var",
                                          torch::ones({16})),
                               "ok.pth");
  EXPECT_TRUE(module_state_dict(*net)[0].second.equal(good[0].second));

  std::string msg = expect_error<FormatError>(
      [&] { load_transformer_net_weights(*net, without(good, "res3.in2.weight"), "a.pth"); });
  EXPECT_NE(msg.find("missing key 'res3.in2.weight'"), std::string::npos) << msg;
  msg = expect_error<FormatError>(
      [&] { load_transformer_net_weights(*net, with(good, "in1.num_batches_tracked", torch::zeros({})), "b.pth"); });
  EXPECT_NE(msg.find("unexpected key 'in1.num_batches_tracked'"), std::string::npos) << msg;
  msg = expect_error<FormatError>([&] {
    load_transformer_net_weights(*net, replaced(good, "deconv1.conv2d.weight", torch::zeros({8, 16, 5, 5})), "c.pth");
  });
  EXPECT_NE(msg.find("shape mismatch for 'deconv1.conv2d.weight'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("c.pth"), std::string::npos) << msg;
}

TEST(StyleNets, TransformerNetLoadsFromFiles) {
  const std::string dir = test::temp_dir("transformer_net");
  torch::manual_seed(4);
  auto source = make_transformer_net({4, 2});
  Checkpoint checkpoint;
  checkpoint.arch = "transformer_net";
  checkpoint.tensors = module_state_dict(*source);
  save_checkpoint(dir + "/w.ckpt", checkpoint);
  auto net = load_transformer_net(dir + "/w.ckpt");
  EXPECT_EQ(net->options().width, 4);
  EXPECT_EQ(net->options().residual_blocks, 2);
  EXPECT_FALSE(net->is_training());
  torch::NoGradGuard no_grad;
  const at::Tensor image = torch::rand({1, 3, 16, 16});
  source->eval();
  EXPECT_TRUE(net->forward(image).equal(source->forward(image)));
  expect_error<FileError>([&] { load_transformer_net(dir + "/missing.pth"); });
  const std::string msg = expect_error<FormatError>(
      [] { load_transformer_net(fixture("style_nets/resnet6_ngf2_instance_G.pth")); });
  EXPECT_NE(msg.find("conv1.conv2d.weight"), std::string::npos) << msg;
}

// ---- CycleGAN / pix2pix ------------------------------------------------------------------------------

TEST(StyleNets, ResnetGeneratorKeepsOddSizes) {
  torch::manual_seed(5);
  for (const std::string arch : {"resnet_9blocks", "resnet_6blocks"}) {
    SCOPED_TRACE(arch);
    auto g = make_cyclegan_generator(small_generator(arch));
    g->eval();
    torch::NoGradGuard no_grad;
    const at::Tensor image = torch::rand({1, 3, 50, 70});
    const at::Tensor out = translate(*g, image);
    EXPECT_EQ(out.sizes(), image.sizes());
    EXPECT_GE(out.min().item<double>(), 0.0);
    EXPECT_LE(out.max().item<double>(), 1.0);
    EXPECT_EQ(g->forward(image * 2 - 1).sizes(), (c10::IntArrayRef{1, 3, 52, 72}));
    EXPECT_EQ(translate(*g, torch::rand({1, 3, 64, 64})).sizes(), (c10::IntArrayRef{1, 3, 64, 64}));
    EXPECT_EQ(translate(*g, torch::rand({1, 3, 2, 9})).sizes(), (c10::IntArrayRef{1, 3, 2, 9}));
  }
}

TEST(StyleNets, UnetGeneratorPadsToItsSizeMultiple) {
  torch::manual_seed(6);
  CycleGanGeneratorOptions o = small_generator("unet_128", "batch");
  o.ngf = 1;
  o.output_nc = 2;
  auto g = make_cyclegan_generator(o);
  g->eval();
  EXPECT_EQ(g->size_multiple(), 128);
  torch::NoGradGuard no_grad;
  EXPECT_EQ(translate(*g, torch::rand({1, 3, 50, 70})).sizes(), (c10::IntArrayRef{1, 2, 50, 70}));
  EXPECT_EQ(translate(*g, torch::rand({1, 3, 130, 128})).sizes(), (c10::IntArrayRef{1, 2, 130, 128}));
  EXPECT_EQ(g->forward(torch::rand({1, 3, 128, 256})).sizes(), (c10::IntArrayRef{1, 2, 128, 256}));
  expect_error<SourceError>([&] { translate(*g, torch::rand({1, 1, 128, 128})); });
  o.arch = "unet_256";
  EXPECT_EQ(make_cyclegan_generator(o)->size_multiple(), 256);
}

TEST(StyleNets, ResnetGeneratorFeaturesAndBlockSkipping) {
  torch::manual_seed(7);
  auto g = make_cyclegan_generator(small_generator("resnet_6blocks"));
  auto resnet = std::dynamic_pointer_cast<ResnetGeneratorImpl>(g);
  ASSERT_TRUE(resnet);
  EXPECT_EQ(resnet->num_blocks(), 6);
  g->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor image = torch::rand({2, 3, 24, 32});
  Activations features;
  const at::Tensor out = translate(*g, image, &features);
  std::vector<std::string> names;
  for (const auto& [name, t] : features) {
    names.push_back(name);
    EXPECT_EQ(t.sizes(), (c10::IntArrayRef{2, 8, 6, 8})) << name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"down", "block1", "block2", "block3", "block4", "block5", "block6"}));
  EXPECT_TRUE(out.equal(translate(*g, image)));

  resnet->set_block_enabled(4, false);
  resnet->set_block_enabled(5, false);
  Activations ablated;
  const at::Tensor out45 = translate(*g, image, &ablated);
  EXPECT_TRUE(ablated[5].second.equal(ablated[3].second));  // block5 = block4 = block3's output
  EXPECT_TRUE(ablated[4].second.equal(ablated[3].second));
  EXPECT_TRUE(ablated[3].second.equal(features[3].second));
  EXPECT_GT((out45 - out).abs().max().item<double>(), 1e-4);
  for (int64_t k : {4, 5}) resnet->set_block_enabled(k, true);
  EXPECT_TRUE(translate(*g, image).equal(out));
  EXPECT_EQ(test::failing_option([&] { resnet->set_block_enabled(7, false); }), "block");
}

TEST(StyleNets, PatchDiscriminatorMapsAndReceptiveFields) {
  torch::manual_seed(8);
  CycleGanDiscriminatorOptions o;
  o.ndf = 2;
  auto basic = make_cyclegan_discriminator(o);
  torch::NoGradGuard no_grad;
  // pix2pix's 70x70 PatchGAN gives a 30x30 map for a 256x256 image.
  EXPECT_EQ(patch_logits(*basic, torch::rand({1, 3, 256, 256})).sizes(), (c10::IntArrayRef{1, 1, 30, 30}));
  EXPECT_EQ(basic->receptive_field(), 70);
  o.arch = "n_layers";
  o.n_layers = 1;
  EXPECT_EQ(make_cyclegan_discriminator(o)->receptive_field(), 16);  // pix2pix's 16x16 PatchGAN
  o.arch = "pixel";
  auto pixel = make_cyclegan_discriminator(o);
  EXPECT_EQ(pixel->receptive_field(), 1);
  EXPECT_EQ(patch_logits(*pixel, torch::rand({2, 3, 20, 30})).sizes(), (c10::IntArrayRef{2, 1, 20, 30}));
}

TEST(StyleNets, ChooseByNameErrorsListValidNames) {
  EXPECT_EQ(cyclegan_generator_names(),
            (std::vector<std::string>{"resnet_9blocks", "resnet_6blocks", "unet_256", "unet_128"}));
  EXPECT_EQ(cyclegan_discriminator_names(), (std::vector<std::string>{"basic", "n_layers", "pixel"}));
  for (const std::string bad : {"resnet9", "unet_100", "unet_16", "dcgan", ""}) {
    SCOPED_TRACE(bad);
    CycleGanGeneratorOptions o;
    o.arch = bad;
    const std::string msg = expect_error<OptionError>([&] { make_cyclegan_generator(o); });
    EXPECT_NE(msg.find("resnet_9blocks, resnet_6blocks, unet_256, unet_128"), std::string::npos) << msg;
    EXPECT_EQ(test::failing_option([&] { make_cyclegan_generator(o); }), "arch");
  }
  CycleGanDiscriminatorOptions d;
  d.arch = "patch";
  const std::string msg = expect_error<OptionError>([&] { make_cyclegan_discriminator(d); });
  EXPECT_NE(msg.find("basic, n_layers, pixel"), std::string::npos) << msg;
  CycleGanGeneratorOptions g = small_generator("resnet_6blocks", "group");
  EXPECT_EQ(test::failing_option([&] { make_cyclegan_generator(g); }), "norm");
  g.norm = "batch";
  g.ngf = 0;
  EXPECT_EQ(test::failing_option([&] { make_cyclegan_generator(g); }), "ngf");
}

TEST(StyleNets, CycleGanInferenceFromStateDicts) {
  for (const std::string arch : {"resnet_9blocks", "resnet_3blocks", "unet_256", "unet_32"}) {
    for (const std::string norm : {"instance", "batch"}) {
      for (bool dropout : {false, true}) {
        SCOPED_TRACE(arch + " " + norm + (dropout ? " dropout" : ""));
        CycleGanGeneratorOptions o = small_generator(arch, norm);
        o.input_nc = 1;
        o.output_nc = 2;
        o.dropout = dropout;
        const auto inferred = infer_cyclegan_generator_options(module_state_dict(*make_cyclegan_generator(o)), "mem");
        EXPECT_EQ(inferred.arch, arch);
        EXPECT_EQ(inferred.norm, norm);
        EXPECT_EQ(inferred.ngf, 2);
        EXPECT_EQ(inferred.input_nc, 1);
        EXPECT_EQ(inferred.output_nc, 2);
        // A U-Net's dropout has no weights (and only acts in training); a ResNet's shifts the keys.
        EXPECT_EQ(inferred.dropout, dropout && arch.rfind("resnet", 0) == 0);
      }
    }
  }
  for (const std::string arch : {"basic", "n_layers", "pixel"}) {
    for (const std::string norm : {"instance", "batch"}) {
      SCOPED_TRACE(arch + " " + norm);
      CycleGanDiscriminatorOptions o;
      o.arch = arch;
      o.norm = norm;
      o.ndf = 3;
      o.n_layers = 5;
      o.input_nc = 6;  // pix2pix's conditional D sees input and output stacked
      const auto inferred = infer_cyclegan_discriminator_options(module_state_dict(*make_cyclegan_discriminator(o)), "m");
      EXPECT_EQ(inferred.arch, arch);
      EXPECT_EQ(inferred.norm, norm);
      EXPECT_EQ(inferred.ndf, 3);
      EXPECT_EQ(inferred.input_nc, 6);
      if (arch != "pixel") EXPECT_EQ(inferred.n_layers, arch == "basic" ? 3 : 5);
    }
  }
  std::string msg = expect_error<FormatError>([] {
    infer_cyclegan_generator_options(module_state_dict(*make_transformer_net({2, 1})), "style.pth");
  });
  EXPECT_NE(msg.find("not a CycleGAN/pix2pix generator"), std::string::npos) << msg;
  msg = expect_error<FormatError>([] { infer_cyclegan_discriminator_options({}, "d.pth"); });
  EXPECT_NE(msg.find("not a CycleGAN/pix2pix discriminator"), std::string::npos) << msg;
  // A ResNet generator without its last conv names it.
  const StateDict g = module_state_dict(*make_cyclegan_generator(small_generator("resnet_6blocks")));
  msg = expect_error<FormatError>([&] { infer_cyclegan_generator_options(without(g, "model.23.weight"), "g.pth"); });
  EXPECT_NE(msg.find("missing key 'model.23.weight'"), std::string::npos) << msg;
}

TEST(StyleNets, CycleGanCheckpointKeyRules) {
  torch::manual_seed(9);
  auto batch = make_cyclegan_generator(small_generator("resnet_6blocks", "batch"));
  const StateDict good = module_state_dict(*batch);
  auto net = make_cyclegan_generator(small_generator("resnet_6blocks", "batch"));
  // num_batches_tracked may be missing (checkpoints before PyTorch 0.4.1) ...
  StateDict old;
  for (const auto& [k, t] : good)
    if (k.find("num_batches_tracked") == std::string::npos) old.emplace_back(k, t);
  load_cyclegan_weights(*net, old, "old.pth");
  // ... but not the running statistics.
  std::string msg = expect_error<FormatError>(
      [&] { load_cyclegan_weights(*net, without(good, "model.10.conv_block.2.running_var"), "a.pth"); });
  EXPECT_NE(msg.find("missing key 'model.10.conv_block.2.running_var'"), std::string::npos) << msg;
  msg = expect_error<FormatError>([&] { load_cyclegan_weights(*net, without(good, "model.5.weight"), "b.pth"); });
  EXPECT_NE(msg.find("missing key 'model.5.weight'"), std::string::npos) << msg;
  msg = expect_error<FormatError>(
      [&] { load_cyclegan_weights(*net, replaced(good, "model.1.weight", torch::zeros({2, 3, 5, 5})), "c.pth"); });
  EXPECT_NE(msg.find("shape mismatch for 'model.1.weight'"), std::string::npos) << msg;
  msg = expect_error<FormatError>([&] { load_cyclegan_weights(*net, with(good, "model.3.weight", torch::zeros({2})), "d.pth"); });
  EXPECT_NE(msg.find("unexpected key 'model.3.weight'"), std::string::npos) << msg;

  auto instance = make_cyclegan_generator(small_generator("resnet_6blocks", "instance"));
  const StateDict plain = module_state_dict(*instance);
  // Instance norm: PyTorch < 0.4 running statistics are ignored, num_batches_tracked is not.
  load_cyclegan_weights(*instance,
                        with(with(plain, "model.2.running_mean", torch::zeros({2})), "model.11.conv_block.6.running_var",
                             torch::ones({8})),
                        "old_instance.pth");
  msg = expect_error<FormatError>(
      [&] { load_cyclegan_weights(*instance, with(plain, "model.2.num_batches_tracked", torch::zeros({})), "e.pth"); });
  EXPECT_NE(msg.find("unexpected key 'model.2.num_batches_tracked'"), std::string::npos) << msg;
  msg = expect_error<FormatError>(
      [&] { load_cyclegan_weights(*instance, with(plain, "model.1.running_mean", torch::zeros({2})), "f.pth"); });
  EXPECT_NE(msg.find("unexpected key 'model.1.running_mean'"), std::string::npos) << msg;

  expect_error<FileError>([] { load_cyclegan_generator("/nonexistent/latest_net_G.pth"); });
  msg = expect_error<FormatError>([] { load_cyclegan_generator(fixture("style_nets/transformer_w4.pth")); });
  EXPECT_NE(msg.find("transformer_w4.pth"), std::string::npos) << msg;
}

TEST(StyleNets, ParameterCountsMatchPyTorch) {
  std::ifstream in(fixture("style_nets/param_counts.json"));
  ASSERT_TRUE(in) << "param_counts.json";
  const nlohmann::json counts = nlohmann::json::parse(in);
  EXPECT_EQ(parameter_count(*make_transformer_net()), counts.at("transformer_net").get<int64_t>());
  int compared = 1;
  for (const std::string norm : {"instance", "batch"}) {
    for (const std::string arch : {"resnet_9blocks", "resnet_6blocks", "unet_256", "unet_128"}) {
      CycleGanGeneratorOptions o;
      o.arch = arch;
      o.norm = norm;
      EXPECT_EQ(parameter_count(*make_cyclegan_generator(o)), counts.at(arch + "/" + norm).get<int64_t>()) << arch;
      ++compared;
    }
    for (const std::string arch : {"basic", "pixel"}) {
      CycleGanDiscriminatorOptions o;
      o.arch = arch;
      o.norm = norm;
      EXPECT_EQ(parameter_count(*make_cyclegan_discriminator(o)), counts.at(arch + "/" + norm).get<int64_t>()) << arch;
      ++compared;
    }
  }
  EXPECT_EQ(compared, static_cast<int>(counts.size()));
}
