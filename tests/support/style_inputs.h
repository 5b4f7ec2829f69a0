#pragma once
// Inputs shared by the stylization tests.
#include <ATen/core/Tensor.h>

#include <cstdint>

#include "impasto/nn/transformer_net.h"
#include "impasto/style/method.h"

namespace impasto::test {

// The built-in synthetic landscape (seed 1) as content and synthetic painting (seed 2) as the one
// style, both size x size.
StylizeInputs landscape_and_painting(int64_t size);

// A photo-like picture (the synthetic landscape) in 8-bit steps, as a decoded photo is (a network's
// x 255 then gives integers, which bf16 holds exactly up to 256).
at::Tensor photo(int64_t h, int64_t w, uint64_t seed);

// A TransformerNet at the published width (32, 5 blocks) with seeded random weights, its last layer
// scaled so that its output spans the image range like a trained network's (random weights alone
// give an almost flat grey picture, on which any reduced precision would pass).
TransformerNet published_transformer_net();

}  // namespace impasto::test
