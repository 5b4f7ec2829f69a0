#include "impasto/style/masks.h"

#include <torch/torch.h>

#include <cmath>
#include <string>

#include "impasto/core/error.h"
#include "impasto/io/image_ops.h"

namespace impasto {

StyleBlend check_style_blend(const std::vector<StyleInput>& styles, int64_t content_h, int64_t content_w) {
  StyleBlend blend;
  for (const auto& s : styles) {
    if (!std::isfinite(s.weight) || s.weight < 0)
      throw OptionError("style_blend_weights", "must be a finite number >= 0 (got " + std::to_string(s.weight) + ")");
    if (s.mask.defined()) {
      if (s.mask.dim() != 4 || s.mask.size(2) != content_h || s.mask.size(3) != content_w)
        throw OptionError("masks", "mask for style '" + s.name + "' is " + std::to_string(s.mask.size(-1)) + "x" +
                                       std::to_string(s.mask.size(-2)) + " but the content image is " + std::to_string(content_w) +
                                       "x" + std::to_string(content_h) + "; masks must match the content size");
    } else {
      blend.any_unmasked = true;
      blend.unmasked_weight += s.weight;
    }
  }
  if (blend.any_unmasked && !(blend.unmasked_weight > 0))
    throw OptionError("style_blend_weights", "the blend weights of the unmasked styles sum to 0");
  return blend;
}

at::Tensor keep_photo_outside_masks(const at::Tensor& stylized, const at::Tensor& photo, const std::vector<StyleInput>& styles) {
  const int64_t h = stylized.size(2), w = stylized.size(3);
  at::Tensor cover;
  for (const auto& s : styles) {
    const at::Tensor m = resize_image(s.mask.to(stylized.device(), torch::kFloat32).clamp(0.0, 1.0), h, w).clamp(0.0, 1.0);
    cover = cover.defined() ? torch::maximum(cover, m) : m;
  }
  return cover * stylized + (1.0 - cover) * photo;
}

}  // namespace impasto
