#pragma once
// Differentiable augmentation (Zhao, Liu, Lin, Zhu, Han 2020, "Differentiable Augmentation for
// Data-Efficient GAN Training"): the same random colour, translation and cutout transforms applied
// to real and generated images before the discriminator, differentiable w.r.t. the images so the
// generator learns through them. Images are in the GAN range [-1,1] ([N,C,H,W]).
//   color        brightness + U(-0.5,0.5); saturation: (x - mean_c) * U(0,2) + mean_c;
//                contrast: (x - mean) * U(0.5,1.5) + mean  (per sample)
//   translation  shift by up to 1/8 of the side in x and y, zero padding (per sample)
//   cutout       a zeroed square of half the side at a random place (per sample)
// and two that change what an image shows more than its style, for what must not depend on colour
// (the trainer's info_augment, train/gan_trainer.h), not for D's real/fake judgement:
//   hue          the colours rotated about the grey axis by U(-pi, pi) (3-channel images)
//   invert       x -> -x (dark <-> light) for half of the samples
#include <ATen/core/Tensor.h>
#include <ATen/core/Generator.h>

#include <string>
#include <vector>

namespace impasto {

// Parses "color,translation,cutout" (any subset, any order; "" = none). Throws OptionError(option).
std::vector<std::string> parse_diff_augment(const std::string& policy, const std::string& option = "diffaug");

// Applies the policy's transforms in order, drawing from `generator` (so callers decide what is
// random: the trainer seeds one per step and uses it for real and fake batches alike).
at::Tensor diff_augment(const at::Tensor& images, const std::vector<std::string>& policy, at::Generator& generator);

}  // namespace impasto
