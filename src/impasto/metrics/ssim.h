#pragma once
// SSIM, the structural similarity index (Wang, Bovik, Sheikh, Simoncelli 2004, "Image Quality
// Assessment: From Error Visibility to Structural Similarity", eq. 13):
//     SSIM(x, y) = (2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2))
// with local statistics under an 11x11 Gaussian window (sigma 1.5; the separable 1-D weights
// exp(-t^2 / (2 sigma^2)), t = -5..5, normalised to sum 1), population (not sample) variances,
// C1 = (0.01 L)^2, C2 = (0.03 L)^2 with the data range L = 1 for canonical images, and the mean of
// the SSIM map as the score. Used here for content fidelity: how much of the content image's
// structure a stylized image keeps.
//
// Defaults, and the reference they match: scikit-image's
//     structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
//                           data_range=1)
// on the luminance image (the default `channels = luminance`: BT.601 Y = 0.299 R + 0.587 G + 0.114 B,
// as in Wang et al.'s greyscale evaluation and as style transfer changes colours on purpose) or, with
// `channels = rgb`, per channel and averaged (scikit-image's channel_axis). The default
// `region = valid` averages the map only where the whole window lies inside the image (the map is
// 10 pixels smaller in each dimension): scikit-image crops exactly this border, so its result does not
// depend on its padding mode, and Wang et al.'s MATLAB code filters with 'valid'. `region = same`
// instead averages over every pixel, with the statistics near the border taken from a symmetric
// (half-sample: d c b a | a b c d) extension by 5 pixels (scipy.ndimage's 'reflect').
// Computed in float64.
#include <ATen/core/Tensor.h>

#include <string>

namespace impasto {

struct SsimOptions {
  std::string channels = "luminance";  // luminance | rgb
  std::string region = "valid";        // valid | same
  double data_range = 1.0;             // L: 1 for canonical [0,1] images
};

// SSIM per image [N] (float64) of two image batches of one shape [N,C,H,W], C = 1 or 3 (luminance
// needs 3 or uses the single channel), H, W >= 11. OptionError("images") for mismatched or too
// small images; OptionError naming the option for a bad option value.
at::Tensor ssim(const at::Tensor& x, const at::Tensor& y, const SsimOptions& options = {});

// The SSIM map [N, C', H', W'] (float64): C' = 1 for luminance, C for rgb; H' = H - 10, W' = W - 10
// for valid, H, W for same.
at::Tensor ssim_map(const at::Tensor& x, const at::Tensor& y, const SsimOptions& options = {});

// PSNR in dB, 10 log10(L^2 / MSE), of two tensors of one shape over all their values (float64;
// infinity when they are equal), with L the data range (1 for canonical images). Used for the
// reduced-precision paths' error against the exact one (nn/precision.h). OptionError("images") for
// different shapes.
double psnr(const at::Tensor& x, const at::Tensor& y, double data_range = 1.0);

}  // namespace impasto
