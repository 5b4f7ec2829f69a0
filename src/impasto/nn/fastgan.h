#pragma once
// FastGAN's networks (Liu, Zhang, Song, Elgammal 2021, "Towards Faster and Stabilized GAN Training
// for High-fidelity Few-shot Image Synthesis"), sized for 32-256 px and a CPU: the `fastgan` arch of
// nn/gan_nets.h.
//
// Generator: z -> 4x4 (transposed 4x4 conv, norm, GLU), then per doubling nearest 2x upsampling and
// a 3x3 conv to twice the channels, norm and GLU (gated linear units halve the channels: a learnt
// gate on every feature), with a second conv/norm/GLU on every other level; tanh RGB from a 3x3 conv.
// Skip-layer excitation (the paper's SLE, sec. 3.1): the features at side r, pooled to 4x4, a 4x4
// conv to one vector, Swish, a 1x1 conv and a sigmoid, scale every channel of the features at side
// 8r: a cheap long skip that lets the coarse layout steer the fine layers' channels.
// Channels at side r: g_width * min(S / r, 8) (as dcgan's doubling per level, capped).
//
// Discriminator: a 3x3 conv at full size, then down-blocks to 8x8, each the mean of a strided 4x4
// conv + 3x3 conv path and an average-pool + 1x1 conv path (the paper's DownBlockComp), LeakyReLU
// 0.2, D's normalisation (d_norm) and spectral norm as chosen; SLE from side r to r/8 likewise; the
// score is a 4x4 conv over the 8x8 features (a 5x5 map of patch logits), averaged to one per image.
// Self-supervision (sec. 3.2): two small decoders rebuild the real image from D's 8x8 features and
// one random quadrant of it from the matching 8x8 crop of the 16x16 features; their L1 error is part
// of D's loss on real images only, which makes D learn features that describe the image rather than
// just separate the few real images from fakes (the paper uses a perceptual distance; L1 here keeps
// D's step cheap). Side S from 32 to 256.
#include <memory>

#include "impasto/nn/gan_nets.h"

namespace impasto {

std::shared_ptr<GeneratorImpl> make_fastgan_generator(const GanNetOptions& options);
// `norm`: batch | layer | instance | none, resolved (resolve_d_norm).
std::shared_ptr<DiscriminatorImpl> make_fastgan_discriminator(const GanNetOptions& options, const std::string& norm);

}  // namespace impasto
