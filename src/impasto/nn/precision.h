#pragma once
// Reduced precision for the one-pass networks (TransformerNet, the CycleGAN generators): the whole
// network kept in bfloat16 and channels-last (NHWC) from the first layer to the last, so oneDNN runs
// its native bf16 convolutions (AVX512-BF16 / AMX) with no layout or type conversions between
// layers; the image is converted once on the way in and once on the way out.
//
// What LibTorch 1.13 lacks in bf16 on the CPU (reflection and replication padding, transposed
// convolution) is written in nn/conv_ops.h; instance norm keeps its statistics in float32 and its
// output channels-last (nn/instance_norm.h).
//
// Quality: bf16 keeps 8 significant bits, so each layer's output carries a relative error of about
// 2^-9; through a whole network the output differs from fp32 by far less than one 8-bit grey level
// (PSNR against the fp32 output is checked by the tests and reported by bench/).
#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <string>
#include <vector>

namespace impasto {

// int8: post-training quantisation (nn/int8.h): quint8 activations, qint8 weights; the parameters
// themselves stay float32, and the network quantises its activations itself (after its float stem).
enum class Precision { fp32, bf16, int8 };

const char* to_string(Precision precision);
// The dtype of the network's parameters (float32 for fp32 and int8).
c10::ScalarType scalar_type(Precision precision);

// The names a user may give: "auto" (choose: see style/precision_choice.h), "fp32", "bf16", and
// with_int8 also "int8" (the methods whose networks have an int8 form).
const std::vector<std::string>& precision_names(bool with_int8 = false);
// "fp32", "bf16" or "int8"; OptionError("precision") for anything else ("auto" is resolved by the caller).
Precision parse_precision(const std::string& name);

// Every parameter and buffer of `net` in the precision's dtype; for bf16 the 4-D ones (convolution
// weights) also channels-last, the layout oneDNN's bf16 kernels read directly. int8 builds the
// network's int8 form from its calibrated ranges (nn/int8.h: Error when it has none); the others
// drop it.
void set_precision(torch::nn::Module& net, Precision precision);

// The precision a network was set to (int8 when its int8 form is on, else its first parameter's
// dtype; fp32 for one without parameters).
Precision module_precision(const torch::nn::Module& net);

// A network input in the precision's dtype and layout (bf16: channels-last), and back to float32
// NCHW, the canonical layout (quint8 tensors dequantised). An int8 network takes its stem's
// precision (nn/int8.h: int8_stem_in_bf16) and quantises inside: Error here.
at::Tensor to_precision(const at::Tensor& x, Precision precision);
at::Tensor to_float32(const at::Tensor& x);

}  // namespace impasto
