#pragma once
// Figure building blocks for explanation reports, drawn with OpenCV like io/chart: colour maps,
// colour bars, heat maps over pictures, matrix heat maps, captions and panels. Everything takes and
// returns canonical images (float32 [1,3,H,W] in [0,1]) on the CPU.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace impasto::explain {

enum class Colormap {
  heat,        // inferno: black -> purple -> orange -> yellow; for magnitudes (attribution, energy)
  sequential,  // viridis: dark blue -> green -> yellow; for signed-free quantities (Gram entries)
  diverging,   // blue -> white -> red around the middle of the range; for differences
};

// `map` ([H,W], [1,H,W] or [1,1,H,W]) with values mapped linearly from [lo, hi] to the colour map
// (clamped outside) -> [1,3,H,W].
at::Tensor colorize(const at::Tensor& map, double lo, double hi, Colormap colormap);

// A heat map over a picture: the picture in grey, dimmed, so that the colours stay readable, and
// the map (values in [0,1], resized to the picture) coloured on top with an opacity that grows with
// the value: out = (1 - a m) * grey + a m * colour(m), a = `opacity`.
at::Tensor overlay_heatmap(const at::Tensor& image, const at::Tensor& map01, Colormap colormap = Colormap::heat,
                           double opacity = 0.85);

// A signed map over a picture: values in [-1,1] (resized to the picture) coloured blue (negative) to
// red (positive) on the dimmed grey picture, with an opacity that grows with |value|.
at::Tensor overlay_signed(const at::Tensor& image, const at::Tensor& map, double opacity = 0.85);

// A vertical colour bar `height` pixels high, ticks at lo, the middle and hi, with `label` above.
at::Tensor colour_bar(int64_t height, double lo, double hi, Colormap colormap, const std::string& label = "");

// A matrix [R,C] as a heat map `side` pixels on its longer side (nearest-neighbour cells), with
// index ticks at 0, the middle and the last row / column.
at::Tensor matrix_heatmap(const at::Tensor& matrix, double lo, double hi, Colormap colormap, int64_t side = 256);

// `image` with `caption` written in a white band above it (long captions wrap onto more lines).
at::Tensor with_caption(const at::Tensor& image, const std::string& caption, double font_scale = 0.45);

// Images side by side (top-aligned; `padding` pixels of white between and around them) or stacked
// (left-aligned).
at::Tensor hstack(const std::vector<at::Tensor>& images, int64_t padding = 6);
at::Tensor vstack(const std::vector<at::Tensor>& images, int64_t padding = 6);

// Each image resized to `cell_height` (aspect kept), captioned, in rows of `columns` (0 = all in one
// row). `captions` may be shorter than `images` (the rest uncaptioned).
at::Tensor captioned_grid(const std::vector<at::Tensor>& images, const std::vector<std::string>& captions,
                          int64_t columns, int64_t cell_height);

// A table of pictures: `images` row by row (rows x columns of them, each resized to `cell_height`),
// each row labelled on the left and each column at the top (e.g. latent dimension x value).
at::Tensor labelled_grid(const std::vector<at::Tensor>& images, int64_t columns, const std::vector<std::string>& row_labels,
                         const std::vector<std::string>& column_labels, int64_t cell_height);

// A grey (one-channel) tensor of any shape [.., H, W] resized to height x width with nearest
// neighbours (for showing small maps and activations without smoothing them).
at::Tensor resize_nearest(const at::Tensor& map, int64_t height, int64_t width);

}  // namespace impasto::explain
