#pragma once
// Convolution building blocks of the style networks, for every dtype (float32 and the bf16 of
// nn/precision.h) and keeping the input's memory format (channels-last stays channels-last):
//
//   reflection_pad, replication_pad   LibTorch 1.13 has no bf16 CPU kernel for either; here the
//                                      border is copied from inside in one output buffer.
//   conv_transpose                     LibTorch 1.13's bf16 transposed convolution rejects every
//                                      input (it checks the weight as if it were not transposed);
//                                      here it is one ordinary convolution computing the stride x
//                                      stride output phases, interleaved.
//   upsample_conv3x3                   nearest x2, reflection pad 1, 3x3 convolution (the
//                                      UpsampleConvLayer of fast_neural_style and of the AdaIN
//                                      decoder) computed on the small input: 2.25x fewer
//                                      multiplications and no upsampled image in memory.
//   conv_few_outputs                   a large-kernel convolution to a few channels (the RGB output
//                                      layer: 32 -> 3 channels, 9x9) on blocks of 4x4 pixels: oneDNN
//                                      computes 16 output channels at a time, so 3 waste most of it.
//
// Both phase decompositions are the sub-pixel view of Shi et al. 2016 ("Real-Time Single Image and
// Video Super-Resolution Using an Efficient Sub-Pixel Convolutional Neural Network"; Odena et al.
// 2016 on checkerboard artefacts discuss the same equivalence). They are exact up to the order of
// floating-point sums.
#include <ATen/core/Tensor.h>

#include <c10/core/MemoryFormat.h>
#include <c10/util/Optional.h>

#include <cstdint>

namespace impasto {

// at::reflection_pad2d ([N,C,H,W]): border pixels not repeated; each pad smaller than its side
// (SourceError otherwise, as LibTorch refuses). float32 goes to LibTorch's kernel. With relu_first,
// the padded max(x, 0) (the ReLU before a padded convolution), in the same pass over the image.
at::Tensor reflection_pad(const at::Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom, bool relu_first = false);
// at::replication_pad2d ([N,C,H,W]): the border pixel repeated. float32 goes to LibTorch's kernel.
at::Tensor replication_pad(const at::Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom, bool relu_first = false);
// The copies of both pads into a given output y [N,C,H+top+bottom,W+left+right] of x's dtype, in any
// layout (nn/int8.h pads quantised tensors through views of their bytes).
void pad_by_copies_into(const at::Tensor& x, const at::Tensor& y, int64_t left, int64_t right, int64_t top, int64_t bottom, bool reflect);

// at::conv_transpose2d (groups 1, dilation 1). Output row o = s*q + r - p of a transposed
// convolution is  sum_t x[q - t] * w[s*t + r]  (t = 0 .. T-1, T = ceil(K/s), taps past K zero): for
// each phase r an ordinary correlation of x with the kernel rows w[s*(T-1-d) + r], d = 0..T-1. All
// s*s phases are one convolution with s*s*C_out outputs, interleaved by pixel_shuffle(s), then
// cropped by the padding. It costs (s*T/K)^2 of the transposed one's multiplications (16/9 for
// K = 3, s = 2) on the fast ordinary-convolution kernels.
at::Tensor conv_transpose(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int64_t stride_h,
                          int64_t stride_w, int64_t padding_h, int64_t padding_w, int64_t output_padding_h,
                          int64_t output_padding_w);

// Its parts, for the int8 form (nn/int8.h), which convolves with its own packed kernels: the phases'
// kernel [s_h s_w C_out, C_in, T_h, T_w] (in `format` when given) and bias, convolved with the input
// zero-padded by T - 1 on each side (and, when the output needs more rows than that gives, zero rows
// after, as conv_transpose adds), and the copy of that convolution's phases into y [N, C_out, H', W']
// (any dtype; quint8 through views of the bytes).
struct TransposePhases {
  at::Tensor kernel, bias;
  int64_t taps_h = 0, taps_w = 0;
};
TransposePhases conv_transpose_phases(const at::Tensor& weight, const at::Tensor& bias, int64_t stride_h, int64_t stride_w,
                                      c10::optional<at::MemoryFormat> format = c10::nullopt);
void interleave_transpose_phases(const at::Tensor& phases, const at::Tensor& y, int64_t stride_h, int64_t stride_w, int64_t padding_h,
                                 int64_t padding_w);

// conv2d(reflection_pad(upsample_nearest2d(x, 2H, 2W), 1, 1, 1, 1), weight [C_out, C_in, 3, 3], bias).
// Output row 2m + a reads upsampled rows 2m + a - 1 .. 2m + a + 1, which are input rows
//     a = 0:  m - 1, m, m    ->  x[m-1] w0 + x[m] (w1 + w2)
//     a = 1:  m, m, m + 1    ->  x[m] (w0 + w1) + x[m+1] w2
// (and the same along columns), with the upsampled image's reflected border row being input row 0
// (or H - 1): a replication pad of the input. So one 2x2 convolution of the replicated input gives
// all four phases (4 C_out outputs, 4 taps each instead of 9 on 4x the pixels); phase (a, b) starts
// at row a and column b of it, and the phases are interleaved into the output.
// relu_first: of max(x, 0), as the pads above.
at::Tensor upsample_conv3x3(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, bool relu_first = false);
// Its parts, for the int8 form (nn/int8.h), which convolves with its own packed kernels: the 2x2
// kernels of the four phases [4 C_out, C_in, 2, 2] (phases (a, b) outermost; the bias repeats 4
// times), and the copy of the phases' convolution [N, 4 C_out, H+1, W+1] into y [N, C_out, 2H, 2W]
// (any dtype, y's layout; quint8 through views of the bytes).
at::Tensor upsample_conv3x3_kernels(const at::Tensor& weight);
void interleave_upsample_phases(const at::Tensor& phases, const at::Tensor& y);

// at::conv2d(x, weight, bias) (stride 1, no padding: pad x first) for C_out < 16 and a kernel of 5 or
// more; other convolutions go to at::conv2d as they are. Space-to-depth with blocks of b = 4: input
// pixel (4Y + iy, 4X + ix) becomes channel (iy, ix, c) of block pixel (Y, X) (one copy, contiguous in
// channels-last), output pixel (4Y + oy, 4X + ox) channel (c, oy, ox) of block pixel (Y, X), and
//     out[4Y+oy] = sum_k in[4Y+oy+k] w[k] = sum_{iy, t} in'[Y+t][iy] w[4t + iy - oy]
// is a convolution of the blocks with T = ceil((K - 1 + b) / b) taps (3 for K = 9) and
// kernel w'[(c, oy, ox), (iy, ix, c'), t, u] = w[c, c', 4t + iy - oy, 4u + ix - ox] (zero outside the
// kernel), 16 C_out outputs; pixel_shuffle(4) puts the blocks back. (4T/K)^2 the multiplications
// (1.8x for K = 9) at the full rate: 3x faster for 32 -> 3 channels in bf16.
at::Tensor conv_few_outputs(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

}  // namespace impasto
