// Golden tests: impasto's DCGAN generator and discriminator load pytorch/examples dcgan/main.py
// checkpoints (netG/netD state dicts at imageSize 64, nz 8, ngf = ndf = 4, written by
// tools/make_gan_fixtures.py) key for key and reproduce PyTorch's outputs within 1e-4; the spectral-norm
// discriminator matches torch.nn.utils.spectral_norm layers; seeded construction reproduces PyTorch's
// seeded construction + weights_init.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <set>

#include "impasto/io/weights.h"
#include "impasto/nn/backbone.h"
#include "impasto/nn/gan_nets.h"
#include "tensor_support.h"
#include "test_support.h"

using namespace impasto;
using namespace impasto::test;

namespace {

constexpr double kTolerance = 1e-4;

GanNetOptions example_options() {
  GanNetOptions o;
  o.arch = "dcgan";
  o.size = 64;
  o.channels = 3;
  o.z_dim = 8;
  o.g_width = 4;
  o.d_width = 4;
  o.d_norm = "batch";
  return o;
}

// Compares (sum, sum of squares, first element) of every floating-point entry of `module` with the
// fingerprints stored under `prefix` (PyTorch's seeded construction + weights_init).
void expect_same_init(const torch::nn::Module& module, const std::map<std::string, at::Tensor>& ref,
                      const std::string& prefix) {
  int compared = 0;
  for (const auto& [key, t] : module_state_dict(module)) {
    if (!t.is_floating_point()) continue;
    auto it = ref.find(prefix + key);
    ASSERT_NE(it, ref.end()) << key;
    const auto d = t.to(torch::kFloat64).flatten();
    const auto got = torch::stack({d.sum(), d.pow(2).sum(), d[0]});
    const double err = ((got - it->second).abs() / (1 + it->second.abs())).max().item<double>();
    EXPECT_LE(err, 1e-5) << key << " got " << got << " expected " << it->second;
    ++compared;
  }
  EXPECT_GT(compared, 0);
}

}  // namespace

TEST(GanNets, DcganExampleCheckpointsLoadKeyForKeyAndMatchOutputs) {
  const auto o = example_options();
  auto g = make_generator(o);
  auto d = make_discriminator(o);
  const StateDict g_file = load_pth(fixture("gan/dcgan64_w4_G.pth"));
  const StateDict d_file = load_pth(fixture("gan/dcgan64_w4_D.pth"));
  EXPECT_EQ(keys_of(module_state_dict(*g)), keys_of(g_file));
  EXPECT_EQ(keys_of(module_state_dict(*d)), keys_of(d_file));
  load_state_dict(*g, g_file, "netG");
  load_state_dict(*d, d_file, "netD");
  auto ref = load_fixture_map("gan/dcgan64_w4_ref.pth");

  torch::NoGradGuard no_grad;
  g->eval();
  d->eval();
  const at::Tensor image = g->forward(ref.at("z"));
  EXPECT_LE(max_error(image, ref.at("G_eval")), kTolerance);
  const at::Tensor& fixed = ref.at("G_eval");  // D is compared on the same batch as PyTorch's
  EXPECT_LE(max_error(d->forward(fixed), ref.at("D_eval_logits")), kTolerance);
  d->train();
  EXPECT_LE(max_error(d->forward(fixed), ref.at("D_train_logits")), kTolerance);
}

TEST(GanNets, SeededDcganInitMatchesExampleWeightsInit) {
  auto ref = load_fixture_map("gan/dcgan64_w4_ref.pth");
  const auto o = example_options();
  torch::manual_seed(ref.at("seed_G").item<int64_t>());
  auto g = make_generator(o);
  expect_same_init(*g, ref, "init.G.");
  torch::manual_seed(ref.at("seed_D").item<int64_t>());
  auto d = make_discriminator(o);
  expect_same_init(*d, ref, "init.D.");
}

TEST(GanNets, SpectralNormDiscriminatorMatchesPyTorch) {
  GanNetOptions o = example_options();
  o.size = 32;
  o.spectral_norm = true;
  o.d_norm = resolve_d_norm("auto", true, "hinge");
  ASSERT_EQ(o.d_norm, "none");
  auto ref = load_fixture_map("gan/dcgan32_w4_snD_ref.pth");
  const StateDict file = load_pth(fixture("gan/dcgan32_w4_snD.pth"));

  // Seeded construction + dcgan_init reproduces PyTorch's (conv init, u, v, then weights_init).
  torch::manual_seed(ref.at("seed").item<int64_t>());
  auto d = make_discriminator(o);
  const StateDict mine = module_state_dict(*d);
  EXPECT_EQ(keys_of(mine), keys_of(file));
  for (const auto& [key, t] : file) {
    const at::Tensor* m = find_tensor(mine, key);
    ASSERT_NE(m, nullptr) << key;
    EXPECT_LE(max_error(*m, t), 1e-6) << key;
  }

  load_state_dict(*d, file, "dcgan32_w4_snD.pth");
  torch::NoGradGuard no_grad;
  d->train();
  EXPECT_LE(max_error(d->forward(ref.at("x")), ref.at("train_logits")), kTolerance);
  const StateDict after = module_state_dict(*d);
  int buffers = 0;
  for (const auto& [key, t] : ref) {
    if (key.rfind("after.", 0) != 0) continue;
    const at::Tensor* m = find_tensor(after, key.substr(6));
    ASSERT_NE(m, nullptr) << key;
    EXPECT_LE(max_error(*m, t), 1e-5) << key;
    ++buffers;
  }
  EXPECT_EQ(buffers, 8);  // weight_u and weight_v of four convs
  d->eval();
  EXPECT_LE(max_error(d->forward(ref.at("x")), ref.at("eval_logits")), kTolerance);
}
