#pragma once
// Colour handling for style transfer (Gatys, Bethge, Hertzmann, Shechtman 2016, "Preserving Color
// in Neural Artistic Style Transfer").
#include <ATen/core/Tensor.h>

namespace impasto {

// RGB <-> YIQ (NTSC). Y is luminance; I and Q carry the chroma.
at::Tensor rgb_to_yiq(const at::Tensor& rgb);
at::Tensor yiq_to_rgb(const at::Tensor& yiq);

// Luminance-only transfer, step 1: the style's luminance with its mean and standard deviation
// matched to the content's luminance (the paper's luminance histogram matching), as a grey RGB image.
at::Tensor matched_luminance(const at::Tensor& style_rgb, const at::Tensor& content_rgb);
// The luminance of an RGB image as a grey RGB image.
at::Tensor grey_luminance(const at::Tensor& rgb);
// Luminance-only transfer, last step: Y from `stylized`, I and Q from `content`, back to RGB.
at::Tensor combine_luminance(const at::Tensor& stylized, const at::Tensor& content);

// Colour histogram matching: an affine map x -> A (x - mu_s) + mu_c of the style's pixels such that
// their mean and covariance equal the content's, with A = Sigma_c^{1/2} Sigma_s^{-1/2} (symmetric
// square roots; the "image analogies" variant of the paper's section 2.1). Output clamped to [0,1].
at::Tensor match_color_statistics(const at::Tensor& style_rgb, const at::Tensor& content_rgb);

}  // namespace impasto
