#pragma once
// Video files <-> canonical frames (float32 [1,3,H,W] RGB in [0,1]), streamed one frame at a time
// through Debian's FFmpeg libraries (libavformat, libavcodec, libswscale): memory does not grow
// with a clip's length.
//
// Reading: any container and codec FFmpeg decodes, from local files only (no network protocols, no
// playlists). Frames are turned upright by the stream's display matrix (phones record sideways with
// a rotation flag), so what a method sees is what a player shows. The limits (pixels per frame,
// frames, seconds) are checked from the container's header before anything is decoded.
//
// Writing: .mp4 .mov .mkv (H.264), .webm (VP9), .avi (MPEG-4 part 2), at the frame rate given;
// frames are encoded as they come. An audio track of a VideoReader can be carried over unchanged
// (packets copied, not re-encoded) for the frames read. The file is written under `<path>.tmp` and
// renamed when closed, so a crash never leaves a half-written video under the output's name; a
// stop (Ctrl-C) closes it properly and leaves a playable file of the frames so far.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace impasto {

struct VideoLimits {
  int64_t max_pixels = 64'000'000;  // per frame (as displayed)
  int64_t max_frames = 0;           // 0 = no limit
  double max_seconds = 0;           // 0 = no limit
};

struct VideoInfo {
  std::string container;     // FFmpeg's demuxer name ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi")
  std::string codec;         // the video codec ("h264", "mpeg4", ...)
  int64_t width = 0, height = 0;  // as displayed: after the rotation
  int rotation = 0;          // degrees clockwise applied to show the frames upright: 0, 90, 180, 270
  int fps_num = 0, fps_den = 1;   // average frame rate as a fraction (30000/1001)
  double fps() const { return fps_den ? static_cast<double>(fps_num) / fps_den : 0; }
  int64_t frames = 0;        // from the container; an estimate from duration x rate when it has none
  bool frames_exact = false; // the container stated the count
  double duration_s = 0;
  bool has_audio = false;
  std::string audio_codec;   // "aac", "opus", ... ("" without audio)
};

// True for the extensions VideoWriter writes and is_video_file reads: mp4 mov mkv webm avi m4v.
bool known_video_extension(const std::string& path_or_extension);
// Whether a file is a video by its first bytes (a container FFmpeg knows with a video stream).
bool is_video_file(const std::string& path);

// The header of a video file. FileError (missing, unreadable), FormatError (not a video, no video
// stream, damaged header), LimitError (over `limits`).
VideoInfo probe_video(const std::string& path, const VideoLimits& limits = {});

// LimitError naming `source` when a header is over `limits` (what the probes check).
void check_video_limits(const VideoInfo& info, const VideoLimits& limits, const std::string& source);

// The same for a video held in memory (an upload), read through FFmpeg from the bytes themselves.
VideoInfo probe_video_bytes(const std::string& bytes, const std::string& source, const VideoLimits& limits = {});

struct VideoFrame {
  at::Tensor rgb;     // [1,3,H,W] float32 in [0,1], upright
  int64_t index = 0;  // 0-based among the frames returned
  double time_s = 0;  // presentation time from the clip's start
};

struct VideoReadOptions {
  VideoLimits limits;
  int64_t start = 0;   // first frame returned (0-based); earlier frames are decoded and dropped
  int64_t frames = 0;  // frames returned at most (0 = to the end)
};

class VideoWriter;

class VideoReader {
 public:
  // Opens and probes (errors as probe_video; OptionError("start") when start is past the end).
  explicit VideoReader(const std::string& path, const VideoReadOptions& options = {});
  ~VideoReader();
  VideoReader(const VideoReader&) = delete;
  VideoReader& operator=(const VideoReader&) = delete;
  const VideoInfo& info() const;
  const std::string& path() const;
  // The next frame; false at the end of the clip (or of the selected part). FormatError when the
  // data is damaged beyond what the decoder skips; FormatError naming the file when the clip (or
  // the part selected) has no frames at all.
  bool next(VideoFrame& frame);
  int64_t frames_read() const;

 private:
  friend class VideoWriter;
  struct State;
  std::unique_ptr<State> state_;
};

// The checks VideoWriter makes before encoding, for failing early (before a long job): a known
// extension, an existing parent folder, not a folder itself. FileError otherwise.
void check_video_output_path(const std::string& path);

struct VideoWriteOptions {
  int64_t width = 0, height = 0;  // every frame's size
  int fps_num = 25, fps_den = 1;
  std::string codec;   // "" = the container's default (above); else an FFmpeg encoder name
  int quality = 18;    // constant-quality level (H.264 CRF scale: lower is better, 0-51)
};

class VideoWriter {
 public:
  // FileError for an unknown extension or a missing folder, OptionError("video_codec") for an encoder
  // FFmpeg lacks or the container cannot hold, FormatError for a size the codec cannot encode.
  // With `audio_from`, its audio track (if any) is copied for the span of the frames read from it;
  // a codec the container cannot hold is dropped with a warning in `warnings()`.
  VideoWriter(const std::string& path, const VideoWriteOptions& options, VideoReader* audio_from = nullptr);
  ~VideoWriter();  // closes (errors swallowed: call close() to see them)
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;
  // A frame, [1,3,H,W] or [3,H,W] in [0,1] at the writer's size, shown at `time_s` seconds from the
  // video's start (a source's frame times, so that a clip with dropped or repeated frames keeps its
  // timing and its sound in sync), or right after the previous frame when time_s < 0.
  void write(const at::Tensor& rgb, double time_s = -1);
  // Flushes the encoder, writes the trailer, renames the file into place. Idempotent.
  void close();
  int64_t frames_written() const;
  const std::vector<std::string>& warnings() const;
  const std::string& codec() const;  // the encoder used

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// ---- a video or a folder of frames ------------------------------------------------------------------

// Frames from a video file or from a folder of images in name order (io/image_folder.h), through
// one interface. A folder's frames must all have the first one's size (FormatError naming the file).
class FrameSequence {
 public:
  virtual ~FrameSequence() = default;
  virtual bool next(VideoFrame& frame) = 0;
  virtual int fps_num() const = 0;
  virtual int fps_den() const = 0;
  // Frames the sequence will give (an estimate for containers that do not state the count).
  virtual int64_t expected_frames() const = 0;
  virtual VideoReader* reader() { return nullptr; }  // the video file's reader (audio, its info)
};

// A folder is read with `options` too: start, frames, limits.max_frames and max_pixels apply
// (OptionError("start") past the end, LimitError over max_frames); `folder_fps` is its rate.
std::unique_ptr<FrameSequence> open_frames(const std::string& path, const VideoReadOptions& options = {},
                                           double folder_fps = 25);

}  // namespace impasto
