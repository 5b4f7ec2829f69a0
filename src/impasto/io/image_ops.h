#pragma once
// Small operations on canonical image tensors (float32 [N,C,H,W]).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>

namespace impasto {

// Resamples to height x width: antialiased bilinear when shrinking, bicubic (clamped) when growing.
at::Tensor resize_image(const at::Tensor& image, int64_t height, int64_t width);

// The size whose longer side is `longest` with the aspect ratio of height x width (each side >= 1).
std::pair<int64_t, int64_t> fit_longest_side(int64_t height, int64_t width, int64_t longest);

// Mean of the channels: [N,C,H,W] -> [N,1,H,W] (for masks given as images).
at::Tensor to_single_channel(const at::Tensor& image);

}  // namespace impasto
