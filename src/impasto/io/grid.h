#pragma once
// Image grids and strips for looking at results side by side.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace impasto {

// Lays out canonical images ([1,C,H,W], C = 1 or 3) in rows of `columns` (0 = a square layout of
// ceil(sqrt(n)) columns), each resized to fit a cell of `cell_height` pixels (width from the widest
// aspect ratio), separated by `padding` pixels of `background` grey. Returns [1,3,H,W].
at::Tensor make_grid(const std::vector<at::Tensor>& images, int64_t columns, int64_t cell_height,
                     int64_t padding = 4, double background = 1.0);

}  // namespace impasto
