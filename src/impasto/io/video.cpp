#include "impasto/io/video.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <system_error>

#include "impasto/core/error.h"
#include "impasto/io/image.h"
#include "impasto/io/image_folder.h"

namespace impasto {

namespace {

namespace fs = std::filesystem;

std::string av_error_text(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, text, sizeof text);
  return text;
}

std::string lower_extension(const std::string& path_or_extension) {
  std::string ext = path_or_extension;
  const auto dot = ext.rfind('.');
  if (dot != std::string::npos) ext = ext.substr(dot + 1);
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

// Demuxers a clip may be read with: containers of recorded video. Playlists and concatenation
// (hls, concat), image sequences and raw devices are left out: they open other files or URLs.
constexpr const char* kDemuxers = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,mpeg,ogg,flv,asf";

struct FormatInput {
  AVFormatContext* context = nullptr;
  ~FormatInput() {
    if (context) avformat_close_input(&context);
  }
};

struct CodecContext {
  AVCodecContext* context = nullptr;
  ~CodecContext() {
    if (context) avcodec_free_context(&context);
  }
};

struct Packet {
  AVPacket* packet = av_packet_alloc();
  ~Packet() { av_packet_free(&packet); }
};

struct Frame {
  AVFrame* frame = av_frame_alloc();
  ~Frame() { av_frame_free(&frame); }
};

// FFmpeg's own messages would go to stderr; the library reports through its errors instead.
void quiet_ffmpeg() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_level(AV_LOG_QUIET); });
}

// Opens `path` (local file only) and reads its stream information.
void open_input(const std::string& path, FormatInput& input) {
  quiet_ffmpeg();
  std::error_code ec;
  if (!fs::exists(path, ec)) throw FileError(path, "no such file");
  if (fs::is_directory(path, ec)) throw FileError(path, "is a folder, not a video");
  AVDictionary* options = nullptr;
  av_dict_set(&options, "protocol_whitelist", "file", 0);
  av_dict_set(&options, "format_whitelist", kDemuxers, 0);
  const int rc = avformat_open_input(&input.context, path.c_str(), nullptr, &options);
  av_dict_free(&options);
  if (rc < 0) {
    if (rc == AVERROR(EACCES)) throw FileError(path, "cannot be read (permission denied)");
    if (rc == AVERROR_EOF) throw FormatError(path, "has no frames: the file ends before any video data (empty or truncated)");
    throw FormatError(path, "not a video file FFmpeg can read (" + av_error_text(rc) + ")");
  }
  const int info = avformat_find_stream_info(input.context, nullptr);
  if (info < 0) throw FormatError(path, "damaged video header (" + av_error_text(info) + ")");
}

// Degrees clockwise that turn the stored frames upright (the display matrix's rotation).
int display_rotation(const AVStream* stream) {
  const uint8_t* matrix = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, nullptr);
  if (!matrix) return 0;
  const double counterclockwise = av_display_rotation_get(reinterpret_cast<const int32_t*>(matrix));
  if (std::isnan(counterclockwise)) return 0;
  int clockwise = static_cast<int>(std::lround(-counterclockwise)) % 360;
  if (clockwise < 0) clockwise += 360;
  return (clockwise + 45) / 90 * 90 % 360;  // the nearest quarter turn
}

VideoInfo describe(const std::string& path, AVFormatContext* context, int video_stream, int audio_stream,
                   const VideoLimits& limits) {
  const AVStream* stream = context->streams[video_stream];
  const AVCodecParameters* par = stream->codecpar;
  VideoInfo info;
  info.container = context->iformat ? context->iformat->name : "";
  const AVCodecDescriptor* desc = avcodec_descriptor_get(par->codec_id);
  info.codec = desc ? desc->name : "unknown";
  info.rotation = display_rotation(stream);
  info.width = par->width;
  info.height = par->height;
  if (info.rotation == 90 || info.rotation == 270) std::swap(info.width, info.height);
  if (info.width <= 0 || info.height <= 0) throw FormatError(path, "the video stream has no frame size");
  AVRational rate = stream->avg_frame_rate;
  if (rate.num <= 0 || rate.den <= 0) rate = stream->r_frame_rate;
  if (rate.num <= 0 || rate.den <= 0) rate = AVRational{25, 1};
  av_reduce(&rate.num, &rate.den, rate.num, rate.den, 1 << 20);
  info.fps_num = rate.num;
  info.fps_den = rate.den;
  if (stream->duration != AV_NOPTS_VALUE && stream->duration > 0)
    info.duration_s = stream->duration * av_q2d(stream->time_base);
  else if (context->duration != AV_NOPTS_VALUE && context->duration > 0)
    info.duration_s = static_cast<double>(context->duration) / AV_TIME_BASE;
  if (stream->nb_frames > 0) {
    info.frames = stream->nb_frames;
    info.frames_exact = true;
  } else {
    info.frames = static_cast<int64_t>(std::llround(info.duration_s * info.fps()));
  }
  if (audio_stream >= 0) {
    info.has_audio = true;
    const AVCodecDescriptor* audio = avcodec_descriptor_get(context->streams[audio_stream]->codecpar->codec_id);
    info.audio_codec = audio ? audio->name : "unknown";
  }
  check_video_limits(info, limits, path);
  return info;
}

int find_video_stream(const std::string& path, AVFormatContext* context) {
  const int index = av_find_best_stream(context, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (index < 0) throw FormatError(path, "has no video stream");
  return index;
}

// The canonical tensor of an RGB24 picture.
at::Tensor rgb24_to_tensor(const uint8_t* data, int line_size, int width, int height) {
  at::Tensor hwc = torch::from_blob(const_cast<uint8_t*>(data), {height, width, 3}, {line_size, 3, 1}, torch::kUInt8);
  return hwc.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32).div_(255.0).contiguous();
}

}  // namespace

void check_video_limits(const VideoInfo& info, const VideoLimits& limits, const std::string& source) {
  const int64_t pixels = info.width * info.height;
  if (pixels > limits.max_pixels)
    throw LimitError(source, "frames of " + std::to_string(info.width) + "x" + std::to_string(info.height) + " = " +
                                 std::to_string(pixels) + " pixels, over the limit of " + std::to_string(limits.max_pixels));
  if (limits.max_frames > 0 && info.frames > limits.max_frames)
    throw LimitError(source, std::to_string(info.frames) + " frames, over the limit of " + std::to_string(limits.max_frames));
  if (limits.max_seconds > 0 && info.duration_s > limits.max_seconds) {
    char text[160];
    std::snprintf(text, sizeof text, "%.1f s long, over the limit of %.1f s", info.duration_s, limits.max_seconds);
    throw LimitError(source, text);
  }
}

void check_video_output_path(const std::string& path) {
  if (!known_video_extension(path))
    throw FileError(path, "unknown video extension (use .mp4, .mov, .mkv, .webm, .avi or .m4v)");
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::is_directory(parent, ec)) throw FileError(path, "the folder " + parent.string() + " does not exist");
  if (fs::is_directory(path, ec)) throw FileError(path, "is a folder");
}

bool known_video_extension(const std::string& path_or_extension) {
  const std::string ext = lower_extension(path_or_extension);
  return ext == "mp4" || ext == "mov" || ext == "mkv" || ext == "webm" || ext == "avi" || ext == "m4v";
}

bool is_video_file(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  quiet_ffmpeg();
  FormatInput input;
  AVDictionary* options = nullptr;
  av_dict_set(&options, "protocol_whitelist", "file", 0);
  av_dict_set(&options, "format_whitelist", kDemuxers, 0);
  const int rc = avformat_open_input(&input.context, path.c_str(), nullptr, &options);
  av_dict_free(&options);
  if (rc < 0) return false;
  for (unsigned i = 0; i < input.context->nb_streams; ++i)
    if (input.context->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) return true;
  return avformat_find_stream_info(input.context, nullptr) >= 0 &&
         av_find_best_stream(input.context, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0) >= 0;
}

VideoInfo probe_video(const std::string& path, const VideoLimits& limits) {
  FormatInput input;
  open_input(path, input);
  const int video = find_video_stream(path, input.context);
  const int audio = av_find_best_stream(input.context, AVMEDIA_TYPE_AUDIO, -1, video, nullptr, 0);
  return describe(path, input.context, video, audio >= 0 ? audio : -1, limits);
}

namespace {

// Bytes in memory as an FFmpeg input (read and seek callbacks over the buffer).
struct MemoryInput {
  const std::string* bytes = nullptr;
  int64_t position = 0;

  static int read(void* opaque, uint8_t* buffer, int size) {
    auto* m = static_cast<MemoryInput*>(opaque);
    const int64_t left = static_cast<int64_t>(m->bytes->size()) - m->position;
    if (left <= 0) return AVERROR_EOF;
    const int n = static_cast<int>(std::min<int64_t>(left, size));
    std::memcpy(buffer, m->bytes->data() + m->position, static_cast<size_t>(n));
    m->position += n;
    return n;
  }
  static int64_t seek(void* opaque, int64_t offset, int whence) {
    auto* m = static_cast<MemoryInput*>(opaque);
    const int64_t size = static_cast<int64_t>(m->bytes->size());
    if (whence == AVSEEK_SIZE) return size;
    int64_t target = offset;
    if ((whence & 3) == SEEK_CUR) target = m->position + offset;
    else if ((whence & 3) == SEEK_END) target = size + offset;
    if (target < 0 || target > size) return AVERROR(EINVAL);
    m->position = target;
    return target;
  }
};

}  // namespace

VideoInfo probe_video_bytes(const std::string& bytes, const std::string& source, const VideoLimits& limits) {
  quiet_ffmpeg();
  if (bytes.empty()) throw FormatError(source, "empty upload");
  MemoryInput memory{&bytes, 0};
  constexpr int kBuffer = 64 * 1024;
  auto* buffer = static_cast<uint8_t*>(av_malloc(kBuffer));
  AVIOContext* io = avio_alloc_context(buffer, kBuffer, 0, &memory, &MemoryInput::read, nullptr, &MemoryInput::seek);
  if (!io) {
    av_free(buffer);
    throw FormatError(source, "out of memory reading the video");
  }
  FormatInput input;
  input.context = avformat_alloc_context();
  input.context->pb = io;
  input.context->flags |= AVFMT_FLAG_CUSTOM_IO;
  AVDictionary* options = nullptr;
  av_dict_set(&options, "format_whitelist", kDemuxers, 0);
  int rc = avformat_open_input(&input.context, nullptr, nullptr, &options);
  av_dict_free(&options);
  auto free_io = [&] {
    av_freep(&io->buffer);
    avio_context_free(&io);
  };
  if (rc < 0) {  // avformat_open_input freed the context, not our I/O
    free_io();
    throw FormatError(source, rc == AVERROR_EOF ? "has no frames: the data ends before any video (empty or truncated)"
                                                : "not a video FFmpeg can read (" + av_error_text(rc) + ")");
  }
  try {
    rc = avformat_find_stream_info(input.context, nullptr);
    if (rc < 0) throw FormatError(source, "damaged video header (" + av_error_text(rc) + ")");
    const int video = find_video_stream(source, input.context);
    const int audio = av_find_best_stream(input.context, AVMEDIA_TYPE_AUDIO, -1, video, nullptr, 0);
    VideoInfo info = describe(source, input.context, video, audio >= 0 ? audio : -1, limits);
    avformat_close_input(&input.context);
    free_io();
    return info;
  } catch (...) {
    avformat_close_input(&input.context);
    free_io();
    throw;
  }
}

// ---- reading ----------------------------------------------------------------------------------------

struct VideoReader::State {
  std::string path;
  VideoReadOptions options;
  VideoInfo info;
  FormatInput input;
  CodecContext decoder;
  int video_stream = -1, audio_stream = -1;
  SwsContext* scaler = nullptr;
  std::vector<uint8_t> rgb;  // one RGB24 picture
  Packet packet;
  Frame frame;
  bool input_done = false, decoder_done = false;
  int64_t decoded = 0;    // frames out of the decoder (including those before `start`)
  int64_t returned = 0;
  // Audio packets read so far, kept for a writer that carries the audio over (bounded: packets
  // arrive interleaved with the video, and the writer takes them after every frame).
  std::deque<AVPacket*> audio;
  bool keep_audio = false;
  double span_start_s = -1, span_end_s = -1;  // presentation times of the first and last frame returned
  double frame_duration_s = 0;

  ~State() {
    sws_freeContext(scaler);
    for (AVPacket* p : audio) av_packet_free(&p);
  }

  // An audio packet's presentation time from the audio stream's start (`otherwise` without one).
  double audio_time(const AVPacket* p, double otherwise) const {
    if (p->pts == AV_NOPTS_VALUE) return otherwise;
    const AVStream* in = input.context->streams[audio_stream];
    const int64_t start = in->start_time == AV_NOPTS_VALUE ? 0 : in->start_time;
    return static_cast<double>(p->pts - start) * av_q2d(in->time_base);
  }

  // The next decoded picture into `frame`; false at the end.
  bool decode_next() {
    while (true) {
      const int got = avcodec_receive_frame(decoder.context, frame.frame);
      if (got == 0) return true;
      if (got == AVERROR_EOF) return false;
      if (got != AVERROR(EAGAIN)) throw FormatError(path, "damaged video data (" + av_error_text(got) + ")");
      if (input_done) return false;
      const int rc = av_read_frame(input.context, packet.packet);
      if (rc == AVERROR_EOF) {
        input_done = true;
        avcodec_send_packet(decoder.context, nullptr);  // drain
        continue;
      }
      if (rc < 0) {
        // A truncated file ends here: what was decoded stays usable.
        input_done = true;
        avcodec_send_packet(decoder.context, nullptr);
        continue;
      }
      if (packet.packet->stream_index == video_stream) {
        const int sent = avcodec_send_packet(decoder.context, packet.packet);
        if (sent < 0 && sent != AVERROR(EAGAIN) && sent != AVERROR_INVALIDDATA)
          throw FormatError(path, "damaged video data (" + av_error_text(sent) + ")");
      } else if (packet.packet->stream_index == audio_stream && keep_audio) {
        audio.push_back(av_packet_clone(packet.packet));
      }
      av_packet_unref(packet.packet);
    }
  }

  at::Tensor picture() {
    const AVFrame* f = frame.frame;
    scaler = sws_getCachedContext(scaler, f->width, f->height, static_cast<AVPixelFormat>(f->format), f->width, f->height,
                                  AV_PIX_FMT_RGB24, SWS_BICUBIC, nullptr, nullptr, nullptr);
    if (!scaler) throw FormatError(path, "frames in a pixel format that cannot be converted");
    const int line = f->width * 3;
    rgb.resize(static_cast<size_t>(line) * f->height);
    uint8_t* planes[4] = {rgb.data(), nullptr, nullptr, nullptr};
    int lines[4] = {line, 0, 0, 0};
    sws_scale(scaler, f->data, f->linesize, 0, f->height, planes, lines);
    at::Tensor t = rgb24_to_tensor(rgb.data(), line, f->width, f->height);
    // rot90 turns counterclockwise from H towards W: k = -1 is a quarter turn clockwise.
    if (info.rotation != 0) t = torch::rot90(t, -info.rotation / 90, {2, 3}).contiguous();
    return t;
  }

  double time_of(const AVFrame* f) const {
    const int64_t ts = f->best_effort_timestamp;
    const AVStream* s = input.context->streams[video_stream];
    if (ts == AV_NOPTS_VALUE) return static_cast<double>(decoded - 1) * frame_duration_s;
    const int64_t start = s->start_time == AV_NOPTS_VALUE ? 0 : s->start_time;
    return static_cast<double>(ts - start) * av_q2d(s->time_base);
  }
};

VideoReader::VideoReader(const std::string& path, const VideoReadOptions& options) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.path = path;
  s.options = options;
  if (options.start < 0) throw OptionError("start", "must be >= 0 (got " + std::to_string(options.start) + ")");
  if (options.frames < 0) throw OptionError("frames", "must be >= 0 (got " + std::to_string(options.frames) + ")");
  open_input(path, s.input);
  s.video_stream = find_video_stream(path, s.input.context);
  const int audio = av_find_best_stream(s.input.context, AVMEDIA_TYPE_AUDIO, -1, s.video_stream, nullptr, 0);
  s.audio_stream = audio >= 0 ? audio : -1;
  s.info = describe(path, s.input.context, s.video_stream, s.audio_stream, options.limits);
  if (s.info.frames_exact && options.start >= s.info.frames)
    throw OptionError("start", "frame " + std::to_string(options.start) + " is past the end of " + path + " (" +
                                   std::to_string(s.info.frames) + " frames)");
  s.frame_duration_s = s.info.fps() > 0 ? 1.0 / s.info.fps() : 0.04;
  // Only the streams used are demuxed.
  for (unsigned i = 0; i < s.input.context->nb_streams; ++i)
    if (static_cast<int>(i) != s.video_stream && static_cast<int>(i) != s.audio_stream)
      s.input.context->streams[i]->discard = AVDISCARD_ALL;
  const AVCodecParameters* par = s.input.context->streams[s.video_stream]->codecpar;
  const AVCodec* codec = avcodec_find_decoder(par->codec_id);
  if (!codec) throw FormatError(path, "no decoder for its video codec '" + s.info.codec + "'");
  s.decoder.context = avcodec_alloc_context3(codec);
  if (!s.decoder.context || avcodec_parameters_to_context(s.decoder.context, par) < 0)
    throw FormatError(path, "cannot set up the '" + s.info.codec + "' decoder");
  s.decoder.context->thread_count = 0;  // FFmpeg picks
  const int rc = avcodec_open2(s.decoder.context, codec, nullptr);
  if (rc < 0) throw FormatError(path, "cannot open the '" + s.info.codec + "' decoder (" + av_error_text(rc) + ")");
}

VideoReader::~VideoReader() = default;

const VideoInfo& VideoReader::info() const { return state_->info; }
const std::string& VideoReader::path() const { return state_->path; }
int64_t VideoReader::frames_read() const { return state_->returned; }

bool VideoReader::next(VideoFrame& out) {
  State& s = *state_;
  if (s.options.frames > 0 && s.returned >= s.options.frames) return false;
  while (true) {
    if (!s.decode_next()) {
      if (s.returned == 0) {
        if (s.decoded == 0) throw FormatError(s.path, "has no frames that can be decoded (empty or truncated video)");
        throw OptionError("start", "frame " + std::to_string(s.options.start) + " is past the end of " + s.path + " (" +
                                       std::to_string(s.decoded) + " frames)");
      }
      return false;
    }
    ++s.decoded;
    if (s.decoded <= s.options.start) {
      av_frame_unref(s.frame.frame);
      continue;
    }
    // The header's promises hold for the data too: a stream that changes to larger frames, or runs
    // on past the frames or seconds its header states, is stopped at the limit.
    const VideoLimits& limits = s.options.limits;
    const int64_t pixels = static_cast<int64_t>(s.frame.frame->width) * s.frame.frame->height;
    if (pixels > limits.max_pixels)
      throw LimitError(s.path, "frame " + std::to_string(s.decoded) + " has " + std::to_string(pixels) +
                                   " pixels, over the limit of " + std::to_string(limits.max_pixels));
    if (limits.max_frames > 0 && s.decoded > limits.max_frames)
      throw LimitError(s.path, "more than " + std::to_string(limits.max_frames) + " frames (the header said " +
                                   std::to_string(s.info.frames) + ")");
    if (limits.max_seconds > 0 && s.time_of(s.frame.frame) > limits.max_seconds)
      throw LimitError(s.path, "runs past the limit of " + std::to_string(static_cast<int>(limits.max_seconds)) + " s");
    out.rgb = s.picture();
    out.index = s.returned++;
    out.time_s = s.time_of(s.frame.frame);
    if (s.span_start_s < 0) s.span_start_s = out.time_s;
    s.span_end_s = out.time_s + s.frame_duration_s;
    av_frame_unref(s.frame.frame);
    return true;
  }
}

// ---- writing ----------------------------------------------------------------------------------------

struct VideoWriter::State {
  std::string path, temporary;
  VideoWriteOptions options;
  AVFormatContext* output = nullptr;
  CodecContext encoder;
  AVStream* video = nullptr;
  AVStream* audio = nullptr;
  VideoReader* audio_source = nullptr;
  SwsContext* scaler = nullptr;
  Frame frame;
  Packet packet;
  std::vector<uint8_t> rgb;
  int64_t written = 0;
  int64_t next_pts = 0;  // in frame periods
  bool header_written = false, closed = false;
  std::vector<std::string> warnings;
  std::string codec_name;

  ~State() {
    sws_freeContext(scaler);
    if (output) {
      if (output->pb) avio_closep(&output->pb);
      avformat_free_context(output);
    }
  }

  void send(const AVFrame* f) {
    int rc = avcodec_send_frame(encoder.context, f);
    if (rc < 0 && rc != AVERROR_EOF) throw FileError(path, "video encoding failed (" + av_error_text(rc) + ")");
    while (true) {
      rc = avcodec_receive_packet(encoder.context, packet.packet);
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
      if (rc < 0) throw FileError(path, "video encoding failed (" + av_error_text(rc) + ")");
      av_packet_rescale_ts(packet.packet, encoder.context->time_base, video->time_base);
      packet.packet->stream_index = video->index;
      rc = av_interleaved_write_frame(output, packet.packet);
      if (rc < 0) throw FileError(path, "cannot write video data (" + av_error_text(rc) + ")");
    }
  }

  // Copies the audio packets the source has read that fall in the span of the frames taken from
  // it (up to `until_s`, the end of the last frame written), shifted to start with the first frame.
  void copy_audio(double until_s, bool all) {
    if (!audio || !audio_source) return;
    VideoReader::State& src = *audio_source->state_;
    const AVStream* in = src.input.context->streams[src.audio_stream];
    const int64_t in_start = in->start_time == AV_NOPTS_VALUE ? 0 : in->start_time;
    const double span_start = std::max(0.0, src.span_start_s);
    while (!src.audio.empty()) {
      AVPacket* p = src.audio.front();
      const double t = src.audio_time(p, span_start);
      if (!all && t >= until_s) break;  // later audio waits for later frames
      src.audio.pop_front();
      if (t >= span_start - 1e-6 && t < until_s) {
        const int64_t shift = av_rescale_q(static_cast<int64_t>(std::llround(span_start * 1e6)), AVRational{1, 1000000}, in->time_base) + in_start;
        if (p->pts != AV_NOPTS_VALUE) p->pts -= shift;
        if (p->dts != AV_NOPTS_VALUE) p->dts -= shift;
        if (p->dts != AV_NOPTS_VALUE && p->dts < 0) p->dts = 0;
        av_packet_rescale_ts(p, in->time_base, audio->time_base);
        p->stream_index = audio->index;
        p->pos = -1;
        const int rc = av_interleaved_write_frame(output, p);
        if (rc < 0) warnings.push_back("an audio packet could not be written (" + av_error_text(rc) + ")");
      }
      av_packet_free(&p);
    }
  }
};

namespace {

const AVCodec* pick_encoder(const std::string& path, const AVOutputFormat* format, const std::string& requested) {
  if (!requested.empty()) {
    const AVCodec* codec = avcodec_find_encoder_by_name(requested.c_str());
    if (!codec || codec->type != AVMEDIA_TYPE_VIDEO)
      throw OptionError("video_codec", "no video encoder '" + requested + "' in this FFmpeg (try libx264, libvpx-vp9, mpeg4, ffv1)");
    if (avformat_query_codec(format, codec->id, FF_COMPLIANCE_NORMAL) != 1)
      throw OptionError("video_codec", "'" + requested + "' cannot be written into " + path + " (a ." + lower_extension(path) + " file)");
    return codec;
  }
  const std::string ext = lower_extension(path);
  const char* name = ext == "webm" ? "libvpx-vp9" : ext == "avi" ? "mpeg4" : "libx264";
  const AVCodec* codec = avcodec_find_encoder_by_name(name);
  if (!codec) throw OptionError("video_codec", std::string("this FFmpeg has no '") + name + "' encoder for ." + ext + " files");
  return codec;
}

bool supports(const AVCodec* codec, AVPixelFormat format) {
  if (!codec->pix_fmts) return format == AV_PIX_FMT_YUV420P;
  for (const AVPixelFormat* p = codec->pix_fmts; *p != AV_PIX_FMT_NONE; ++p)
    if (*p == format) return true;
  return false;
}

}  // namespace

VideoWriter::VideoWriter(const std::string& path, const VideoWriteOptions& options, VideoReader* audio_from)
    : state_(std::make_unique<State>()) {
  quiet_ffmpeg();
  State& s = *state_;
  s.path = path;
  s.options = options;
  check_video_output_path(path);
  if (options.width <= 0 || options.height <= 0) throw FormatError(path, "frames need a size");
  if (options.fps_num <= 0 || options.fps_den <= 0) throw OptionError("fps", "the frame rate must be positive");
  s.temporary = path + ".tmp";

  const AVOutputFormat* format = av_guess_format(nullptr, path.c_str(), nullptr);
  if (!format) throw FileError(path, "FFmpeg has no writer for this extension");
  if (avformat_alloc_output_context2(&s.output, format, nullptr, s.temporary.c_str()) < 0 || !s.output)
    throw FileError(path, "cannot set up the video writer");
  const AVCodec* codec = pick_encoder(path, format, options.codec);
  s.codec_name = codec->name;

  s.encoder.context = avcodec_alloc_context3(codec);
  AVCodecContext* enc = s.encoder.context;
  enc->width = static_cast<int>(options.width);
  enc->height = static_cast<int>(options.height);
  enc->time_base = AVRational{options.fps_den, options.fps_num};
  enc->framerate = AVRational{options.fps_num, options.fps_den};
  enc->gop_size = 12 * std::max(1, options.fps_num / std::max(1, options.fps_den) / 12);
  // 4:2:0 halves the colour planes: it needs even sides. 4:4:4 keeps odd sizes exact where the
  // codec has it.
  // A lossless codec (ffv1) keeps the colour at full resolution too.
  const bool even = options.width % 2 == 0 && options.height % 2 == 0;
  const bool lossless = s.codec_name == "ffv1";
  if (lossless && supports(codec, AV_PIX_FMT_YUV444P)) enc->pix_fmt = AV_PIX_FMT_YUV444P;
  else if (even && supports(codec, AV_PIX_FMT_YUV420P)) enc->pix_fmt = AV_PIX_FMT_YUV420P;
  else if (supports(codec, AV_PIX_FMT_YUV444P)) enc->pix_fmt = AV_PIX_FMT_YUV444P;
  else if (supports(codec, AV_PIX_FMT_YUV420P))
    throw FormatError(path, "the " + s.codec_name + " codec needs an even width and height (frames are " +
                                std::to_string(options.width) + "x" + std::to_string(options.height) + ")");
  else enc->pix_fmt = codec->pix_fmts[0];
  enc->thread_count = 0;
  if (s.output->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary* codec_options = nullptr;
  const std::string quality = std::to_string(std::clamp(options.quality, 0, 51));
  if (s.codec_name == "libx264") {
    av_dict_set(&codec_options, "crf", quality.c_str(), 0);
    av_dict_set(&codec_options, "preset", "fast", 0);
  } else if (s.codec_name == "libvpx-vp9" || s.codec_name == "libvpx") {
    // VP9's constant-quality scale runs to 63; 18 on H.264's scale is about 31 on VP9's.
    av_dict_set(&codec_options, "crf", std::to_string(std::clamp(options.quality * 31 / 18, 0, 63)).c_str(), 0);
    av_dict_set(&codec_options, "b", "0", 0);
    av_dict_set(&codec_options, "deadline", "realtime", 0);
    av_dict_set(&codec_options, "cpu-used", "8", 0);
    av_dict_set(&codec_options, "row-mt", "1", 0);
  } else if (s.codec_name == "mpeg4") {
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * std::clamp(1 + options.quality / 6, 1, 31);
  }
  int rc = avcodec_open2(enc, codec, &codec_options);
  av_dict_free(&codec_options);
  if (rc < 0) throw FormatError(path, "cannot open the " + s.codec_name + " encoder (" + av_error_text(rc) + ")");
  s.video = avformat_new_stream(s.output, nullptr);
  if (!s.video || avcodec_parameters_from_context(s.video->codecpar, enc) < 0) throw FileError(path, "cannot add the video stream");
  s.video->time_base = enc->time_base;
  s.video->avg_frame_rate = enc->framerate;

  if (audio_from && audio_from->state_->audio_stream >= 0) {
    VideoReader::State& src = *audio_from->state_;
    const AVStream* in = src.input.context->streams[src.audio_stream];
    if (avformat_query_codec(s.output->oformat, in->codecpar->codec_id, FF_COMPLIANCE_NORMAL) == 1) {
      s.audio = avformat_new_stream(s.output, nullptr);
      if (!s.audio || avcodec_parameters_copy(s.audio->codecpar, in->codecpar) < 0) throw FileError(path, "cannot add the audio stream");
      s.audio->codecpar->codec_tag = 0;
      s.audio->time_base = in->time_base;
      s.audio_source = audio_from;
      src.keep_audio = true;
    } else {
      s.warnings.push_back("the audio track (" + src.info.audio_codec + ") cannot be carried in a ." + lower_extension(path) +
                           " file and was left out; use .mkv to keep it unchanged");
    }
  }

  rc = avio_open(&s.output->pb, s.temporary.c_str(), AVIO_FLAG_WRITE);
  if (rc < 0) throw FileError(path, "cannot be written (" + av_error_text(rc) + ")");
  rc = avformat_write_header(s.output, nullptr);
  if (rc < 0) throw FileError(path, "cannot write the video header (" + av_error_text(rc) + ")");
  s.header_written = true;

  s.frame.frame->format = enc->pix_fmt;
  s.frame.frame->width = enc->width;
  s.frame.frame->height = enc->height;
  if (av_frame_get_buffer(s.frame.frame, 0) < 0) throw FileError(path, "out of memory for a video frame");
}

VideoWriter::~VideoWriter() {
  try {
    close();
  } catch (...) {
  }
}

int64_t VideoWriter::frames_written() const { return state_->written; }
const std::vector<std::string>& VideoWriter::warnings() const { return state_->warnings; }
const std::string& VideoWriter::codec() const { return state_->codec_name; }

void VideoWriter::write(const at::Tensor& rgb, double time_s) {
  State& s = *state_;
  if (s.closed) throw FileError(s.path, "the video was already closed");
  at::Tensor image = rgb.dim() == 4 ? rgb[0] : rgb;
  if (image.dim() != 3 || image.size(0) != 3 || image.size(1) != s.options.height || image.size(2) != s.options.width)
    throw FormatError(s.path, "a frame of size " + std::to_string(image.size(-1)) + "x" + std::to_string(image.size(-2)) +
                                  " does not match the video's " + std::to_string(s.options.width) + "x" +
                                  std::to_string(s.options.height));
  at::Tensor hwc = image.detach().to(torch::kCPU, torch::kFloat32).clamp(0, 1).mul(255).round_().to(torch::kUInt8).permute({1, 2, 0}).contiguous();
  const int w = static_cast<int>(s.options.width), h = static_cast<int>(s.options.height);
  s.scaler = sws_getCachedContext(s.scaler, w, h, AV_PIX_FMT_RGB24, w, h, s.encoder.context->pix_fmt, SWS_BICUBIC, nullptr, nullptr, nullptr);
  if (!s.scaler) throw FileError(s.path, "cannot convert frames for the encoder");
  if (av_frame_make_writable(s.frame.frame) < 0) throw FileError(s.path, "out of memory for a video frame");
  const uint8_t* planes[4] = {hwc.data_ptr<uint8_t>(), nullptr, nullptr, nullptr};
  const int lines[4] = {w * 3, 0, 0, 0};
  sws_scale(s.scaler, planes, lines, 0, h, s.frame.frame->data, s.frame.frame->linesize);
  // Presentation time in frame periods: the given time, never before the previous frame's.
  int64_t pts = s.next_pts;
  if (time_s >= 0) pts = std::max(pts, static_cast<int64_t>(std::llround(time_s * s.options.fps_num / s.options.fps_den)));
  s.frame.frame->pts = pts;
  s.next_pts = pts + 1;
  ++s.written;
  s.send(s.frame.frame);
  s.copy_audio(static_cast<double>(s.next_pts) * s.options.fps_den / s.options.fps_num +
                   std::max(0.0, s.audio_source ? s.audio_source->state_->span_start_s : 0.0),
               false);
}

void VideoWriter::close() {
  State& s = *state_;
  if (s.closed) return;
  s.closed = true;
  if (!s.header_written) return;
  s.send(nullptr);  // flush the encoder
  if (s.audio_source) {
    // The audio of the last frame may not have been read yet: read on to the end of the span.
    VideoReader::State& src = *s.audio_source->state_;
    const double until = src.span_end_s;
    while (!src.input_done) {
      const double last = src.audio.empty() ? -1 : src.audio_time(src.audio.back(), -1);
      if (last >= until) break;
      const int rc = av_read_frame(src.input.context, src.packet.packet);
      if (rc < 0) break;
      if (src.packet.packet->stream_index == src.audio_stream) src.audio.push_back(av_packet_clone(src.packet.packet));
      av_packet_unref(src.packet.packet);
    }
    s.copy_audio(until, true);
  }
  int rc = av_write_trailer(s.output);
  if (rc < 0) throw FileError(s.path, "cannot finish the video (" + av_error_text(rc) + ")");
  avio_closep(&s.output->pb);
  std::error_code ec;
  fs::rename(s.temporary, s.path, ec);
  if (ec) throw FileError(s.path, "cannot move the finished video into place: " + ec.message());
}

// ---- a video or a folder of frames ------------------------------------------------------------------

namespace {

class VideoFileFrames : public FrameSequence {
 public:
  VideoFileFrames(const std::string& path, const VideoReadOptions& options) : reader_(path, options), options_(options) {}
  bool next(VideoFrame& frame) override { return reader_.next(frame); }
  int fps_num() const override { return reader_.info().fps_num; }
  int fps_den() const override { return reader_.info().fps_den; }
  int64_t expected_frames() const override {
    const int64_t n = std::max<int64_t>(0, reader_.info().frames - options_.start);
    return options_.frames > 0 ? std::min(n, options_.frames) : n;
  }
  VideoReader* reader() override { return &reader_; }

 private:
  VideoReader reader_;
  VideoReadOptions options_;
};

class FolderFrames : public FrameSequence {
 public:
  FolderFrames(const std::string& folder, const VideoReadOptions& options, double fps) : folder_(folder) {
    files_ = list_image_files(folder, /*recursive=*/false, "content");
    read_options_.max_pixels = options.limits.max_pixels;
    const int64_t available = static_cast<int64_t>(files_.size());
    if (options.start < 0) throw OptionError("start", "must be >= 0");
    if (options.start >= available)
      throw OptionError("start", "frame " + std::to_string(options.start) + " is past the end of " + folder + " (" +
                                     std::to_string(available) + " frames)");
    next_ = options.start;
    end_ = options.frames > 0 ? std::min(available, options.start + options.frames) : available;
    if (options.limits.max_frames > 0 && end_ - next_ > options.limits.max_frames)
      throw LimitError(folder, std::to_string(end_ - next_) + " frames, over the limit of " + std::to_string(options.limits.max_frames));
    if (!(fps > 0 && fps <= 1000)) throw OptionError("fps", "must be in (0, 1000]");
    fps_num_ = static_cast<int>(std::lround(fps * 1000));
    fps_den_ = 1000;
    av_reduce(&fps_num_, &fps_den_, fps_num_, fps_den_, 1 << 20);
  }
  bool next(VideoFrame& frame) override {
    if (next_ >= end_) return false;
    const std::string file = (fs::path(folder_) / files_[static_cast<size_t>(next_)]).string();
    frame.rgb = read_image(file, read_options_).rgb;
    if (first_size_.empty()) {
      first_size_ = frame.rgb.sizes().vec();
    } else if (frame.rgb.sizes().vec() != first_size_) {
      throw FormatError(file, "a frame of another size than the first (" + std::to_string(frame.rgb.size(3)) + "x" +
                                  std::to_string(frame.rgb.size(2)) + " vs " + std::to_string(first_size_[3]) + "x" +
                                  std::to_string(first_size_[2]) + ")");
    }
    frame.index = index_++;
    frame.time_s = static_cast<double>(frame.index) * fps_den_ / fps_num_;
    ++next_;
    return true;
  }
  int fps_num() const override { return fps_num_; }
  int fps_den() const override { return fps_den_; }
  int64_t expected_frames() const override { return end_ - next_ + index_; }

 private:
  std::string folder_;
  std::vector<std::string> files_;
  ImageReadOptions read_options_;
  int64_t next_ = 0, end_ = 0, index_ = 0;
  std::vector<int64_t> first_size_;
  int fps_num_ = 25, fps_den_ = 1;
};

}  // namespace

std::unique_ptr<FrameSequence> open_frames(const std::string& path, const VideoReadOptions& options, double folder_fps) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return std::make_unique<FolderFrames>(path, options, folder_fps);
  return std::make_unique<VideoFileFrames>(path, options);
}

}  // namespace impasto
