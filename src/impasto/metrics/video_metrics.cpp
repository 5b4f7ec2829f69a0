#include "impasto/metrics/video_metrics.h"

#include <torch/torch.h>

#include <chrono>

#include "impasto/core/error.h"
#include "impasto/core/runtime.h"
#include "impasto/io/image.h"
#include "impasto/io/image_ops.h"
#include "impasto/losses/temporal.h"

namespace impasto {

VideoEvaluation evaluate_video(const VideoEvaluationOptions& o, const Callbacks& callbacks) {
  if (o.video.empty()) throw OptionError("video", "no video to evaluate");
  if (o.content.empty()) throw OptionError("content", "the warping error needs the input video the result was made from (--content)");
  VideoReadOptions read_video;
  read_video.limits = o.limits;
  read_video.frames = o.frames;
  VideoReadOptions read_content = read_video;
  read_content.start = o.content_start;
  auto video = open_frames(o.video, read_video);
  auto content = open_frames(o.content, read_content);

  const bool distances = !o.style.empty();
  const c10::Device device = resolve_device(o.device);
  Backbone backbone;
  PerceptualDistanceOptions dist_options;
  std::map<std::string, at::Tensor> target_grams;
  std::set<std::string> taps, content_taps;  // the output's layers (style and content), the input's
  LossNormalisation norm = LossNormalisation::energy;
  if (distances) {
    ImageReadOptions image_read;
    image_read.max_pixels = o.limits.max_pixels;
    const at::Tensor style = read_image(o.style, image_read).rgb.to(device);
    backbone = make_backbone(o.backbone);
    backbone->to(device);
    backbone->eval();
    dist_options = resolve_distance_options(*backbone, o.distances);
    norm = parse_normalisation(dist_options.normalisation);
    target_grams = style_grams(*backbone, style, dist_options.style_layers);
    for (const auto& [name, w] : dist_options.content_layers) content_taps.insert(name);
    taps = content_taps;
    for (const auto& [name, w] : dist_options.style_layers) taps.insert(name);
  }

  VideoEvaluation out;
  VideoFrame v, c;
  at::Tensor previous_output, previous_input;
  double sum = 0, style_sum = 0, content_sum = 0;
  int64_t pairs = 0;
  const int64_t expected = std::min(video->expected_frames(), content->expected_frames());
  const auto t0 = std::chrono::steady_clock::now();
  while (true) {
    const bool have_v = video->next(v);
    const bool have_c = have_v && content->next(c);
    if (!have_v || !have_c) {
      if (have_v != have_c || (!have_v && content->next(c)))
        out.warnings.push_back("the videos have different lengths: measured the first " + std::to_string(out.frames) + " frames");
      break;
    }
    const at::Tensor output = v.rgb;
    const at::Tensor input = resize_image(c.rgb, output.size(2), output.size(3));
    if (previous_output.defined()) {
      if (output.sizes() != previous_output.sizes()) throw FormatError(o.video, "frames change size at frame " + std::to_string(out.frames + 1));
      const FlowPair flow = flow_between(previous_input, input);
      VideoFrameMetrics& last = out.per_frame.back();
      last.warping_error = warping_error_term(previous_output, output, flow);
      last.non_occluded = flow.non_occluded.mean().item<double>();
      sum += last.warping_error;
      ++pairs;
    }
    VideoFrameMetrics m;
    m.index = out.frames;
    if (distances) {
      torch::NoGradGuard no_grad;
      const FeatureMaps features = backbone->extract(output.to(device), taps);
      const FeatureMaps content_features = backbone->extract(input.to(device), content_taps);
      m.style_distance = style_distance(features, target_grams, dist_options.style_layers, norm).total;
      m.content_distance = content_distance(features, content_features, dist_options.content_layers, norm).total;
      style_sum += m.style_distance;
      content_sum += m.content_distance;
    }
    out.per_frame.push_back(m);
    ++out.frames;
    out.width = output.size(3);
    out.height = output.size(2);
    previous_output = output;
    previous_input = input;
    ProgressEvent e;
    e.stage = "evaluate video";
    e.step = out.frames;
    e.total = std::max(expected, out.frames);
    e.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (pairs > 0) e.metrics.emplace_back("E_warp", sum / pairs);
    callbacks.report(e);
    if (callbacks.stop_requested()) break;
  }
  out.warping_error = pairs > 0 ? sum / pairs : 0;
  if (distances && out.frames > 0) {
    out.mean_style_distance = style_sum / out.frames;
    out.mean_content_distance = content_sum / out.frames;
  }
  for (const auto& w : out.warnings) callbacks.warn(w);
  return out;
}

}  // namespace impasto
