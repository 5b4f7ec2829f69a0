#pragma once
// Spatial attribution of loss terms to the pixels of an image, and a check that it is faithful.
//
// Attribution map of a scalar term L(x) of an image x [1,3,H,W]: the per-pixel gradient magnitude
//     A[i,j] = || dL/dx[:,i,j] ||_2   (over the colour channels),
// the saliency map of Simonyan, Vedaldi, Zisserman 2014 ("Deep Inside Convolutional Networks") applied
// to a loss instead of a class score: where a small change of the picture changes the term most.
//
// Faithfulness (the region perturbation test of Samek et al. 2017, "Evaluating the visualization of
// what a deep neural network has learned"): removing the most-attributed pixels must change the term
// more than removing as many random pixels. "Removing" replaces the pixels by a blurred copy of the
// image (information of the neighbourhood kept, detail gone) or by mid-grey.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace impasto::explain {

// Gradients dL/dx [1,C,H,W] (CPU) of each named term w.r.t. `image`, a tensor that requires grad and
// from which every term was computed (one backward pass per term; the graph is kept until the
// last). A term that does not depend on the image gives zeros.
std::vector<std::pair<std::string, at::Tensor>> term_gradients(
    const at::Tensor& image, const std::vector<std::pair<std::string, at::Tensor>>& terms);

// The sensitivity map [H,W] of a gradient: || dL/dx[:,i,j] ||_2 over the channels.
at::Tensor gradient_magnitude(const at::Tensor& gradient);

// The removal-effect map [H,W] (signed): sum_c dL/dx[c,i,j] * (removed - image)[c,i,j], the
// first-order change of the term when pixel (i,j) alone is replaced by its removed value ("gradient
// x input" of Shrikumar et al. 2016 with the removed image as the baseline, cf. Sundararajan et al.
// 2017). Positive where removing the pixel raises the term (the pixel carries what the term asks
// for), negative where it lowers it. Unlike the sensitivity map it accounts for how much removal
// changes each pixel (blurring leaves flat regions as they are), which is what the deletion test
// measures.
at::Tensor removal_effect(const at::Tensor& gradient, const at::Tensor& image, const at::Tensor& removed);

// The removal effect oriented for ranking: multiplied by the sign of its sum, so that its largest
// values are the pixels whose removal moves the term most in the direction removing everything
// moves it (blurring raises a style term but lowers total variation). Ranking by the signed values
// avoids the cancellation of mixed signs that ranking by |effect| suffers.
at::Tensor oriented_effect(const at::Tensor& effect);

// Sensitivity maps of each named term: gradient_magnitude(term_gradients(...)).
std::vector<std::pair<std::string, at::Tensor>> gradient_maps(
    const at::Tensor& image, const std::vector<std::pair<std::string, at::Tensor>>& terms);

// A map scaled for display: divided by its `quantile` (0.99 by default, so that a few extreme pixels
// do not turn the rest black) and clamped to [0,1]. A zero map stays zero.
at::Tensor normalise_map(const at::Tensor& map, double quantile = 0.99);

// A map [H,W] averaged over a grid of at most `cells` x `cells` blocks (for the JSON numbers).
at::Tensor pooled_map(const at::Tensor& map, int64_t cells);

// Masks [1,1,H,W] (1 = remove) made of square regions of `region` x `region` pixels on a grid from the
// top-left corner (1 = single pixels), round(fraction * H * W / region^2) of them (at least one):
// the regions with the largest sum of map values (ties by position), or random regions (seeded).
// (Samek et al. 2017 perturb 9x9 regions of 224 px images.)
at::Tensor top_fraction_mask(const at::Tensor& map, double fraction, int64_t region = 1);
at::Tensor random_fraction_mask(int64_t height, int64_t width, double fraction, uint64_t seed, int64_t region = 1);

// `image` with the masked pixels removed: mode "blur" (a Gaussian blur of the image, sigma 4% of the
// longer side, at least 2 px) or "grey" (0.5). OptionError("deletion_mode") for anything else.
at::Tensor remove_pixels(const at::Tensor& image, const at::Tensor& mask, const std::string& mode);

struct DeletionOptions {
  double fraction = 0.1;      // of the pixels removed
  std::string mode = "blur";  // blur | grey
  int trials = 3;             // random removals averaged (masks seeded with seed + t)
  uint64_t seed = 0;
  int64_t region = 1;         // side of the removed square regions in pixels
};

struct DeletionResult {
  std::string term;
  double value = 0;               // the term on the image
  double top_value = 0;           // after removing the top-attributed regions
  double top_change = 0;          // |top_value - value|
  std::vector<double> random_changes;  // |term after removing random regions - value|, per trial
  double random_change = 0;       // their mean
  bool faithful() const { return top_change > random_change; }
};

// Runs the deletion test for one term: `term` evaluates it on an image (without gradients).
DeletionResult deletion_test(const std::string& name, const std::function<double(const at::Tensor&)>& term,
                             const at::Tensor& image, const at::Tensor& map, const DeletionOptions& options);

// The same for several terms at once, with one map per term: `terms` evaluates all of them on an
// image (in the order of `maps`), so the image and each random removal are evaluated once for all
// terms (1 + trials + maps.size() evaluations instead of maps.size() * (2 + trials)).
std::vector<DeletionResult> deletion_tests(const std::function<std::vector<double>(const at::Tensor&)>& terms,
                                           const at::Tensor& image,
                                           const std::vector<std::pair<std::string, at::Tensor>>& maps,
                                           const DeletionOptions& options);

}  // namespace impasto::explain
