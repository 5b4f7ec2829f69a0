#include "impasto/nn/conv_ops.h"

#include <torch/torch.h>

#include <algorithm>

#include "impasto/core/error.h"
#include "impasto/nn/int8.h"
#include "impasto/nn/precision_modules.h"

namespace impasto {
namespace {

void check_pads(const at::Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom, bool reflect) {
  if (x.dim() != 4) throw SourceError("input", "padding expects [N,C,H,W], got shape " + c10::str(x.sizes()));
  const int64_t h = x.size(2), w = x.size(3);
  const bool negative = left < 0 || right < 0 || top < 0 || bottom < 0;
  if (negative || (reflect && (left >= w || right >= w || top >= h || bottom >= h)))
    throw SourceError("input", std::string(reflect ? "reflection" : "replication") + " padding (" + std::to_string(left) + ", " +
                                   std::to_string(right) + ", " + std::to_string(top) + ", " + std::to_string(bottom) + ") of " +
                                   std::to_string(h) + "x" + std::to_string(w) +
                                   (reflect ? ": each pad must be smaller than the side it pads" : ": pads must not be negative"));
}

// Into one output in the input's layout: the input in the middle, then each border column copied
// from inside (its mirror image, border pixel not repeated, or the edge), then each border row across
// the padded width so the corners follow. (Concatenating flipped slices costs several passes.)
void copy_padded(const at::Tensor& x, const at::Tensor& y, int64_t left, int64_t right, int64_t top, int64_t bottom, bool reflect,
                 bool relu_first) {
  const int64_t h = x.size(2), w = x.size(3);
  at::Tensor centre = y.slice(2, top, top + h).slice(3, left, left + w);
  if (relu_first)
    at::clamp_min_out(centre, x, 0);
  else
    centre.copy_(x);
  const at::Tensor middle = y.slice(2, top, top + h);
  for (int64_t j = 1; j <= left; ++j) middle.select(3, left - j).copy_(middle.select(3, reflect ? left + j : left));
  for (int64_t j = 1; j <= right; ++j) middle.select(3, left + w - 1 + j).copy_(middle.select(3, reflect ? left + w - 1 - j : left + w - 1));
  for (int64_t i = 1; i <= top; ++i) y.select(2, top - i).copy_(y.select(2, reflect ? top + i : top));
  for (int64_t i = 1; i <= bottom; ++i) y.select(2, top + h - 1 + i).copy_(y.select(2, reflect ? top + h - 1 - i : top + h - 1));
}

at::Tensor pad_by_copies(const at::Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom, bool reflect,
                         bool relu_first) {
  check_pads(x, left, right, top, bottom, reflect);
  at::Tensor y = at::empty({x.size(0), x.size(1), x.size(2) + top + bottom, x.size(3) + left + right},
                           x.options().memory_format(x.suggest_memory_format()));
  copy_padded(x, y, left, right, top, bottom, reflect, relu_first);
  return y;
}

// pad_by_copies with a backward, for images being optimised in bf16 (style/gatys): the adjoint of
// the copies in reverse order: padded rows fold back onto the rows they copy (full width), then
// padded columns onto theirs (middle rows), and the centre is the input's gradient. Autograd
// through the copies themselves would record a node per copied row and clone the gradient for each.
struct PadByCopies : torch::autograd::Function<PadByCopies> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, int64_t left, int64_t right,
                            int64_t top, int64_t bottom, bool reflect) {
    ctx->saved_data["pads"] = std::vector<int64_t>{left, right, top, bottom, reflect ? 1 : 0};
    return pad_by_copies(x, left, right, top, bottom, reflect, /*relu_first=*/false);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grad) {
    const std::vector<int64_t> p = ctx->saved_data["pads"].toIntVector();
    const int64_t left = p[0], right = p[1], top = p[2], bottom = p[3];
    const bool reflect = p[4] != 0;
    at::Tensor g = grad[0].clone();
    const int64_t h = g.size(2) - top - bottom, w = g.size(3) - left - right;
    for (int64_t i = bottom; i >= 1; --i) g.select(2, reflect ? top + h - 1 - i : top + h - 1).add_(g.select(2, top + h - 1 + i));
    for (int64_t i = top; i >= 1; --i) g.select(2, reflect ? top + i : top).add_(g.select(2, top - i));
    const at::Tensor middle = g.slice(2, top, top + h);
    for (int64_t j = right; j >= 1; --j) middle.select(3, reflect ? left + w - 1 - j : left + w - 1).add_(middle.select(3, left + w - 1 + j));
    for (int64_t j = left; j >= 1; --j) middle.select(3, reflect ? left + j : left).add_(middle.select(3, left - j));
    at::Tensor gx = middle.slice(3, left, left + w).contiguous(grad[0].suggest_memory_format());
    return {gx, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

at::Tensor pad_with_grad(const at::Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom, bool reflect, bool relu_first) {
  if (!(x.requires_grad() && torch::GradMode::is_enabled())) return pad_by_copies(x, left, right, top, bottom, reflect, relu_first);
  return PadByCopies::apply(relu_first ? at::relu(x) : x, left, right, top, bottom, reflect);
}

// The 2x2 kernels of upsample_conv3x3, [4 C_out, C_in, 2, 2], phases (a, b) outermost. Along each
// axis, tap t of phase a sums the kernel rows k with taps[a][t][k] = 1 (see conv_ops.h).
at::Tensor upsample_conv_kernels(const at::Tensor& weight) {
  // Rows (a, t): (0,0) k0; (0,1) k1 + k2; (1,0) k0 + k1; (1,1) k2.
  const at::Tensor taps = torch::tensor({1.f, 0.f, 0.f, 0.f, 1.f, 1.f, 1.f, 1.f, 0.f, 0.f, 0.f, 1.f}, weight.options().dtype(torch::kFloat32))
                              .view({4, 3});
  const int64_t c_out = weight.size(0), c_in = weight.size(1);
  // [C_out, C_in, (a, ty), (b, tx)] = taps . w . taps^T over the kernel's rows and columns.
  const at::Tensor combined = at::einsum("pk,oikl,ql->oipq", {taps, weight.to(torch::kFloat32), taps});
  return combined.view({c_out, c_in, 2, 2, 2, 2})
      .permute({2, 4, 0, 1, 3, 5})  // a, b, C_out, C_in, ty, tx
      .reshape({4 * c_out, c_in, 2, 2})
      .to(weight.scalar_type());
}

// The block kernel of conv_few_outputs: [b*b*C_out, b*b*C_in, T, T] in weight's dtype, float32 maths.
at::Tensor space_to_depth_kernel(const at::Tensor& weight, int64_t b, int64_t taps) {
  const int64_t c_out = weight.size(0), c_in = weight.size(1), k = weight.size(2);
  // Index K of the kernel padded by one zero row and column stands for "outside the kernel".
  const at::Tensor padded = at::constant_pad_nd(weight.to(torch::kFloat32), {0, 1, 0, 1});
  const auto long_options = torch::TensorOptions().dtype(torch::kLong);
  const at::Tensor o = torch::arange(b, long_options).view({b, 1, 1}), i = torch::arange(b, long_options).view({1, b, 1});
  const at::Tensor t = torch::arange(taps, long_options).view({1, 1, taps});
  at::Tensor index = b * t + i - o;  // [o, i, t]: the kernel row an input offset i and tap t read for output offset o
  index = at::where((index >= 0) & (index < k), index, torch::full_like(index, k));
  const at::Tensor rows = index.view({b, 1, b, 1, taps, 1}).expand({b, b, b, b, taps, taps});  // oy, ox, iy, ix, ty, tx
  const at::Tensor cols = index.view({1, b, 1, b, 1, taps}).expand({b, b, b, b, taps, taps});
  const at::Tensor gathered = padded.index({torch::indexing::Slice(), torch::indexing::Slice(), rows, cols});  // [C_out, C_in, oy, ox, iy, ix, ty, tx]
  return gathered.permute({0, 2, 3, 4, 5, 1, 6, 7})  // C_out, oy, ox, iy, ix, C_in, ty, tx
      .reshape({c_out * b * b, b * b * c_in, taps, taps})
      .to(weight.scalar_type());
}

}  // namespace

at::Tensor upsample_conv3x3_kernels(const at::Tensor& weight) { return upsample_conv_kernels(weight); }

void pad_by_copies_into(const at::Tensor& x, const at::Tensor& y, int64_t left, int64_t right, int64_t top, int64_t bottom, bool reflect) {
  check_pads(x, left, right, top, bottom, reflect);
  if (y.dim() != 4 || y.size(0) != x.size(0) || y.size(1) != x.size(1) || y.size(2) != x.size(2) + top + bottom ||
      y.size(3) != x.size(3) + left + right || y.scalar_type() != x.scalar_type())
    throw Error("pad_by_copies_into: output " + c10::str(y.sizes()) + " does not fit the padded input " + c10::str(x.sizes()));
  copy_padded(x, y, left, right, top, bottom, reflect, /*relu_first=*/false);
}

at::Tensor reflection_pad(const at::Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom, bool relu_first) {
  if (x.scalar_type() == torch::kFloat32) {
    check_pads(x, left, right, top, bottom, /*reflect=*/true);
    return at::reflection_pad2d(relu_first ? at::relu(x) : x, {left, right, top, bottom});
  }
  return pad_with_grad(x, left, right, top, bottom, /*reflect=*/true, relu_first);
}

at::Tensor replication_pad(const at::Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom, bool relu_first) {
  if (x.scalar_type() == torch::kFloat32) {
    check_pads(x, left, right, top, bottom, /*reflect=*/false);
    return at::replication_pad2d(relu_first ? at::relu(x) : x, {left, right, top, bottom});
  }
  return pad_with_grad(x, left, right, top, bottom, /*reflect=*/false, relu_first);
}

TransposePhases conv_transpose_phases(const at::Tensor& weight, const at::Tensor& bias, int64_t stride_h, int64_t stride_w,
                                      c10::optional<at::MemoryFormat> format) {
  const int64_t c_in = weight.size(0), c_out = weight.size(1), kh = weight.size(2), kw = weight.size(3);
  const int64_t sh = stride_h, sw = stride_w;
  TransposePhases p;
  p.taps_h = (kh + sh - 1) / sh;
  p.taps_w = (kw + sw - 1) / sw;
  // The phases' kernels, [s_h, s_w, C_out, C_in, T_h, T_w] (phases outermost, so each phase's outputs
  // are adjacent channels): phase (ry, rx) tap (dy, dx) is w[:, :, s_h (T_h-1-dy) + ry, s_w (T_w-1-dx) + rx],
  // zero past the kernel.
  at::Tensor kernel = torch::zeros({sh, sw, c_out, c_in, p.taps_h, p.taps_w}, weight.options().memory_format(at::MemoryFormat::Contiguous));
  const at::Tensor wt = weight.permute({1, 0, 2, 3});  // [C_out, C_in, K_h, K_w]
  for (int64_t ry = 0; ry < sh; ++ry)
    for (int64_t rx = 0; rx < sw; ++rx)
      for (int64_t dy = 0; dy < p.taps_h; ++dy)
        for (int64_t dx = 0; dx < p.taps_w; ++dx) {
          const int64_t ky = sh * (p.taps_h - 1 - dy) + ry, kx = sw * (p.taps_w - 1 - dx) + rx;
          if (ky < kh && kx < kw) kernel.select(0, ry).select(0, rx).select(2, dy).select(2, dx).copy_(wt.select(2, ky).select(2, kx));
        }
  p.kernel = kernel.reshape({sh * sw * c_out, c_in, p.taps_h, p.taps_w});
  if (format) p.kernel = p.kernel.contiguous(*format);
  p.bias = bias.defined() ? bias.repeat({sh * sw}) : at::Tensor();
  return p;
}

void interleave_transpose_phases(const at::Tensor& phases, const at::Tensor& y, int64_t stride_h, int64_t stride_w, int64_t padding_h,
                                 int64_t padding_w) {
  const int64_t sh = stride_h, sw = stride_w, c_out = y.size(1), out_h = y.size(2), out_w = y.size(3);
  // Output o = s q + r - p: phase r fills o = o0, o0 + s, ... from q0 = ceil((p - r) / s) (>= 0).
  auto first = [](int64_t p, int64_t r, int64_t s) { return std::max<int64_t>(0, (p - r + s - 1) / s); };
  for (int64_t ry = 0; ry < sh; ++ry)
    for (int64_t rx = 0; rx < sw; ++rx) {
      const int64_t qy = first(padding_h, ry, sh), qx = first(padding_w, rx, sw);
      const int64_t oy = sh * qy + ry - padding_h, ox = sw * qx + rx - padding_w;
      if (oy >= out_h || ox >= out_w) continue;
      const int64_t ny = (out_h - oy + sh - 1) / sh, nx = (out_w - ox + sw - 1) / sw;
      const int64_t phase = ry * sw + rx;
      y.slice(2, oy, out_h, sh).slice(3, ox, out_w, sw)
          .copy_(phases.slice(1, phase * c_out, (phase + 1) * c_out).slice(2, qy, qy + ny).slice(3, qx, qx + nx));
    }
}

at::Tensor conv_transpose(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int64_t stride_h,
                          int64_t stride_w, int64_t padding_h, int64_t padding_w, int64_t output_padding_h,
                          int64_t output_padding_w) {
  if (x.dim() != 4 || weight.dim() != 4 || x.size(1) != weight.size(0))
    throw SourceError("input", "transposed convolution of " + c10::str(x.sizes()) + " with weight " + c10::str(weight.sizes()));
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  const int64_t c_out = weight.size(1), kh = weight.size(2), kw = weight.size(3);
  const int64_t sh = stride_h, sw = stride_w;
  const TransposePhases p = conv_transpose_phases(weight, bias, sh, sw, x.suggest_memory_format());
  const int64_t th = p.taps_h, tw = p.taps_w;
  const int64_t out_h = (h - 1) * sh - 2 * padding_h + kh + output_padding_h;
  const int64_t out_w = (w - 1) * sw - 2 * padding_w + kw + output_padding_w;
  // Interleaved rows needed before cropping the padding: q = 0 .. ceil((out + p) / s) - 1.
  const int64_t qh = (out_h + padding_h + sh - 1) / sh, qw = (out_w + padding_w + sw - 1) / sw;
  // Each phase reads x[q - T + 1 .. q]: T - 1 zero rows before; after, enough for q up to Q - 1.
  at::Tensor input = x;
  const int64_t extra_h = std::max<int64_t>(0, qh - (h + th - 1)), extra_w = std::max<int64_t>(0, qw - (w + tw - 1));
  if (extra_h > 0 || extra_w > 0) input = at::constant_pad_nd(input, {0, extra_w, 0, extra_h}).contiguous(x.suggest_memory_format());
  const at::Tensor phases = at::conv2d(input, p.kernel, p.bias, {1, 1}, {th - 1, tw - 1});
  at::Tensor y = at::empty({n, c_out, out_h, out_w}, x.options().memory_format(x.suggest_memory_format()));
  interleave_transpose_phases(phases, y, sh, sw, padding_h, padding_w);
  return y;
}

at::Tensor upsample_conv3x3(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, bool relu_first) {
  if (x.dim() != 4 || weight.dim() != 4 || weight.size(2) != 3 || weight.size(3) != 3 || x.size(1) != weight.size(1))
    throw SourceError("input", "upsampling 3x3 convolution of " + c10::str(x.sizes()) + " with weight " + c10::str(weight.sizes()));
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3), c_out = weight.size(0);
  const auto format = x.suggest_memory_format();
  const at::Tensor kernel = upsample_conv_kernels(weight).contiguous(format);
  const at::Tensor phase_bias = bias.defined() ? bias.repeat({4}) : at::Tensor();
  const at::Tensor phases = at::conv2d(replication_pad(x, 1, 1, 1, 1, relu_first), kernel, phase_bias);  // [N, 4 C_out, H+1, W+1]
  at::Tensor y = at::empty({n, c_out, 2 * h, 2 * w}, x.options().memory_format(format));
  interleave_upsample_phases(phases, y);
  return y;
}

void interleave_upsample_phases(const at::Tensor& phases, const at::Tensor& y) {
  const int64_t c_out = y.size(1), h = y.size(2) / 2, w = y.size(3) / 2;
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t b = 0; b < 2; ++b) {
      const int64_t phase = 2 * a + b;
      y.slice(2, a, 2 * h, 2).slice(3, b, 2 * w, 2)
          .copy_(phases.slice(1, phase * c_out, (phase + 1) * c_out).slice(2, a, a + h).slice(3, b, b + w));
    }
}

at::Tensor conv_few_outputs(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  constexpr int64_t b = 4;
  const int64_t k = weight.dim() == 4 ? weight.size(2) : 0;
  const bool square = weight.dim() == 4 && weight.size(3) == k;
  const int64_t out_h = x.size(2) - k + 1, out_w = x.size(3) - k + 1;
  if (x.dim() != 4 || !square || weight.size(0) >= 16 || k < 5 || out_h <= 0 || out_w <= 0 || out_h % b || out_w % b)
    return at::conv2d(x, weight, bias);
  const int64_t n = x.size(0), c_in = x.size(1), taps = (k - 1 + 2 * b - 1) / b;
  const int64_t blocks_h = out_h / b + taps - 1, blocks_w = out_w / b + taps - 1;  // input blocks read
  // Rows past the input (when K - 1 is not a multiple of b) are only read by zero taps.
  at::Tensor input = x;
  if (blocks_h * b > x.size(2) || blocks_w * b > x.size(3))
    input = at::constant_pad_nd(x, {0, std::max<int64_t>(0, blocks_w * b - x.size(3)), 0, std::max<int64_t>(0, blocks_h * b - x.size(2))});
  input = input.slice(2, 0, blocks_h * b).slice(3, 0, blocks_w * b);
  // [N, H, W, C] -> [N, H/b, W/b, (iy, ix, C)]: one copy, then seen as NCHW with channels-last strides.
  const at::Tensor blocks = input.permute({0, 2, 3, 1})
                                .reshape({n, blocks_h, b, blocks_w, b, c_in})
                                .permute({0, 1, 3, 2, 4, 5})
                                .reshape({n, blocks_h, blocks_w, b * b * c_in})
                                .permute({0, 3, 1, 2});
  const at::Tensor kernel = space_to_depth_kernel(weight, b, taps).contiguous(at::MemoryFormat::ChannelsLast);
  const at::Tensor block_bias = bias.defined() ? bias.repeat_interleave(b * b) : at::Tensor();
  return at::pixel_shuffle(at::conv2d(blocks, kernel, block_bias), b).contiguous(x.suggest_memory_format());
}

at::Tensor AnyPrecisionReflectionPad2dImpl::forward(const at::Tensor& x) {
  const auto& p = options.padding();
  if (x.is_quantized()) return int8_reflection_pad(x, (*p)[0], (*p)[1], (*p)[2], (*p)[3]);
  return reflection_pad(x, (*p)[0], (*p)[1], (*p)[2], (*p)[3]);
}

namespace {

void check_int8_conv_options(int64_t groups, at::IntArrayRef dilation, const char* what) {
  if (groups != 1 || dilation[0] != 1 || dilation[1] != 1)
    throw Error(std::string("the int8 form of a ") + what + " supports groups 1 and dilation 1 only");
}

}  // namespace

at::Tensor AnyPrecisionConvTranspose2dImpl::forward(const at::Tensor& x) {
  const auto& o = options;
  const auto& pad = c10::get<torch::ExpandingArray<2>>(o.padding());
  if (x.is_quantized()) {
    if (!int8_conv_) throw Error("a quint8 input, but the transposed convolution has no int8 form (nn/int8.h: enable_int8)");
    const int64_t h = x.size(2), w = x.size(3), sh = (*o.stride())[0], sw = (*o.stride())[1];
    const int64_t out_h = (h - 1) * sh - 2 * (*pad)[0] + (*o.kernel_size())[0] + (*o.output_padding())[0];
    const int64_t out_w = (w - 1) * sw - 2 * (*pad)[1] + (*o.kernel_size())[1] + (*o.output_padding())[1];
    const at::Tensor phases = int8_conv_->forward(x, output_.params);
    at::Tensor y = int8_empty({x.size(0), weight.size(1), out_h, out_w}, output_.params);
    interleave_transpose_phases(int8_bytes(phases), int8_bytes(y), sh, sw, (*pad)[0], (*pad)[1]);
    return y;
  }
  at::Tensor y;
  if (x.scalar_type() != torch::kBFloat16) {
    y = torch::nn::ConvTranspose2dImpl::forward(x);
  } else {
    if (o.groups() != 1 || (*o.dilation())[0] != 1 || (*o.dilation())[1] != 1)
      throw SourceError("input", "bf16 transposed convolution supports groups 1 and dilation 1 only");
    y = conv_transpose(x, weight, bias, (*o.stride())[0], (*o.stride())[1], (*pad)[0], (*pad)[1], (*o.output_padding())[0],
                       (*o.output_padding())[1]);
  }
  output_.observe(y);
  return y;
}

void AnyPrecisionConvTranspose2dImpl::set_int8(bool enabled) {
  int8_conv_.reset();
  if (!enabled) return;
  const auto& o = options;
  check_int8_conv_options(o.groups(), *o.dilation(), "transposed convolution");
  const auto [w, b] = output_.normalised_parameters(weight, bias, /*axis=*/1);
  const TransposePhases p = conv_transpose_phases(w, b, (*o.stride())[0], (*o.stride())[1]);
  if (p.taps_h != p.taps_w) throw Error("the int8 form of a transposed convolution needs a square kernel and stride");
  // The phases read the input zero-padded by T - 1 on each side; the output must not need more rows
  // (conv_transpose's extra rows): true for kernel 3, stride 2, padding 1, output padding 1.
  const auto& pad = c10::get<torch::ExpandingArray<2>>(o.padding());
  // The phases read the input zero-padded by T - 1 on each side; output row o = s q + r - p needs
  // q up to h - 1 + ceil((K + output_padding - p) / s), i.e. that many rows past the input's last
  // minus (T - 1): conv_transpose pads them with zeros, which the int8 form does not (none for the
  // CycleGAN layers: kernel 3, stride 2, padding 1, output padding 1).
  for (int axis : {0, 1}) {
    const int64_t s = (*o.stride())[axis], k = (*o.kernel_size())[axis], pp = (*pad)[axis], op = (*o.output_padding())[axis];
    if (k + op - pp < 0 || (k + op - pp + s - 1) / s > p.taps_h)
      throw Error("the int8 form of this transposed convolution (kernel " + std::to_string(k) + ", stride " + std::to_string(s) +
                  ", padding " + std::to_string(pp) + ", output padding " + std::to_string(op) + ") is not supported");
  }
  int8_conv_.emplace(p.kernel, p.bias, 1, p.taps_h - 1);
}

void AnyPrecisionConvTranspose2dImpl::feed_norm(InstanceNormImpl& norm) { norm.set_int8_input(&output_); }

at::Tensor AnyPrecisionConv2dImpl::forward(const at::Tensor& x) {
  const auto& o = options;
  const auto& pad = c10::get<torch::ExpandingArray<2>>(o.padding());
  if (x.is_quantized()) {
    if (!int8_conv_) throw Error("a quint8 input, but the convolution has no int8 form (nn/int8.h: enable_int8)");
    return int8_conv_->forward(x, output_.params);
  }
  at::Tensor y;
  if (stem_.wanted(x, weight))
    y = at::conv2d(x, stem_.weight, stem_.bias, *o.stride(), *pad, *o.dilation(), o.groups());
  else
    y = torch::nn::Conv2dImpl::forward(x);
  if (!keep_float_) output_.observe(y);
  return y;
}

std::vector<std::pair<std::string, Int8Point*>> AnyPrecisionConv2dImpl::int8_points() {
  if (keep_float_) return {};
  return {{"output", &output_}};
}

void AnyPrecisionConv2dImpl::set_int8(bool enabled) {
  int8_conv_.reset();
  stem_.clear();
  if (enabled && keep_float_) stem_.make(weight, bias);
  if (!enabled || keep_float_) return;
  const auto& o = options;
  check_int8_conv_options(o.groups(), *o.dilation(), "convolution");
  const auto& pad = c10::get<torch::ExpandingArray<2>>(o.padding());
  if ((*o.stride())[0] != (*o.stride())[1] || (*pad)[0] != (*pad)[1] || !c10::get_if<torch::enumtype::kZeros>(&o.padding_mode()))
    throw Error("the int8 form of a convolution needs equal strides and zero padding, equal on both axes");
  const auto [w, b] = output_.normalised_parameters(weight, bias, /*axis=*/0);
  int8_conv_.emplace(w, b, (*o.stride())[0], (*pad)[0]);
}

void AnyPrecisionConv2dImpl::feed_norm(InstanceNormImpl& norm) { norm.set_int8_input(&output_); }

}  // namespace impasto
