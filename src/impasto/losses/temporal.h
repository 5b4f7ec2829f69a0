#pragma once
// Motion between video frames and what it asks of stylized frames.
//
// Optical flow is OpenCV's DIS (Kroeger et al. 2016, "Fast Optical Flow using Dense Inverse
// Search"), computed on the frames' luminance. A flow f from frame A to frame B is given on A's
// grid: the content at pixel p of A is at p + f(p) in B, so warp(B, f)(p) = B(p + f(p)) pulls B
// back onto A.
//
// Where a flow can be trusted follows Ruder, Dosovitskiy, Brox 2016 ("Artistic style transfer for
// videos", section 3.2), with f the flow A -> B and g the flow B -> A, and g~ = warp(g, f) (g seen
// from A's grid):
//   occluded (seen in A, hidden in B):  |f + g~|^2 > 0.01 (|f|^2 + |g~|^2) + 0.5
//   motion boundary:                    |grad f_x|^2 + |grad f_y|^2 > 0.01 |f|^2 + 0.002
// Reliable pixels are neither.
#include <ATen/core/Tensor.h>

namespace impasto {

// Flow [1,2,H,W] (dx, dy in pixels) from `from` to `to`, both canonical [1,3,H,W] of one size.
at::Tensor optical_flow(const at::Tensor& from, const at::Tensor& to);

// `image` [1,C,H,W] sampled at p + flow(p) (bilinear; outside the frame the nearest edge pixel).
at::Tensor warp_with_flow(const at::Tensor& image, const at::Tensor& flow);

struct FlowPair {
  at::Tensor flow;            // A -> B on A's grid
  at::Tensor non_occluded;    // [1,1,H,W] 1 where p's content is visible in B (forward-backward check)
  at::Tensor reliable;        // [1,1,H,W] non-occluded and off motion boundaries
  double reliable_fraction = 0;
};

// Both flows between A and B (two DIS runs) and the masks on A's grid.
FlowPair flow_between(const at::Tensor& a, const at::Tensor& b);
// The same from the two flows already computed (forward A -> B, backward B -> A).
FlowPair flow_pair(const at::Tensor& forward, const at::Tensor& backward);

// Ruder et al.'s short-term temporal loss: sum c (x - w)^2 / (C*H*W), with w the previous
// stylized frame warped onto this one and c its reliability ([1,1,H,W] in [0,1]).
at::Tensor temporal_loss(const at::Tensor& image, const at::Tensor& warped_previous, const at::Tensor& reliability);

// One term of the warping error of Lai et al. 2018 ("Learning Blind Video Temporal Consistency"):
//   sum_p M(p) |V_t(p) - W(V_{t+1})(p)|^2 / sum_p M(p)
// with V in [0,1] RGB, W the flow t -> t+1 of the *input* frames, M its non-occluded pixels. The
// squared norm is over the three channels. The video's E_warp is the mean of these over t.
double warping_error_term(const at::Tensor& output_t, const at::Tensor& output_next, const FlowPair& input_flow);

}  // namespace impasto
