#pragma once
// VGG feature extractors (Simonyan & Zisserman 2014) in two published layouts, and one that needs no file:
//  - torchvision's `vgg16` / `vgg19`: `features.N` with 3x3 convs (padding 1), ReLU, 2x2 max pools;
//    input normalised with ImageNet mean/std.
//  - `vgg19-normalised`: the Caffe VGG19 rescaled by Gatys et al. so that mean activations are one,
//    as converted for AdaIN (naoto0804/pytorch-AdaIN `vgg_normalised.pth`, keys `N.weight`): a 1x1
//    conv 3->3 that takes [0,1] RGB to mean-subtracted BGR*255, then reflection-padded 3x3 convs and
//    ceil-mode pools.
//  - `random-vgg19`: vgg19-normalised's layout and layer names at a quarter of its widths, with seeded
//    random weights (BackboneOptions::seed; the same on every machine), its 1x1 conv the ImageNet
//    normalisation. Random ReLU networks keep enough of the image to invert (He, Wang, Hopcroft 2016)
//    and their channel statistics describe texture: the encoder of the built-in AdaIN model.
// Widths are read from the weight file: a uniformly width-reduced file (every width divided by the
// same factor, as in the test fixtures) loads like a full one.
#include "impasto/nn/backbone.h"

namespace impasto {

void register_builtin_vgg_backbones(BackboneRegistry& registry, BackboneInfoRegistry& infos);

}  // namespace impasto
