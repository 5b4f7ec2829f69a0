#pragma once
// A trained generator, loaded for generation (and later for explanation): from a GAN run folder
// (its checkpoints/latest.ckpt) or one of its checkpoint files. The checkpoint's `nets` metadata
// says how to build G; the EMA weights are used when present unless asked otherwise.
#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <string>

#include "impasto/core/json_options.h"
#include "impasto/io/weights.h"
#include "impasto/nn/gan_nets.h"

namespace impasto {

Json to_json(const GanNetOptions& options);
// Strict (unknown keys throw OptionError).
GanNetOptions gan_net_options_from_json(const Json& json);

struct GanModel {
  GanNetOptions nets;
  std::shared_ptr<GeneratorImpl> generator;  // eval mode, on the requested device
  int64_t step = 0;     // training step of the checkpoint
  bool ema = false;     // whether the EMA weights were loaded
  std::string source;   // the checkpoint file
};

// The checkpoint `path` names: a .ckpt file itself; for a folder, the generator.ckpt a run exports
// with every checkpoint (the EMA generator alone, a fraction of the training checkpoint's bytes; a
// folder holding only that is a trained generator to share), else, or when the raw weights are
// wanted (`prefer_ema` false), the run's checkpoints/latest.ckpt; `builtin-<folder>` (no such file
// here) names a GAN impasto ships, models/<folder>/generator.ckpt (the service offers it under that
// name). FileError when a folder holds neither.
std::string gan_checkpoint_file(const std::string& path, bool prefer_ema = true);

// `path`: a run folder (see gan_checkpoint_file) or a .ckpt file. FileError when missing, FormatError when it is not a GAN
// checkpoint (naming what is missing).
GanModel load_gan_model(const std::string& path, bool prefer_ema = true, c10::Device device = c10::kCPU);

// Checkpoint tensors under `prefix` + "." with the prefix removed (e.g. "G_ema").
StateDict sub_state_dict(const StateDict& dict, const std::string& prefix);

// Latent vectors [n, z_dim] ~ N(0, I), deterministic for `seed`. With truncation t > 0, every
// coordinate with |z| > t is redrawn until it is inside (the truncation trick of Brock, Donahue,
// Simonyan 2018): less variety, higher fidelity.
at::Tensor sample_latents(int64_t n, int64_t z_dim, double truncation, uint64_t seed);

// Latents for the generator `nets` describes: sample_latents, and with latent categories
// (GanNetOptions::categories, nn/gan_nets.h) the first K coordinates replaced by the one-hot code of a
// category drawn uniformly (from the seed too), or of `category` for every row when it is >= 0
// (OptionError `category` when it is not below K, or when the generator has no categories).
at::Tensor sample_gan_latents(const GanNetOptions& nets, int64_t n, double truncation, uint64_t seed, int64_t category = -1);

// Writes the one-hot codes of `categories` ([N] int64, each in 0..K-1) into the first K columns of
// `z` [N, z_dim].
void set_latent_categories(at::Tensor& z, const at::Tensor& categories, int64_t K);

// Spherical interpolation between latents a and b ([z_dim] or [N,z_dim]) at t in [0,1] (White 2016,
// "Sampling Generative Networks": Gaussian latents concentrate near a sphere, so slerp stays where
// G was trained while a straight line passes through the low-norm interior).
at::Tensor slerp(const at::Tensor& a, const at::Tensor& b, double t);

// Runs G without gradients on latents `z` and returns canonical images [N,C,H,W] in [0,1] (G's tanh
// range mapped), or the raw samples [N,D] for non-image generators.
at::Tensor generate(GanModel& model, const at::Tensor& z);

// The GAN range [-1,1] <-> the canonical image range [0,1].
at::Tensor to_gan_range(const at::Tensor& image);
at::Tensor from_gan_range(const at::Tensor& image);

}  // namespace impasto
