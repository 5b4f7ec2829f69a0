#pragma once
// `inception`: the Inception-v3 of FID (Heusel et al. 2017) as pytorch-fid ships it
// (mseitzer/pytorch-fid, `fid_inception_v3()`, weight file pt_inception-2015-12-05-6726825d.pth: the
// TensorFlow graph inception-2015-12-05 ported to PyTorch). It is torchvision's Inception3 with
// 1008 classes, no auxiliary classifier, no input transform, and four patched block types that
// reproduce the TF graph:
//   FIDInceptionA (Mixed_5b-d), FIDInceptionC (Mixed_6b-e), FIDInceptionE_1 (Mixed_7b): the pooling
//     branch averages 3x3 with count_include_pad=False (TF ignores the padded zeros);
//   FIDInceptionE_2 (Mixed_7c): the pooling branch max-pools 3x3 (stride 1, padding 1).
// Mixed_6a (InceptionB) and Mixed_7a (InceptionD) are torchvision's. Every BasicConv2d is a conv
// without bias, BatchNorm (eps 0.001) and ReLU; submodules carry torchvision's names
// (`Conv2d_1a_3x3.conv.weight`, `Mixed_5b.branch1x1.bn.running_mean`, ..., `fc.weight`), so the file
// loads key for key.
//
// Input, as pytorch-fid's InceptionV3 (resize_input, normalize_input): the canonical [0,1] image is
// resized to 299x299 (bilinear, align_corners=False, no antialiasing) and mapped to [-1,1] by
// `inception_normalise`.
//
// Taps, in forward order: Conv2d_1a_3x3, Conv2d_2a_3x3, Conv2d_2b_3x3, maxpool1 (pytorch-fid's
// 64-d block 0), Conv2d_3b_1x1, Conv2d_4a_3x3, maxpool2 (192-d block 1), Mixed_5b .. Mixed_6e
// (Mixed_6e: the 768-d block 2), Mixed_7a, Mixed_7b, Mixed_7c, `pool3` [N,2048] (the global average
// pool after Mixed_7c: FID's standard features, block 3) and `logits` [N,1008] (fc of pool3; the
// dropout before it is the identity at evaluation).
//
// The logits serve the Inception Score: IS is traditionally computed with the original TF graph's
// softmax over its 1008 outputs (Salimans et al. 2016's code uses all 1008, including the unused
// ones), and pytorch-fid's weight file carries that fc layer, so softmax(logits) is that
// distribution.
//
// Every channel width (and the class count) is read from the weight file's shapes, conv by conv, and
// checked against the topology: a width-reduced file of the same topology (the test fixtures divide
// every width by 16) loads and runs like the full one.
#include "impasto/nn/backbone.h"

namespace impasto {

// The weight file the `inception` backbone needs, and where it comes from.
extern const char* const kFidInceptionWeightsFile;  // "pt_inception-2015-12-05-6726825d.pth"
extern const char* const kFidInceptionWeightsUrl;

void register_builtin_inception_backbone(BackboneRegistry& registry, BackboneInfoRegistry& infos);

// pytorch-fid's input range: 2x - 1 maps a canonical [0,1] image to [-1,1].
at::Tensor inception_normalise(const at::Tensor& image);

// pytorch-fid's input resize: bilinear to 299x299, align_corners=False, without antialiasing.
at::Tensor inception_resize(const at::Tensor& image);

// Builds the network from a state dict (widths from its shapes) and loads it. FormatError(source) when
// a key is missing or unexpected, or a shape does not fit the topology.
Backbone make_fid_inception(const StateDict& dict, const std::string& source);

}  // namespace impasto
