#pragma once
// Synthetic pictures for demos and tests: no download, deterministic for a seed.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace impasto {

// A photo-like landscape: sky gradient, sun, mountains, hills, a house and a tree, with fine grain.
at::Tensor synthetic_landscape(int64_t height, int64_t width, uint64_t seed = 0);

// A painting-like texture: thousands of curved brush strokes that follow swirling flow lines, in a
// night-sky palette (deep blues, cobalt, teal, yellow stars), on a dark ground.
at::Tensor synthetic_painting(int64_t height, int64_t width, uint64_t seed = 0);

}  // namespace impasto
