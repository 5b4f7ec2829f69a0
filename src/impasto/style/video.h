#pragma once
// Stylizing a video: one session (style/method.h) over the frames in order, made temporally
// consistent with optical flow, and its flicker measured.
//
// For every frame after the first, the flows between it and the previous input frame (both ways,
// DIS, at the output size) give the previous *result* warped onto this frame and where that warp
// can be trusted (losses/temporal.h: Ruder et al. 2016's forward-backward and motion-boundary
// checks). Then:
//   - methods with the temporal capability (gatys) get it as a TemporalGuide: the frame starts from
//     the warped result and keeps to it with the temporal loss, in far fewer iterations;
//   - one-pass methods blend:  out = (1 - s c) new + s c warped,  s = `consistency`, c the
//     reliability, so what moves with the scene keeps its strokes and what appears is new.
// A frame where less than `scene_cut` of the pixels are reliable starts afresh (a cut): the
// session is reset and nothing is carried over.
//
// The same flows give the warping error of the output as it is written (Lai et al. 2018;
// losses/temporal.h warping_error_term), reported in the summary: per pair of frames and its mean.
//
// In and out: a video file (io/video.h: streamed, audio carried over, the part --start/--frames)
// or a folder of frames (image files in name order; written as frame_000001.png ...). A stop
// request ends after the current frame and leaves a playable file of the frames so far.
#include <cstdint>
#include <string>
#include <vector>

#include "impasto/io/video.h"
#include "impasto/style/job.h"

namespace impasto {

struct VideoStylizeJob {
  // What each frame gets: method, options, styles, weights, masks (per style: one image at the
  // frame's size for every frame, or a folder of them, one per frame in name order), cache. Its content is the video (or frame folder) and its output the video (or
  // folder); the image-only fields (content_bytes, write_output, format, save_every) are not used.
  StylizeJob frame;
  int64_t start = 0;           // first frame (0-based)
  int64_t frames = 0;          // at most this many (0 = to the end)
  VideoLimits limits;          // checked from the container before decoding
  double fps = 0;              // frame rate of a frame folder's output video (0 = 25); a video keeps its own
  std::string video_codec;     // "" = the container's default
  int quality = 18;            // H.264 CRF scale (lower is better)
  // One-pass methods: strength of the warped previous result where reliable (0 = every frame on
  // its own). Methods with the temporal capability take their own temporal options instead and
  // are guided whenever this is above 0.
  double consistency = 0.6;
  double scene_cut = 0.4;      // reliable fraction below which a frame starts afresh
};

struct VideoFrameRecord {
  int64_t index = 0;
  double seconds = 0;            // stylizing this frame
  int64_t steps = 0;             // iterative methods: steps the frame took (at its last level)
  double reliable_fraction = 1;  // of the flow from the previous frame (1 for the first)
  bool scene_cut = false;
  double warping_error = -1;     // of this frame and the previous one (-1: first frame or a cut)
};

struct VideoStylizeResult {
  Json summary;                  // also written to <output stem>.json (a folder: summary.json in it)
  int64_t frames = 0;            // written
  int64_t width = 0, height = 0;
  double seconds = 0, frames_per_second = 0;
  double warping_error = 0;      // mean over the frame pairs (Lai et al.'s E_warp), 0 with one frame
  int64_t scene_cuts = 0;
  bool stopped_early = false;
  std::vector<VideoFrameRecord> records;
  std::vector<std::string> warnings;
};

// Paths: a video by its extension (io/video.h known_video_extension), else a folder.
bool is_video_output(const std::string& path);

// Errors: OptionError (options, method, consistency, frames), FileError/FormatError/LimitError
// naming the file (content, styles, masks, output), all before the first frame is stylized.
VideoStylizeResult run_stylize_video(const VideoStylizeJob& job, const Callbacks& callbacks);

}  // namespace impasto
