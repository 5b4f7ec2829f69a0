#pragma once
// The flicker and the style of a stylized video, measured against its input (`impasto eval --video`).
//
// Warping error (Lai et al. 2018, "Learning Blind Video Temporal Consistency", eq. 8):
//     E_warp = 1/(T-1) sum_{t=1}^{T-1} sum_p M_t(p) |V_t(p) - W(V_{t+1})(p)|^2 / sum_p M_t(p)
// V the stylized frames in [0,1] RGB, W the warp with the optical flow t -> t+1 computed on the
// *input* frames (resized to the output's size), M_t the pixels not occluded between them
// (losses/temporal.h). A static scene gives 0 for a deterministic method; flicker raises it.
// Per frame also the style distance to a style image and the content distance to the input frame
// (metrics/style_distance.h, with the backbone's recipe).
#include <cstdint>
#include <string>
#include <vector>

#include "impasto/core/log.h"
#include "impasto/io/video.h"
#include "impasto/metrics/style_distance.h"

namespace impasto {

struct VideoEvaluationOptions {
  std::string video;    // the stylized video (or a folder of frames)
  std::string content;  // the input video (or folder) it was made from: required for E_warp
  std::string style;    // optional: a style image for the per-frame style distance
  int64_t content_start = 0;  // the input's frame matching the video's first (stylize --start)
  int64_t frames = 0;         // at most (0 = all)
  VideoLimits limits;
  BackboneOptions backbone;             // for the distances
  PerceptualDistanceOptions distances;  // empty fields: the backbone's recipe
  std::string device = "auto";
};

struct VideoFrameMetrics {
  int64_t index = 0;
  double warping_error = -1;  // of this frame and the next (-1 for the last)
  double non_occluded = 0;    // fraction of pixels in the mask M_t
  double style_distance = -1, content_distance = -1;  // -1 when not measured
};

struct VideoEvaluation {
  int64_t frames = 0, width = 0, height = 0;
  double warping_error = 0;  // E_warp (0 with fewer than two frames)
  double mean_style_distance = -1, mean_content_distance = -1;
  std::vector<VideoFrameMetrics> per_frame;
  std::vector<std::string> warnings;  // e.g. the two clips have different lengths
};

// FileError/FormatError/LimitError naming the file; OptionError("content") without content.
VideoEvaluation evaluate_video(const VideoEvaluationOptions& options, const Callbacks& callbacks = {});

}  // namespace impasto
