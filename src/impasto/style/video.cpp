#include "impasto/style/video.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include "impasto/core/error.h"
#include "impasto/io/image_folder.h"
#include "impasto/io/image_ops.h"
#include "impasto/io/text_file.h"
#include "impasto/losses/temporal.h"

namespace impasto {

namespace {

namespace fs = std::filesystem;

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Frames out: a video file (opened with the first frame's size) or numbered images in a folder.
class FrameSink {
 public:
  FrameSink(const VideoStylizeJob& job, FrameSequence& source) : job_(job), source_(source) {
    const std::string& out = job.frame.output;
    if (out.empty()) throw OptionError("output", "give the output video or folder (-o)");
    std::error_code ec;
    if (is_video_output(out)) {
      check_video_output_path(out);  // now, not when the first frame is done
    } else {
      if (fs::exists(out, ec) && !fs::is_directory(out, ec))
        throw FileError(out, "not a video extension (.mp4 .mov .mkv .webm .avi .m4v) and not a folder for frames");
      if (fs::exists(out, ec) && fs::exists(job.frame.content, ec) && fs::equivalent(out, job.frame.content, ec))
        throw OptionError("output", out + " is the content folder: the results would replace the frames; choose another folder");
      fs::create_directories(out, ec);
      if (ec) throw FileError(out, "cannot create the output folder: " + ec.message());
    }
  }

  void write(const at::Tensor& rgb, double time_s) {
    const std::string& out = job_.frame.output;
    if (is_video_output(out)) {
      if (!writer_) {
        VideoWriteOptions o;
        o.width = rgb.size(3);
        o.height = rgb.size(2);
        o.fps_num = source_.fps_num();
        o.fps_den = source_.fps_den();
        o.codec = job_.video_codec;
        o.quality = job_.quality;
        writer_ = std::make_unique<VideoWriter>(out, o, source_.reader());
      }
      writer_->write(rgb, time_s);
    } else {
      char name[32];
      std::snprintf(name, sizeof name, "frame_%06lld.png", static_cast<long long>(++written_));
      write_image((fs::path(out) / name).string(), rgb);
    }
  }

  void close() {
    if (writer_) writer_->close();
  }
  std::vector<std::string> warnings() const { return writer_ ? writer_->warnings() : std::vector<std::string>{}; }
  std::string codec() const { return writer_ ? writer_->codec() : "png"; }

 private:
  const VideoStylizeJob& job_;
  FrameSequence& source_;
  std::unique_ptr<VideoWriter> writer_;
  int64_t written_ = 0;
};

Json describe_source(FrameSequence& source, const std::string& path) {
  if (!source.reader()) return Json{{"kind", "frames"}, {"folder", path}};
  const VideoInfo& i = source.reader()->info();
  return Json{{"kind", "video"}, {"container", i.container}, {"codec", i.codec}, {"width", i.width},
              {"height", i.height}, {"rotation", i.rotation}, {"fps", i.fps()}, {"frames", i.frames},
              {"duration_s", i.duration_s}, {"audio", i.audio_codec}};
}

}  // namespace

bool is_video_output(const std::string& path) { return known_video_extension(fs::path(path).extension().string()) && !fs::path(path).extension().empty(); }

VideoStylizeResult run_stylize_video(const VideoStylizeJob& job, const Callbacks& callbacks) {
  const auto t_start = std::chrono::steady_clock::now();
  const StylizeJob& fj = job.frame;
  const Method& method = method_registry().get(fj.method);
  const MethodDescription& description = method.description();
  method.check(fj.options);
  check_stylize_job(fj, description);
  if (!fj.init_image.empty()) throw OptionError("init_image", "a video's frames start from their own content (or the previous frame)");
  if (!(job.consistency >= 0 && job.consistency <= 1)) throw OptionError("consistency", "must be in [0, 1] (0 = every frame on its own)");
  if (!(job.scene_cut >= 0 && job.scene_cut <= 1)) throw OptionError("scene_cut", "must be in [0, 1]");
  if (job.start < 0) throw OptionError("start", "must be >= 0");
  if (job.frames < 0) throw OptionError("frames", "must be >= 0 (0 = to the end)");
  if (job.fps < 0 || job.fps > 1000) throw OptionError("fps", "must be in 0..1000 (0 = 25 for a frame folder)");
  if (fj.content.empty()) throw OptionError("content", "no video given");
  if (!job.video_codec.empty() && !is_video_output(fj.output))
    throw OptionError("video_codec", "frames written to a folder are PNG images; --video-codec is for video files");

  VideoReadOptions read;
  read.limits = job.limits;
  read.start = job.start;
  read.frames = job.frames;
  const std::unique_ptr<FrameSequence> frames = open_frames(fj.content, read, job.fps > 0 ? job.fps : 25.0);
  FrameSequence& source = *frames;
  FrameSink sink(job, source);
  ImageReadOptions read_options;
  read_options.max_pixels = fj.max_pixels;
  // Masks: one image per style for every frame, or a folder per style with a mask per frame (in name
  // order, the first for the first frame taken); then each frame opens its session with its masks
  // (networks through the cache, so only the styles are encoded again).
  std::vector<std::vector<std::string>> frame_masks(fj.masks.size());
  StylizeJob shared = fj;
  bool masks_per_frame = false;
  for (size_t i = 0; i < fj.masks.size(); ++i) {
    std::error_code ec;
    if (fj.masks[i].empty() || !fs::is_directory(fj.masks[i], ec)) continue;
    for (const auto& file : list_image_files(fj.masks[i], /*recursive=*/false, "masks"))
      frame_masks[i].push_back((fs::path(fj.masks[i]) / file).string());
    shared.masks[i].clear();
    masks_per_frame = true;
  }
  ResourceCache local_cache;
  ResourceCache* cache = fj.cache ? fj.cache : &local_cache;
  const StyleSet styles = read_style_set(shared, read_options);
  std::unique_ptr<Session> session = method.open(fj.options, styles, cache);
  auto open_for_frame = [&](int64_t k) {
    StyleSet set = styles;
    for (size_t i = 0; i < frame_masks.size(); ++i) {
      if (frame_masks[i].empty()) continue;
      if (k >= static_cast<int64_t>(frame_masks[i].size()))
        throw OptionError("masks", fj.masks[i] + " has " + std::to_string(frame_masks[i].size()) + " masks, fewer than the frames (" +
                                       std::to_string(k + 1) + " so far)");
      set.styles[i].mask = to_single_channel(read_image(frame_masks[i][static_cast<size_t>(k)], read_options).rgb);
    }
    session = method.open(fj.options, set, cache);
  };
  const bool guided = description.capabilities.temporal;
  const bool consistent = job.consistency > 0;

  Callbacks per_frame = callbacks;
  per_frame.progress = nullptr;  // one bar over the frames
  VideoStylizeResult result;
  const int64_t expected = source.expected_frames();
  at::Tensor previous_input, previous_output;  // at the output size
  double warping_sum = 0;
  int64_t warping_terms = 0;
  Json frame_summaries = Json::array();
  VideoFrame frame;
  double first_time_s = -1;  // the clip's time of the first frame taken
  std::string detail;
  while (!callbacks.stop_requested() && source.next(frame)) {
    const auto t_frame = std::chrono::steady_clock::now();
    VideoFrameRecord record;
    record.index = frame.index;
    if (masks_per_frame) open_for_frame(frame.index);
    // The flows at the output size, from the previous frame (the output size is the first result's).
    std::optional<FlowPair> backward_pair, forward_pair;
    at::Tensor input;
    if (previous_output.defined()) {
      input = resize_image(frame.rgb, previous_output.size(2), previous_output.size(3));
      const at::Tensor forward = optical_flow(previous_input, input);
      const at::Tensor backward = optical_flow(input, previous_input);
      backward_pair = flow_pair(backward, forward);  // on this frame's grid: where its pixels were
      forward_pair = flow_pair(forward, backward);   // on the previous frame's grid: for E_warp
      record.reliable_fraction = backward_pair->reliable_fraction;
      record.scene_cut = record.reliable_fraction < job.scene_cut;
    }
    const bool carry = backward_pair && !record.scene_cut && consistent;
    at::Tensor warped_previous;
    if (backward_pair && record.scene_cut) {
      session->reset();
      ++result.scene_cuts;
      callbacks.info("frame " + std::to_string(frame.index + 1) + ": scene cut (" +
                     std::to_string(static_cast<int>(record.reliable_fraction * 100)) + "% of the motion reliable); starting afresh");
    }
    if (carry) {
      warped_previous = warp_with_flow(previous_output, backward_pair->flow);
      if (guided) session->guide_next(TemporalGuide{warped_previous, backward_pair->reliable});
    }
    Image content;
    content.rgb = frame.rgb;
    StylizeHooks hooks;
    hooks.callbacks = per_frame;
    StylizeResult stylized = session->stylize(content, hooks);
    at::Tensor output = stylized.image.rgb;
    detail = stylized.detail;
    if (!input.defined()) input = resize_image(frame.rgb, output.size(2), output.size(3));
    if (previous_output.defined() && output.sizes() != previous_output.sizes())
      throw FormatError(fj.content, "frame " + std::to_string(frame.index + 1) + " came out at another size than the first");
    if (carry && !guided) {
      // One-pass methods: keep the previous strokes where the motion is reliable.
      const at::Tensor keep = job.consistency * backward_pair->reliable.to(output.device());
      output = (output * (1 - keep) + warped_previous.to(output.device()) * keep).clamp(0, 1);
    }
    if (forward_pair && !record.scene_cut) {
      record.warping_error = warping_error_term(previous_output, output, *forward_pair);
      warping_sum += record.warping_error;
      ++warping_terms;
    }
    if (first_time_s < 0) first_time_s = frame.time_s;
    sink.write(output, frame.time_s - first_time_s);
    ++result.frames;
    result.width = output.size(3);
    result.height = output.size(2);
    previous_input = input;
    previous_output = output;
    record.seconds = seconds_since(t_frame);
    record.steps = stylized.steps;
    result.records.push_back(record);
    frame_summaries.push_back(Json{{"index", record.index}, {"seconds", record.seconds}, {"steps", record.steps},
                                   {"reliable_fraction", record.reliable_fraction}, {"scene_cut", record.scene_cut},
                                   {"warping_error", record.warping_error >= 0 ? Json(record.warping_error) : Json()},
                                   {"detail", stylized.detail}});
    ProgressEvent e;
    e.stage = "stylize video " + std::to_string(result.width) + "x" + std::to_string(result.height);
    e.step = result.frames;
    e.total = std::max(expected, result.frames);
    e.elapsed_s = seconds_since(t_start);
    e.metrics = {{"frames/s", result.frames / std::max(1e-9, e.elapsed_s)}};
    if (warping_terms > 0) e.metrics.emplace_back("E_warp", warping_sum / warping_terms);
    callbacks.report(e);
    if (stylized.stopped_early) break;
  }
  result.stopped_early = callbacks.stop_requested();
  sink.close();
  result.warnings = sink.warnings();
  for (const auto& w : result.warnings) callbacks.warn(w);
  result.seconds = seconds_since(t_start);
  result.frames_per_second = result.frames / std::max(1e-9, result.seconds);
  result.warping_error = warping_terms > 0 ? warping_sum / warping_terms : 0;

  Json summary{{"method", fj.method},
               {"options", session->options()},
               {"content", fj.content},
               {"source", describe_source(source, fj.content)},
               {"styles", fj.styles},
               {"style_blend_weights", fj.style_blend_weights},
               {"masks", fj.masks},
               {"output", fj.output},
               {"codec", sink.codec()},
               {"start", job.start},
               {"frames", result.frames},
               {"width", result.width},
               {"height", result.height},
               {"fps", static_cast<double>(source.fps_num()) / source.fps_den()},
               {"consistency", consistent ? (guided ? "temporal loss (method)" : "flow blend") : "none"},
               {"consistency_strength", job.consistency},
               {"scene_cut_threshold", job.scene_cut},
               {"scene_cuts", result.scene_cuts},
               {"warping_error", result.warping_error},
               {"warping_error_pairs", warping_terms},
               {"seconds", result.seconds},
               {"frames_per_second", result.frames_per_second},
               {"stopped_early", result.stopped_early},
               {"warnings", result.warnings},
               {"per_frame", frame_summaries}};
  if (result.frames > 0) {
    const std::string path = is_video_output(fj.output) ? output_stem(fj.output) + ".json"
                                                        : (fs::path(fj.output) / "summary.json").string();
    write_text_file(path, summary.dump(2) + "\n");
  }
  result.summary = std::move(summary);
  return result;
}

}  // namespace impasto
