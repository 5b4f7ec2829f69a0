#pragma once
// Style images made by a trained GAN (the first pipeline of this project: train a GAN on a
// collection of paintings, let its generator paint new pictures in that collection's manner, and
// transfer those): `count` pictures of a GAN run's generator (nn/gan_model.h: the EMA weights when
// the run has them) from latents drawn for `seed`, or from the rows of a latent file, with the record
// a summary needs to make the same pictures again.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <string>
#include <vector>

#include "impasto/core/json_options.h"

namespace impasto {

class ResourceCache;

struct GanStyleOptions {
  std::string run;        // a GAN run folder or checkpoint; "" = no generated styles
  uint64_t seed = 0;      // latents ~ N(0, I) for this seed (nn/gan_model.h sample_latents) ...
  std::string latents;    // ... or a JSON file: [[z...], ...], {"latents": [[...]]}, or a stylization
                          //     summary whose "style_gan" holds them (to repeat a result's styles)
  int64_t count = 1;      // pictures, each a style image (blended like several style files)
  double truncation = 0;  // the truncation trick for drawn latents (0 = off)
  int64_t category = -1;  // for a GAN trained with latent categories: drawn latents of this one (-1 = drawn too)

  bool enabled() const { return !run.empty(); }
};

struct GanStyles {
  std::vector<at::Tensor> images;  // canonical [1,3,H,W] (grey generators repeated to RGB)
  Json record;  // run, checkpoint, step, ema, seed or latents file, truncation, count, latents
};

// OptionError naming style_gan / style_count / style_latent / style_truncation / style_category for bad options;
// FileError / FormatError for a missing or unreadable run or latent file (naming it), also for a
// run whose generator makes points, not pictures, and for latents of the wrong dimension.
void check_gan_style_options(const GanStyleOptions& options);
// With a cache, the generator is loaded once per checkpoint version and shared (a server's requests).
GanStyles generate_gan_styles(const GanStyleOptions& options, c10::Device device = c10::kCPU, ResourceCache* cache = nullptr);

}  // namespace impasto
