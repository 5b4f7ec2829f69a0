#pragma once
// Generators and discriminators for GAN training, chosen by name (`arch`).
//
//   dcgan  Radford, Metz, Chintala 2015: G maps z [N, z_dim] through a 4x4 transposed conv and
//          stride-2 transposed convs (kernel 4) with batch norm and ReLU to tanh images [N,C,S,S]
//          in [-1,1]; D mirrors it with stride-2 convs and LeakyReLU(0.2) down to 4x4 and a final
//          4x4 conv to one score. S in {32, 64, 128, 256}; widths double per level from `g_width`
//          / `d_width` at the image end, capped at 8x.
//   fastgan  FastGAN's G (skip-layer excitation, GLU) and self-supervised D for small collections
//          (nn/fastgan.h), 32-256 px.
//   mlp    fully connected G and D on flat vectors (e.g. the 2-D ring of Gaussians): `mlp_layers`
//          hidden layers of `mlp_hidden` units with ReLU (G) / LeakyReLU(0.2) (D).
//
// The discriminator's normalisation (`d_norm`): batch | layer | instance | none | auto. `auto` is
// none with spectral norm or with wgan/wgangp's critic (the gradient penalty is per sample, so
// Gulrajani et al. use no batch norm), batch norm otherwise, as in DCGAN. The trainer resolves auto
// before building (see resolve_d_norm); make_discriminator resolves a remaining auto without a loss
// (batch, or none with spectral norm). The mlp discriminator has no normalisation layers (d_norm is
// checked, not applied).
//
// `minibatch_stddev` (dcgan only; Karras et al. 2018, "Progressive Growing of GANs", sec. 3) adds
// one channel to the input of D's last conv: the standard deviation of the 4x4 features across
// groups of 4 samples (the whole batch when it is not a multiple of 4), averaged to one number per
// group. D can then see a lack of variety in a batch, which counters mode collapse. The last conv
// has one more input channel, so example checkpoints no longer fit.
//
// `g_norm` (dcgan G): batch (DCGAN), pixel (pixelwise feature normalisation, Karras et al. 2018,
// sec. 4.2: each position's channel vector scaled to unit RMS; no parameters, no coupling between
// samples, so G behaves the same in train and eval mode and an EMA of its weights needs no batch
// statistics) or none. Without batch norm G's convs have biases. `g_upsample` (dcgan G): transposed
// (stride-2 4x4 transposed convs, DCGAN) or nearest (2x nearest-neighbour upsampling then a 3x3 conv,
// Odena, Dumoulin, Olah 2016, against checkerboard artefacts); the first layer (z -> 4x4) stays a
// transposed conv.
//
// `pack` (dcgan D; Lin, Khetan, Fanti, Oh 2018, "PacGAN"): D judges `pack` consecutive samples at once,
// concatenated along the channels, and returns one score per pack ([N / pack]); batches must be a
// multiple of it. A packed D sees the joint distribution of `pack` independent samples, which
// penalises a generator that drops modes. Real and fake batches are packed alike.
//
// Module names follow pytorch/examples dcgan/main.py (`main.N...`; the trailing Sigmoid of its netD
// is left out, D returns logits), so its netG/netD checkpoints load 1:1 at size 64; with d_norm none
// the norm layers are absent and the indices close up. Spectral norm replaces each D layer by
// SNConv2d / SNLinear (keys `main.N.weight_orig`, `weight_u`, `weight_v`). The mlp nets are a
// Sequential `net`.
//
// `categories` K > 0 (fastgan; Chen et al. 2016, "InfoGAN", sec. 5): the first K of G's z_dim latent
// coordinates are a one-hot code (a category drawn uniformly) instead of noise, and D has a second
// head (`category`: a 4x4 conv over its 8x8 features to K logits, averaged over the 5x5 map like the
// score) that reads the code back from a generated image. The trainer adds the cross-entropy of that
// read-back to D's and G's losses (a lower bound on the mutual information between code and image),
// so G must make K images told apart by their code: data made of separate kinds (digits, subjects)
// gets one kind per category instead of a continuum with in-between pictures. G is unchanged (the
// code enters as latent coordinates), so only latent sampling (nn/gan_model.h) needs to know K.
#include <ATen/core/Generator.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace impasto {

struct GanNetOptions {
  std::string arch = "dcgan";  // dcgan | fastgan | mlp
  int64_t size = 64;           // dcgan: image side (32, 64, 128, 256)
  int64_t channels = 3;        // dcgan: image channels
  int64_t data_dim = 2;        // mlp: sample dimension
  int64_t z_dim = 100;
  int64_t g_width = 64;        // dcgan: channels at the image end of G (ngf)
  int64_t d_width = 64;        // dcgan: channels at the image end of D (ndf)
  std::string d_norm = "auto"; // batch | layer | instance | none | auto
  bool spectral_norm = false;  // in every D layer
  bool minibatch_stddev = false;  // dcgan: batch-variety channel before D's last conv
  std::string g_norm = "batch";   // dcgan G: batch | pixel | none
  std::string g_upsample = "transposed";  // dcgan G: transposed | nearest (upsample + 3x3 conv)
  int64_t pack = 1;               // dcgan D: samples judged together (PacGAN); 1 = one at a time
  int64_t mlp_hidden = 128;
  int64_t mlp_layers = 3;
  int64_t categories = 0;         // fastgan: latent categories (above); 0 = none, else 2..z_dim-1
};

// `auto` -> concrete, given the objective's name (see above). Other names are checked and returned.
std::string resolve_d_norm(const std::string& d_norm, bool spectral_norm, const std::string& loss);

// Shape of one sample the generator produces: {C,S,S} for dcgan, {data_dim} for mlp.
std::vector<int64_t> sample_shape(const GanNetOptions& options);

class GeneratorImpl : public torch::nn::Module {
 public:
  virtual at::Tensor forward(const at::Tensor& z) = 0;  // [N, z_dim] -> [N, sample_shape...]
  int64_t z_dim = 0;
};

class DiscriminatorImpl : public torch::nn::Module {
 public:
  virtual at::Tensor forward(const at::Tensor& x) = 0;  // [N, sample_shape...] -> [N / pack] scores
  // Real images: the scores and, for a self-supervised D (fastgan), the loss of rebuilding the
  // images from D's own features (`generator` picks the crop), else an undefined tensor.
  struct RealJudgement {
    at::Tensor scores;
    at::Tensor reconstruction_loss;
  };
  virtual RealJudgement judge_real(const at::Tensor& x, at::Generator& /*generator*/) { return {forward(x), {}}; }
  // Generated images: the scores and, with latent categories, D's read-back of the code as logits
  // [N, categories] (else an undefined tensor).
  struct FakeJudgement {
    at::Tensor scores;
    at::Tensor category_logits;
  };
  virtual FakeJudgement judge_fake(const at::Tensor& x) { return {forward(x), {}}; }
};

// Throws OptionError naming the bad option (arch, size, d_norm, widths).
std::shared_ptr<GeneratorImpl> make_generator(const GanNetOptions& options);
std::shared_ptr<DiscriminatorImpl> make_discriminator(const GanNetOptions& options);

// DCGAN's initialisation (Radford et al. sec. 4): conv weights N(0, 0.02), batch-norm weights
// N(1, 0.02) and biases 0. Applied by make_* to dcgan nets.
void dcgan_init(torch::nn::Module& module);

std::vector<std::string> gan_arch_names();

// Karras et al. 2018 ("Progressive Growing of GANs", sec. 4.2), pixelwise feature vector
// normalisation (g_norm pixel): each position's feature vector [N,C,H,W] scaled to unit
// root-mean-square over the channels, b = a / sqrt(mean_c(a^2) + 1e-8). No parameters, and no
// coupling between samples.
at::Tensor pixel_norm(const at::Tensor& x);

}  // namespace impasto
