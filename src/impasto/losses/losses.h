#pragma once
// Perceptual losses for style transfer (Gatys, Ecker, Bethge 2015, "A Neural Algorithm of Artistic
// Style"; Johnson, Alahi, Fei-Fei 2016 for the mean-squared variants).
//
// Notation: F is a layer's feature map [N,C,H,W] for the image being optimised, P the same layer
// for the content image, M = H*W the number of locations. Gram matrices here are per location,
//     G^ = F F^T / M            ([N,C,C]; with a spatial mask m: (F m)(F m)^T / sum(m^2)),
// so that a Gram from a style image of another size is comparable. Three normalisations:
//   "gatys"   content 1/2 sum (F-P)^2;  style 1/(4 C^2) sum (G^ - A^)^2, which equals the paper's
//             1/(4 C^2 M^2) sum (G - A)^2 on raw Grams when both images have the same size.
//   "mse"     content mean (F-P)^2;     style mean over C^2 entries of (G^/C - A^/C)^2 (neural-style,
//             fast-neural-style: Gram divided by C*H*W, mean-squared error).
//   "energy"  content sum (F-P)^2 / sum P^2;  style sum (G^ - A^)^2 / sum A^2: relative errors, free
//             of the activation scale (the default: it makes weights transfer between backbones,
//             random-weight ones included).
#include <ATen/core/Tensor.h>

#include <string>

namespace impasto {

enum class LossNormalisation { gatys, mse, energy };

// Throws OptionError("normalisation") for an unknown name.
LossNormalisation parse_normalisation(const std::string& name);
std::string to_string(LossNormalisation n);

// Per-location Gram matrix G^ [N,C,C]. `mask` ([N or 1,1,H,W], optional) weights locations.
at::Tensor gram_matrix(const at::Tensor& features, const at::Tensor& mask = {});

at::Tensor content_loss(const at::Tensor& features, const at::Tensor& target, LossNormalisation norm);

// `gram` and `target_gram` are per-location Grams of `channels` channels.
at::Tensor style_loss(const at::Tensor& gram, const at::Tensor& target_gram, LossNormalisation norm);

// style_loss(gram_matrix(features), target_gram, norm) as one autograd node: the same value, and the
// gradient in closed form. With D = G^ - A^, k the normalisation's factor (L = k sum D^2) and M = H*W,
//     dL/dF = (2k / M) (D + D^T) F,
// one [C,C] x [C,M] product where autograd's Gram backward takes two and adds their results (the
// Gram's share of an optimisation step falls by a third). The products run through nn/matmul.h
// (oneDNN). Features may be bf16 (a bf16 backbone's): the Gram and the loss are float32, the
// gradient bf16. First derivatives only; a target that requires grad takes the composed path.
at::Tensor fused_style_loss(const at::Tensor& features, const at::Tensor& target_gram, LossNormalisation norm);

// Total variation (squared, the smooth form used by neural-style):
//   ( sum (x[i+1,j] - x[i,j])^2 + sum (x[i,j+1] - x[i,j])^2 ) / (N*C*H*W).
at::Tensor tv_loss(const at::Tensor& image);

}  // namespace impasto
