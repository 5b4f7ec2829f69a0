#pragma once
// Large images through image-to-image networks in bounded memory: the image is cut into
// overlapping tiles, each tile goes through the network on its own, and the outputs are blended
// with weights that ramp linearly across every overlap, so no seam shows where tiles meet and the
// network's border effects (padding) are faded out. Peak memory is the full-size input, output and
// weight accumulators plus one tile's activations.
//
// Networks with instance normalisation see each tile's own statistics, which differ from the whole
// image's; for_each_tile hands every tile's "core" (the part of the image it alone accounts for) to
// a function, so that the whole image's statistics can be measured tile by tile first
// (nn/instance_norm.h WholeImageNorms; style/network.cpp does this).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "impasto/nn/instance_norm.h"

namespace impasto {

struct TileOptions {
  int64_t tile = 512;     // tile side in pixels (the last tile of a row or column may be up to
                          // align - 1 pixels larger; a tile never exceeds the image)
  int64_t overlap = 64;   // pixels shared by neighbouring tiles (blended)
  int64_t multiple = 4;   // each tile is reflection-padded to a multiple of this (the network's
                          // total stride) and the padding cropped from its output
  int64_t align = 1;      // tile starts are multiples of this: a network of total stride s whose
                          // tiles start at multiples of s computes every tile on the whole image's grid
};

// Where one tile lies, in image pixels: rows [y, y + height), columns [x, x + width); and its core,
// rows [core_top, core_bottom) and columns [core_left, core_right). The cores of all tiles partition
// the image; a core ends in the middle of each overlap (aligned to `align`).
struct TilePlacement {
  int64_t y = 0, x = 0, height = 0, width = 0;
  int64_t core_top = 0, core_bottom = 0, core_left = 0, core_right = 0;
};
std::vector<TilePlacement> plan_tiles(int64_t height, int64_t width, const TileOptions& options);

using ImageFunction = std::function<at::Tensor(const at::Tensor&)>;  // [1,C,h,w] -> [1,C',h,w]

// `net` applied to `image` ([1,C,H,W]) tile by tile; returns [1,C',H,W]. One tile (no blending)
// when the image fits in one. `on_tile(done, total)` reports progress. OptionError for tile <= 2 *
// overlap or a negative overlap.
at::Tensor apply_tiled(const at::Tensor& image, const ImageFunction& net, const TileOptions& options,
                       const std::function<void(int64_t done, int64_t total)>& on_tile = {});

// Calls `fn` on every tile of `image` ([1,C,H,W]), reflection-padded to `multiple` as apply_tiled
// pads it, with the tile's core in fractions of the padded tile; the padding at the image's bottom
// and right belongs to the cores of the last tiles (as a whole-image pass pads the image there).
// One tile with the region [0,1)x[0,1) when the image fits in one. Same errors as apply_tiled.
using TileVisitor = std::function<void(const at::Tensor& padded_tile, const NormRegion& core)>;
void for_each_tile(const at::Tensor& image, const TileVisitor& fn, const TileOptions& options,
                   const std::function<void(int64_t done, int64_t total)>& on_tile = {});

// Start offsets of tiles of side `tile` covering [0, length) with at least `overlap` shared pixels
// between neighbours, evenly spread, each a multiple of `align` (the last tile ends at `length`).
std::vector<int64_t> tile_starts(int64_t length, int64_t tile, int64_t overlap, int64_t align = 1);

}  // namespace impasto
