#pragma once
// Large images through image-to-image networks in bounded memory: the image is cut into
// overlapping tiles, each tile goes through the network on its own, and the outputs are blended
// with weights that ramp linearly across every overlap, so no seam shows where tiles meet and the
// network's border effects (padding) are faded out. Peak memory is the full-size input, output and
// weight accumulators plus one tile's activations.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace impasto {

struct TileOptions {
  int64_t tile = 512;     // tile side in pixels (tiles at the right/bottom edge may be smaller)
  int64_t overlap = 64;   // pixels shared by neighbouring tiles (blended)
  int64_t multiple = 4;   // each tile is reflection-padded to a multiple of this (the network's
                          // total stride) and the padding cropped from its output
};

using ImageFunction = std::function<at::Tensor(const at::Tensor&)>;  // [1,C,h,w] -> [1,C',h,w]

// `net` applied to `image` ([1,C,H,W]) tile by tile; returns [1,C',H,W]. One tile (no blending)
// when the image fits in one. `on_tile(done, total)` reports progress. OptionError for tile <= 2 *
// overlap or a negative overlap.
at::Tensor apply_tiled(const at::Tensor& image, const ImageFunction& net, const TileOptions& options,
                       const std::function<void(int64_t done, int64_t total)>& on_tile = {});

// Start offsets of tiles of side `tile` covering [0, length) with at least `overlap` shared pixels
// between neighbours, evenly spread (the last tile ends at `length`).
std::vector<int64_t> tile_starts(int64_t length, int64_t tile, int64_t overlap);

}  // namespace impasto
