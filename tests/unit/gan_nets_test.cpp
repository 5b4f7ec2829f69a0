// Unit tests of the GAN networks (nn/gan_nets.h) and spectral normalisation (nn/spectral_norm.h):
// shapes for every size and architecture, tanh range, module layout, option errors, d_norm rules,
// DCGAN initialisation statistics, and the power iteration converging to the largest singular value.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <set>

#include "impasto/core/error.h"
#include "impasto/nn/backbone.h"
#include "impasto/nn/gan_model.h"
#include "impasto/nn/gan_nets.h"
#include "impasto/nn/spectral_norm.h"
#include "test_support.h"

using namespace impasto;

namespace {

GanNetOptions small_dcgan(int64_t size) {
  GanNetOptions o;
  o.arch = "dcgan";
  o.size = size;
  o.z_dim = 6;
  o.g_width = 2;
  o.d_width = 2;
  return o;
}

std::set<std::string> keys_of(const torch::nn::Module& module) {
  std::set<std::string> out;
  for (const auto& [k, t] : module_state_dict(module)) out.insert(k);
  return out;
}

}  // namespace

TEST(GanNets, DcganShapesForEverySize) {
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  for (int64_t size : {32, 64, 128, 256}) {
    SCOPED_TRACE(size);
    auto o = small_dcgan(size);
    EXPECT_EQ(sample_shape(o), (std::vector<int64_t>{3, size, size}));
    auto g = make_generator(o);
    auto d = make_discriminator(o);
    EXPECT_EQ(g->z_dim, 6);
    const at::Tensor image = g->forward(torch::randn({2, 6}) * 3);
    EXPECT_EQ(image.sizes(), (std::vector<int64_t>{2, 3, size, size}));
    EXPECT_LE(image.abs().max().item<double>(), 1.0);  // tanh
    EXPECT_GT(image.abs().max().item<double>(), 0.0);
    const at::Tensor scores = d->forward(image);
    EXPECT_EQ(scores.sizes(), (std::vector<int64_t>{2}));
    // Stride-2 levels: log2(size) - 2 in each net; G has (levels + 1) transposed convs, D levels + 1 convs.
    int64_t levels = 0;
    for (int64_t s = 4; s < size; s *= 2) ++levels;
    int64_t g_convs = 0, d_convs = 0;
    for (const auto& item : g->named_parameters()) g_convs += item.value().dim() == 4;
    for (const auto& item : d->named_parameters()) d_convs += item.value().dim() == 4;
    EXPECT_EQ(g_convs, levels + 1);
    EXPECT_EQ(d_convs, levels + 1);
  }
}

// FastGAN (nn/fastgan.h): shapes for every size, skip-layer excitation where the side allows it,
// and the self-supervised discriminator's reconstruction loss: finite, differentiable into D, and
// falling when D is trained to rebuild a fixed batch.
TEST(GanNets, FastganShapesExcitationAndReconstruction) {
  torch::manual_seed(0);
  for (int64_t size : {32, 64, 128, 256}) {
    SCOPED_TRACE(size);
    GanNetOptions o;
    o.arch = "fastgan";
    o.size = size;
    o.z_dim = 6;
    o.g_width = 2;
    o.d_width = 2;
    o.d_norm = "batch";
    auto g = make_generator(o);
    auto d = make_discriminator(o);
    at::Tensor image;
    {
      torch::NoGradGuard no_grad;
      image = g->forward(torch::randn({2, 6}));
    }
    EXPECT_EQ(image.sizes(), (std::vector<int64_t>{2, 3, size, size}));
    EXPECT_LE(image.abs().max().item<double>(), 1.0);
    EXPECT_EQ(d->forward(image).sizes(), (std::vector<int64_t>{2}));
    // SLE from side r to 8r in G (4 -> 32, ...), and from 8r to r in D when 8r fits.
    int64_t g_sle = 0, d_sle = 0;
    for (const auto& key : keys_of(*g)) g_sle += key.find("sle") == 0 && key.find("squeeze.weight") != std::string::npos;
    for (const auto& key : keys_of(*d)) d_sle += key.find("sle") == 0 && key.find("squeeze.weight") != std::string::npos;
    int64_t expected_g = 0, expected_d = 0;
    for (int64_t side = 32; side <= size; side *= 2) ++expected_g;
    for (int64_t side = 8; side * 8 <= size; side *= 2) ++expected_d;
    EXPECT_EQ(g_sle, expected_g);
    EXPECT_EQ(d_sle, expected_d);
    auto generator = at::make_generator<at::CPUGeneratorImpl>(1);
    at::Generator gen = generator;
    const auto judged = d->judge_real(image, gen);
    ASSERT_TRUE(judged.reconstruction_loss.defined());
    EXPECT_TRUE(std::isfinite(judged.reconstruction_loss.item<double>()));
    EXPECT_EQ(judged.scores.sizes(), (std::vector<int64_t>{2}));
  }
  // D learns to rebuild what it sees.
  GanNetOptions o;
  o.arch = "fastgan";
  o.size = 32;
  o.d_width = 8;
  o.d_norm = "none";
  auto d = make_discriminator(o);
  const at::Tensor real = torch::rand({4, 3, 32, 32}) * 2 - 1;
  torch::optim::Adam adam(d->parameters(), torch::optim::AdamOptions(2e-3));
  auto generator = at::make_generator<at::CPUGeneratorImpl>(2);
  at::Generator gen = generator;
  double first = 0, last = 0;
  for (int step = 0; step < 40; ++step) {
    at::Tensor loss = d->judge_real(real, gen).reconstruction_loss;
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
    adam.zero_grad();
    loss.backward();
    adam.step();
  }
  EXPECT_LT(last, 0.8 * first) << first << " -> " << last;
  // A plain DCGAN D has no reconstruction.
  EXPECT_FALSE(make_discriminator(small_dcgan(32))->judge_real(real, gen).reconstruction_loss.defined());
  GanNetOptions bad = o;
  bad.pack = 2;
  EXPECT_THROW(make_discriminator(bad), OptionError);
}

TEST(GanNets, DcganWidthsDoubleFromTheImageEndCappedAt8x) {
  auto o = small_dcgan(256);
  o.g_width = 3;
  o.d_width = 5;
  auto g = make_generator(o);
  auto d = make_discriminator(o);
  std::vector<int64_t> g_out, d_out;
  for (const auto& item : g->named_parameters())
    if (item.value().dim() == 4) g_out.push_back(item.value().size(1));  // ConvTranspose: [in, out, k, k]
  for (const auto& item : d->named_parameters())
    if (item.value().dim() == 4) d_out.push_back(item.value().size(0));
  // named_parameters lists the Sequential's layers in registration order (image end last in G, first in D).
  EXPECT_EQ(g_out, (std::vector<int64_t>{24, 24, 24, 12, 6, 3, 3}));
  EXPECT_EQ(d_out, (std::vector<int64_t>{5, 10, 20, 40, 40, 40, 1}));
}

TEST(GanNets, DcganSize64HasTheExampleLayout) {
  GanNetOptions o = small_dcgan(64);
  o.d_norm = "batch";
  auto g = make_generator(o);
  auto d = make_discriminator(o);
  const std::set<std::string> g_keys = keys_of(*g), d_keys = keys_of(*d);
  for (int i : {0, 3, 6, 9, 12}) EXPECT_TRUE(g_keys.count("main." + std::to_string(i) + ".weight")) << i;
  for (int i : {1, 4, 7, 10})
    for (const char* s : {".weight", ".bias", ".running_mean", ".running_var", ".num_batches_tracked"})
      EXPECT_TRUE(g_keys.count("main." + std::to_string(i) + s)) << i << s;
  EXPECT_EQ(g_keys.size(), 5u + 4u * 5u);
  for (int i : {0, 2, 5, 8, 11}) EXPECT_TRUE(d_keys.count("main." + std::to_string(i) + ".weight")) << i;
  for (int i : {3, 6, 9}) EXPECT_TRUE(d_keys.count("main." + std::to_string(i) + ".running_mean")) << i;
  EXPECT_EQ(d_keys.size(), 5u + 3u * 5u);
  // No conv biases (bias=False in the example): the only biases are the batch norms'.
  for (const auto& item : d->named_parameters())
    if (item.value().dim() == 4) EXPECT_FALSE(d_keys.count(item.key().substr(0, item.key().size() - 6) + "bias"));

  // d_norm none: the norm indices close up; spectral norm renames the conv weights.
  o.d_norm = "none";
  o.spectral_norm = true;
  auto sn = make_discriminator(o);
  const std::set<std::string> expected = {
      "main.0.weight_orig", "main.0.weight_u", "main.0.weight_v", "main.2.weight_orig", "main.2.weight_u",
      "main.2.weight_v",    "main.4.weight_orig", "main.4.weight_u", "main.4.weight_v", "main.6.weight_orig",
      "main.6.weight_u",    "main.6.weight_v",    "main.8.weight_orig", "main.8.weight_u", "main.8.weight_v"};
  EXPECT_EQ(keys_of(*sn), expected);
}

TEST(GanNets, EveryDiscriminatorNormWorksInTrainAndEval) {
  torch::manual_seed(1);
  for (const std::string norm : {"batch", "layer", "instance", "none"}) {
    for (bool spectral : {false, true}) {
      SCOPED_TRACE(norm + (spectral ? " sn" : ""));
      auto o = small_dcgan(32);
      o.d_norm = norm;
      o.spectral_norm = spectral;
      auto d = make_discriminator(o);
      const auto x = torch::rand({3, 3, 32, 32}) * 2 - 1;
      auto s = d->forward(x);
      EXPECT_EQ(s.sizes(), (std::vector<int64_t>{3}));
      s.sum().backward();
      for (const auto& p : d->parameters()) EXPECT_TRUE(p.grad().defined());
      d->eval();
      torch::NoGradGuard no_grad;
      EXPECT_TRUE(torch::isfinite(d->forward(x)).all().item<bool>());
    }
  }
  auto o = small_dcgan(32);
  o.d_norm = "layer";
  bool has_layer_norm = false;
  for (const auto& [k, t] : module_state_dict(*make_discriminator(o)))
    has_layer_norm |= t.dim() == 3;  // LayerNorm over [C, H, W]
  EXPECT_TRUE(has_layer_norm);
}

TEST(GanNets, MlpShapesAndLayout) {
  torch::manual_seed(2);
  GanNetOptions o;
  o.arch = "mlp";
  o.data_dim = 2;
  o.z_dim = 4;
  o.mlp_hidden = 16;
  o.mlp_layers = 3;
  EXPECT_EQ(sample_shape(o), (std::vector<int64_t>{2}));
  auto g = make_generator(o);
  auto d = make_discriminator(o);
  auto x = g->forward(torch::randn({5, 4}));
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{5, 2}));
  EXPECT_EQ(d->forward(x).sizes(), (std::vector<int64_t>{5}));
  const std::set<std::string> g_keys = keys_of(*g);
  EXPECT_EQ(g_keys, (std::set<std::string>{"net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias", "net.4.weight",
                                           "net.4.bias", "net.6.weight", "net.6.bias"}));
  o.spectral_norm = true;
  auto sn = make_discriminator(o);
  EXPECT_TRUE(keys_of(*sn).count("net.6.weight_orig"));
  EXPECT_TRUE(keys_of(*sn).count("net.6.weight_u"));
  EXPECT_EQ(sn->forward(x).sizes(), (std::vector<int64_t>{5}));
}

TEST(GanNets, BadOptionsNameTheOption) {
  auto o = small_dcgan(64);
  o.arch = "stylegan";
  EXPECT_EQ(test::failing_option([&] { make_generator(o); }), "arch");
  EXPECT_EQ(test::failing_option([&] { make_discriminator(o); }), "arch");
  EXPECT_EQ(test::failing_option([&] { sample_shape(o); }), "arch");
  const std::string msg = test::expect_error<OptionError>([&] { make_generator(o); });
  EXPECT_NE(msg.find("valid: dcgan, fastgan, mlp"), std::string::npos) << msg;
  o = small_dcgan(48);
  EXPECT_EQ(test::failing_option([&] { make_generator(o); }), "size");
  EXPECT_EQ(test::failing_option([&] { make_discriminator(o); }), "size");
  o = small_dcgan(64);
  o.d_norm = "group";
  EXPECT_EQ(test::failing_option([&] { make_discriminator(o); }), "d_norm");
  o = small_dcgan(64);
  o.g_width = 0;
  EXPECT_EQ(test::failing_option([&] { make_generator(o); }), "g_width");
  o = small_dcgan(64);
  o.d_width = -2;
  EXPECT_EQ(test::failing_option([&] { make_discriminator(o); }), "d_width");
  o = small_dcgan(64);
  o.z_dim = 0;
  EXPECT_EQ(test::failing_option([&] { make_generator(o); }), "z_dim");
  o = small_dcgan(64);
  o.channels = 0;
  EXPECT_EQ(test::failing_option([&] { make_generator(o); }), "channels");
  o.arch = "mlp";
  o.mlp_hidden = 0;
  EXPECT_EQ(test::failing_option([&] { make_generator(o); }), "mlp_hidden");
  o.mlp_hidden = 8;
  o.mlp_layers = 0;
  EXPECT_EQ(test::failing_option([&] { make_discriminator(o); }), "mlp_layers");
  o.mlp_layers = 1;
  o.data_dim = 0;
  EXPECT_EQ(test::failing_option([&] { make_discriminator(o); }), "data_dim");
  o.data_dim = 2;
  o.minibatch_stddev = true;
  EXPECT_EQ(test::failing_option([&] { make_discriminator(o); }), "minibatch_stddev");
  o.minibatch_stddev = false;
  o.pack = 2;
  EXPECT_EQ(test::failing_option([&] { make_discriminator(o); }), "pack");
  o = small_dcgan(32);
  o.g_norm = "instance";
  EXPECT_EQ(test::failing_option([&] { make_generator(o); }), "g_norm");
  o = small_dcgan(32);
  o.g_upsample = "bilinear";
  EXPECT_EQ(test::failing_option([&] { make_generator(o); }), "g_upsample");
  o = small_dcgan(32);
  o.pack = 0;
  EXPECT_EQ(test::failing_option([&] { make_discriminator(o); }), "pack");
  o.pack = 3;  // a batch that is not a multiple of the pack is refused when D sees it
  EXPECT_EQ(test::failing_option([&] { make_discriminator(o)->forward(torch::rand({4, 3, 32, 32})); }), "pack");
}

TEST(GanNets, GeneratorNormAndUpsamplingVariants) {
  torch::manual_seed(5);
  for (const std::string norm : {"batch", "pixel", "none"}) {
    for (const std::string upsample : {"transposed", "nearest"}) {
      SCOPED_TRACE(norm + " " + upsample);
      auto o = small_dcgan(32);
      o.g_norm = norm;
      o.g_upsample = upsample;
      auto g = make_generator(o);
      const at::Tensor image = g->forward(torch::randn({3, 6}));
      EXPECT_EQ(image.sizes(), (std::vector<int64_t>{3, 3, 32, 32}));
      EXPECT_LE(image.abs().max().item<double>(), 1.0);
      image.sum().backward();
      int64_t convs = 0, kernels3 = 0, biases = 0, norm_buffers = 0;
      for (const auto& [name, t] : module_state_dict(*g)) {
        convs += t.dim() == 4;
        kernels3 += t.dim() == 4 && t.size(2) == 3;
        biases += t.dim() == 1 && name.find("bias") != std::string::npos;
        norm_buffers += name.find("running_mean") != std::string::npos;
      }
      for (const auto& p : g->parameters()) EXPECT_TRUE(p.grad().defined());
      EXPECT_EQ(convs, 4);  // 1x1 -> 4x4, then three 2x steps to 32
      EXPECT_EQ(kernels3, upsample == "nearest" ? 3 : 0);  // the 2x steps become 3x3 convs after upsampling
      EXPECT_EQ(norm_buffers, norm == "batch" ? 3 : 0);
      // Batch norm's shift stands in for conv biases; without it every conv has its own.
      EXPECT_EQ(biases, norm == "batch" ? 3 : 4);
      // Nothing couples the samples without batch norm: a sample's image does not depend on the batch.
      if (norm != "batch") {
        torch::NoGradGuard no_grad;
        const at::Tensor z = torch::randn({4, 6});
        EXPECT_TRUE(torch::allclose(g->forward(z).narrow(0, 0, 1), g->forward(z.narrow(0, 0, 1)), 1e-5, 1e-6));
      }
    }
  }
  // Pixel norm: right after it (the second layer), every position's feature vector has unit root
  // mean square over the channels, whatever the scale of z.
  auto o = small_dcgan(32);
  o.g_norm = "pixel";
  auto g = make_generator(o);
  torch::NoGradGuard no_grad;
  auto* main = g->named_children()["main"]->as<torch::nn::SequentialImpl>();
  ASSERT_NE(main, nullptr);
  auto layer = main->begin();
  at::Tensor h = layer->forward(torch::randn({2, 6, 1, 1}) * 7);
  ++layer;
  h = layer->forward(h);
  const at::Tensor rms = h.pow(2).mean(1).sqrt();  // [2,4,4]
  EXPECT_TRUE(torch::allclose(rms, torch::ones_like(rms), 1e-4, 1e-4)) << rms;
}

TEST(GanNets, PackedDiscriminatorJudgesConsecutiveSamplesTogether) {
  torch::manual_seed(6);
  auto o = small_dcgan(32);
  o.d_norm = "none";
  o.pack = 2;
  auto d = make_discriminator(o);
  // The first conv reads pack x channels.
  at::Tensor first;
  for (const auto& [name, t] : module_state_dict(*d))
    if (t.dim() == 4) {
      first = t;
      break;
    }
  EXPECT_EQ(first.size(1), 6);
  torch::NoGradGuard no_grad;
  const at::Tensor x = torch::rand({6, 3, 32, 32}) * 2 - 1;
  const at::Tensor s = d->forward(x);
  EXPECT_EQ(s.sizes(), (std::vector<int64_t>{3}));
  // Score k is that of samples 2k and 2k+1 together: changing sample 3 changes score 1 only.
  at::Tensor y = x.clone();
  y[3].uniform_(-1, 1);
  const at::Tensor t = d->forward(y);
  EXPECT_FLOAT_EQ(t[0].item<float>(), s[0].item<float>());
  EXPECT_NE(t[1].item<float>(), s[1].item<float>());
  EXPECT_FLOAT_EQ(t[2].item<float>(), s[2].item<float>());
  EXPECT_TRUE(torch::allclose(d->forward(x.narrow(0, 2, 2)), s.narrow(0, 1, 1)));
}

TEST(GanNets, MinibatchStddevLetsDSeeTheVarietyOfItsGroup) {
  torch::manual_seed(3);
  auto o = small_dcgan(32);
  o.minibatch_stddev = true;
  auto d = make_discriminator(o);
  d->eval();  // batch norm on running statistics: without the extra channel, samples are independent
  // The last conv reads one more channel than the layer before gives.
  at::Tensor last;  // the last conv weight in module order
  for (const auto& [name, t] : module_state_dict(*d))
    if (t.dim() == 4) last = t;
  ASSERT_TRUE(last.defined());
  EXPECT_EQ(last.size(1), 2 * 4 + 1);

  torch::NoGradGuard no_grad;
  last.select(1, 8).fill_(10);  // the stddev channel's weights: large, so its effect is plain to see
  const at::Tensor a = torch::rand({1, 3, 32, 32}) * 2 - 1;
  const at::Tensor varied = torch::cat({a, torch::rand({3, 3, 32, 32}) * 2 - 1});
  const at::Tensor same = a.expand({4, 3, 32, 32}).contiguous();
  // Sample 0 scores differently in a varied group than among copies of itself...
  EXPECT_GT((d->forward(varied)[0] - d->forward(same)[0]).abs().item<float>(), 1e-4);
  // ...but groups are runs of 4: a second group does not change the first group's scores.
  const at::Tensor eight = torch::cat({varied, torch::rand({4, 3, 32, 32})});
  EXPECT_TRUE(torch::allclose(d->forward(eight).narrow(0, 0, 4), d->forward(varied), 1e-5, 1e-6));
  // Without the option the score of a sample does not depend on the others (in eval mode).
  o.minibatch_stddev = false;
  auto plain = make_discriminator(o);
  plain->eval();
  EXPECT_NEAR(plain->forward(varied)[0].item<float>(), plain->forward(same)[0].item<float>(), 1e-5);
  // Batches that are not a multiple of 4 form one group; a batch of one works.
  EXPECT_EQ(d->forward(torch::rand({3, 3, 32, 32})).sizes(), (std::vector<int64_t>{3}));
  EXPECT_EQ(d->forward(a).sizes(), (std::vector<int64_t>{1}));
}

TEST(GanNets, ResolveDNormRules) {
  EXPECT_EQ(resolve_d_norm("auto", false, "nonsaturating"), "batch");
  EXPECT_EQ(resolve_d_norm("auto", false, "minimax"), "batch");
  EXPECT_EQ(resolve_d_norm("auto", false, "lsgan"), "batch");
  EXPECT_EQ(resolve_d_norm("auto", false, "hinge"), "batch");
  EXPECT_EQ(resolve_d_norm("auto", false, "wgan"), "none");
  EXPECT_EQ(resolve_d_norm("auto", false, "wgangp"), "none");
  EXPECT_EQ(resolve_d_norm("auto", true, "nonsaturating"), "none");
  EXPECT_EQ(resolve_d_norm("auto", true, "hinge"), "none");
  for (const std::string n : {"batch", "layer", "instance", "none"}) {
    EXPECT_EQ(resolve_d_norm(n, false, "wgangp"), n);
    EXPECT_EQ(resolve_d_norm(n, true, "minimax"), n);
  }
  EXPECT_EQ(test::failing_option([] { resolve_d_norm("group", false, "minimax"); }), "d_norm");
  const std::string msg = test::expect_error<OptionError>([] { resolve_d_norm("bn", false, "minimax"); });
  EXPECT_NE(msg.find("batch, layer, instance, none, auto"), std::string::npos) << msg;
  EXPECT_EQ(gan_arch_names(), (std::vector<std::string>{"dcgan", "fastgan", "mlp"}));
}

TEST(GanNets, DcganInitStatistics) {
  torch::manual_seed(4);
  auto o = small_dcgan(64);
  o.g_width = 16;
  o.d_width = 16;
  o.d_norm = "batch";
  auto g = make_generator(o);
  auto d = make_discriminator(o);
  for (auto* net : {static_cast<torch::nn::Module*>(g.get()), static_cast<torch::nn::Module*>(d.get())}) {
    std::vector<at::Tensor> conv, bn_w, bn_b;
    for (const auto& item : net->named_parameters()) {
      const auto& t = item.value();
      if (t.dim() == 4) conv.push_back(t.flatten());
      else if (item.key().find("weight") != std::string::npos) bn_w.push_back(t);
      else bn_b.push_back(t);
    }
    const auto c = torch::cat(conv), w = torch::cat(bn_w), b = torch::cat(bn_b);
    EXPECT_NEAR(c.mean().item<double>(), 0.0, 2e-3);
    EXPECT_NEAR(c.std().item<double>(), 0.02, 1e-3);
    EXPECT_NEAR(w.mean().item<double>(), 1.0, 5e-3);
    EXPECT_NEAR(w.std().item<double>(), 0.02, 5e-3);
    EXPECT_EQ(b.abs().max().item<double>(), 0.0);
  }
}

TEST(SpectralNorm, PowerIterationConvergesToLargestSingularValue) {
  torch::manual_seed(5);
  SNConv2d conv(torch::nn::Conv2dOptions(8, 16, 3));
  const at::Tensor w_mat = conv->weight_orig.detach().reshape({16, -1});
  const double largest = torch::linalg::svdvals(w_mat, c10::nullopt)[0].item<double>();
  conv->train();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({1, 8, 5, 5});
  for (int i = 0; i < 300; ++i) conv->forward(x);  // one power-iteration step per training forward
  const double sigma = torch::dot(conv->weight_u, torch::mv(w_mat, conv->weight_v)).item<double>();
  EXPECT_NEAR(sigma / largest, 1.0, 1e-3);
  // The normalised weight then has spectral norm 1.
  at::Tensor u = conv->weight_u.clone(), v = conv->weight_v.clone();
  const at::Tensor normalised = spectral_normalise(conv->weight_orig, u, v, false);
  EXPECT_NEAR(torch::linalg::svdvals(normalised.reshape({16, -1}), c10::nullopt)[0].item<double>(), 1.0, 1e-3);

  // The functional form with many iterations at once, on a linear weight.
  at::Tensor w = torch::randn({7, 11});
  at::Tensor u2 = torch::randn({7}), v2 = torch::randn({11});
  u2 /= u2.norm();
  v2 /= v2.norm();
  const at::Tensor wn = spectral_normalise(w, u2, v2, true, 500);
  EXPECT_NEAR((torch::linalg::svdvals(w, c10::nullopt)[0] / (w / wn).mean()).item<double>(), 1.0, 1e-3);
}

TEST(SpectralNorm, TrainUpdatesEvalDoesNotAndTwoForwardsBackpropagate) {
  torch::manual_seed(6);
  SNLinear linear(torch::nn::LinearOptions(5, 3));
  const auto u0 = linear->weight_u.clone();
  linear->eval();
  {
    torch::NoGradGuard no_grad;
    linear->forward(torch::randn({2, 5}));
  }
  EXPECT_TRUE(torch::equal(u0, linear->weight_u));
  linear->train();
  // D(real) and D(fake) in two forwards, then one backward: the second forward's in-place update of
  // u and v must not invalidate the first graph (hence the clones).
  auto a = linear->forward(torch::randn({2, 5}));
  auto b = linear->forward(torch::randn({2, 5}));
  EXPECT_FALSE(torch::equal(u0, linear->weight_u));
  EXPECT_NO_THROW((a.sum() - b.sum()).backward());
  EXPECT_TRUE(linear->weight_orig.grad().defined());
  EXPECT_FALSE(linear->weight_u.requires_grad());
}

// Latent categories (InfoGAN): D's second head reads K logits from each generated image; the latent
// sampler puts a one-hot code in the first K coordinates and leaves the noise as it was.
TEST(GanNets, LatentCategoriesAddACategoryHeadAndOneHotLatents) {
  torch::manual_seed(0);
  GanNetOptions o;
  o.arch = "fastgan";
  o.size = 32;
  o.z_dim = 8;
  o.g_width = 2;
  o.d_width = 2;
  o.d_norm = "none";
  o.categories = 3;
  auto g = make_generator(o);
  auto d = make_discriminator(o);
  const at::Tensor z = sample_gan_latents(o, 300, 0, 9);
  ASSERT_EQ(z.sizes(), (std::vector<int64_t>{300, 8}));
  const at::Tensor code = z.narrow(1, 0, 3);
  EXPECT_TRUE(((code == 0) | (code == 1)).all().item<bool>());
  EXPECT_TRUE((code.sum(1) == 1).all().item<bool>());
  // The noise part is sample_latents' draw for the same seed; the categories are about uniform.
  EXPECT_TRUE(z.narrow(1, 3, 5).equal(sample_latents(300, 8, 0, 9).narrow(1, 3, 5)));
  const at::Tensor share = code.mean(0);
  for (int64_t k = 0; k < 3; ++k) {
    EXPECT_GT(share[k].item<double>(), 0.25) << k;
    EXPECT_LT(share[k].item<double>(), 0.42) << k;
  }
  const at::Tensor fixed = sample_gan_latents(o, 5, 0, 9, 2);
  EXPECT_TRUE((fixed.narrow(1, 2, 1) == 1).all().item<bool>());
  EXPECT_EQ(fixed.narrow(1, 0, 3).sum().item<double>(), 5.0);
  EXPECT_EQ(test::failing_option([&] { sample_gan_latents(o, 2, 0, 9, 3); }), "category");
  GanNetOptions plain = o;
  plain.categories = 0;
  EXPECT_TRUE(sample_gan_latents(plain, 4, 0, 9).equal(sample_latents(4, 8, 0, 9)));
  EXPECT_EQ(test::failing_option([&] { sample_gan_latents(plain, 2, 0, 9, 0); }), "category");

  at::Tensor image;
  {
    torch::NoGradGuard no_grad;
    image = g->forward(z.narrow(0, 0, 4));
  }
  const auto judged = d->judge_fake(image);
  EXPECT_EQ(judged.scores.sizes(), (std::vector<int64_t>{4}));
  ASSERT_TRUE(judged.category_logits.defined());
  EXPECT_EQ(judged.category_logits.sizes(), (std::vector<int64_t>{4, 3}));
  // The score head is the one forward() uses.
  EXPECT_TRUE(torch::allclose(judged.scores, d->forward(image), 1e-5, 1e-6));
  EXPECT_FALSE(make_discriminator(plain)->judge_fake(image).category_logits.defined());
  // The read-back head learns to tell images apart by their code (here: images whose code k makes
  // channel k brighter, under noise).
  torch::optim::Adam adam(d->parameters(), torch::optim::AdamOptions(3e-3));
  const at::Tensor labels = code.argmax(1).narrow(0, 0, 64);
  const at::Tensor images = (0.2 * torch::randn({64, 3, 32, 32}) +
                             0.5 * at::one_hot(labels, 3).to(at::kFloat).view({64, 3, 1, 1})).clamp(-1, 1);
  double first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    const at::Tensor loss = torch::nn::functional::cross_entropy(d->judge_fake(images).category_logits, labels);
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
    adam.zero_grad();
    loss.backward();
    adam.step();
  }
  EXPECT_LT(last, 0.5 * first) << first << " -> " << last;

  GanNetOptions bad = o;
  bad.categories = 1;
  EXPECT_EQ(test::failing_option([&] { make_generator(bad); }), "categories");
  bad.categories = 8;  // = z_dim: no noise left
  EXPECT_EQ(test::failing_option([&] { make_discriminator(bad); }), "categories");
  bad.categories = -1;
  EXPECT_EQ(test::failing_option([&] { make_generator(bad); }), "categories");
  bad = small_dcgan(32);
  bad.categories = 4;
  EXPECT_EQ(test::failing_option([&] { make_discriminator(bad); }), "categories");
}
