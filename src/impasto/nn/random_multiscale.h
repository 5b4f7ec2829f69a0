#pragma once
// `random-multiscale`: the backbone that needs no download. Random-weight convolutional features
// carry texture statistics well enough for Gram-matrix style losses (Ustyuzhaninov et al. 2017,
// "What does it take to generate natural textures?"; He, Wang, Hopcroft 2016, "A powerful
// generative model using random weights for the deep image representation").
//
// The image is taken through a Gaussian pyramid (scales 1, 1/2, 1/4, 1/8); at each scale a small
// seeded random network (3x3 conv 3->64, ReLU, 3x3 conv 64->128, ReLU; Kaiming-normal weights, zero
// bias, reflection padding) gives two tappable layers, named `s<factor>_relu<k>`: s1_relu1,
// s1_relu2, s2_relu1, ..., s8_relu2. Coarse scales see large structures (strokes, colour fields),
// fine ones texture. The pyramid filter is a 5-tap binomial (smooth gradients: plain 2x2 average
// pooling would make the coarse scales' gradients piecewise constant, i.e. blocky outputs).
#include "impasto/nn/backbone.h"

namespace impasto {

void register_builtin_random_backbones(BackboneRegistry& registry, BackboneInfoRegistry& infos);

// One pyramid step: binomial [1 4 6 4 1]/16 blur (reflect-padded), then keep every second pixel.
at::Tensor pyramid_down(const at::Tensor& image);

}  // namespace impasto
