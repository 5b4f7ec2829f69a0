#pragma once
// What every method that takes several style images with blend weights and masks checks of them,
// and how it keeps the photo outside the masks when every style is masked (gatys, adain).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "impasto/style/method.h"

namespace impasto {

struct StyleBlend {
  bool any_unmasked = false;   // false: every style is masked, outside the masks stays the photo
  double unmasked_weight = 0;  // the sum of the unmasked styles' blend weights (> 0 when any)
};

// Checks each style's blend weight (finite and >= 0) and that the unmasked styles' weights do not
// sum to 0 (OptionError "style_blend_weights"), and that each mask is [1,1,H,W] at the content
// image's size (OptionError "masks").
StyleBlend check_style_blend(const std::vector<StyleInput>& styles, int64_t content_h, int64_t content_w);

// With every style masked: `stylized` inside the union of the masks (each resized to the output and
// clamped to [0,1]), `photo` outside it, blended by the union's value. Both [1,3,h,w] on one device.
at::Tensor keep_photo_outside_masks(const at::Tensor& stylized, const at::Tensor& photo, const std::vector<StyleInput>& styles);

}  // namespace impasto
