// Video files (io/video.h), motion (losses/temporal.h), stylizing a clip (style/video.h) and its
// flicker measured (metrics/video_metrics.h), on tiny clips made here: a textured scene the camera
// pans over, with a disc moving across it.
#include <gtest/gtest.h>
#include <torch/torch.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/display.h>
#include <libswscale/swscale.h>
}

#include <cmath>
#include <filesystem>
#include <fstream>

#include "impasto/core/error.h"
#include "impasto/data/synthetic.h"
#include "impasto/io/image.h"
#include "impasto/io/image_ops.h"
#include "impasto/io/video.h"
#include "impasto/losses/temporal.h"
#include "impasto/metrics/video_metrics.h"
#include "impasto/style/video.h"
#include "test_support.h"
#include "video_support.h"

using namespace impasto;
using test::count_frames;
namespace fs = std::filesystem;

namespace {

// Frame t of a scene: a window of a wide textured landscape moved `pan` pixels per frame, with a
// bright disc crossing it `disc` pixels per frame.
at::Tensor scene_frame(int64_t t, int64_t h, int64_t w, double pan, double disc) {
  static const at::Tensor wide = synthetic_landscape(96, 400, 5);
  const at::Tensor background = resize_image(wide, h, h * 400 / 96);
  const int64_t x0 = static_cast<int64_t>(std::lround(t * pan));
  at::Tensor frame = background.narrow(3, x0, w).clone();
  if (disc != 0) {
    const auto ys = torch::arange(h, torch::kFloat32).view({h, 1});
    const auto xs = torch::arange(w, torch::kFloat32).view({1, w});
    const double cx = 8 + t * disc, cy = h / 2.0, r = h / 6.0;
    const at::Tensor inside = ((xs - cx).pow(2) + (ys - cy).pow(2) < r * r).to(torch::kFloat32);
    const at::Tensor colour = torch::tensor({0.95f, 0.85f, 0.2f}).view({1, 3, 1, 1});
    frame = frame * (1 - inside) + colour * inside;
  }
  return frame;
}

void write_clip(const std::string& path, int64_t frames, int64_t h, int64_t w, double pan, double disc, int fps = 25,
                const std::string& codec = "") {
  VideoWriteOptions o;
  o.width = w;
  o.height = h;
  o.fps_num = fps;
  o.codec = codec;
  o.quality = 10;
  VideoWriter writer(path, o);
  for (int64_t t = 0; t < frames; ++t) writer.write(scene_frame(t, h, w, pan, disc));
  writer.close();
}

// A Matroska clip with MPEG-4 video and a PCM audio track (a 440 Hz tone), written with FFmpeg's
// libraries directly: what a camera gives, with sound. With a display rotation: an MP4 without sound
// whose frames are stored sideways (MP4 holds the display matrix; it cannot hold PCM).
void write_clip_with_audio(const std::string& path, int64_t frames, int64_t h, int64_t w, int fps, double display_rotation = 0) {
  AVFormatContext* out = nullptr;
  ASSERT_GE(avformat_alloc_output_context2(&out, nullptr, nullptr, path.c_str()), 0);
  const AVCodec* vcodec = avcodec_find_encoder_by_name("mpeg4");
  const AVCodec* acodec = avcodec_find_encoder_by_name("pcm_s16le");
  AVCodecContext* venc = avcodec_alloc_context3(vcodec);
  venc->width = static_cast<int>(w);
  venc->height = static_cast<int>(h);
  venc->time_base = AVRational{1, fps};
  venc->framerate = AVRational{fps, 1};
  venc->pix_fmt = AV_PIX_FMT_YUV420P;
  if (out->oformat->flags & AVFMT_GLOBALHEADER) venc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  ASSERT_GE(avcodec_open2(venc, vcodec, nullptr), 0);
  AVCodecContext* aenc = avcodec_alloc_context3(acodec);
  aenc->sample_rate = 8000;
  aenc->sample_fmt = AV_SAMPLE_FMT_S16;
  av_channel_layout_default(&aenc->ch_layout, 1);
  aenc->time_base = AVRational{1, 8000};
  ASSERT_GE(avcodec_open2(aenc, acodec, nullptr), 0);
  AVStream* vs = avformat_new_stream(out, nullptr);
  avcodec_parameters_from_context(vs->codecpar, venc);
  vs->time_base = venc->time_base;
  // As a phone filming upright stores its sideways frames: a display matrix (av_display_rotation_set
  // takes degrees clockwise; ffprobe then reports the matrix's rotation as minus that).
  if (display_rotation != 0) {
    uint8_t* matrix = av_stream_new_side_data(vs, AV_PKT_DATA_DISPLAYMATRIX, sizeof(int32_t) * 9);
    av_display_rotation_set(reinterpret_cast<int32_t*>(matrix), display_rotation);
  }
  const bool sound = display_rotation == 0;
  AVStream* as = nullptr;
  if (sound) {
    as = avformat_new_stream(out, nullptr);
    avcodec_parameters_from_context(as->codecpar, aenc);
    as->time_base = aenc->time_base;
  }
  ASSERT_GE(avio_open(&out->pb, path.c_str(), AVIO_FLAG_WRITE), 0);
  ASSERT_GE(avformat_write_header(out, nullptr), 0);
  AVPacket* pkt = av_packet_alloc();
  auto drain = [&](AVCodecContext* enc, AVStream* st) {
    while (avcodec_receive_packet(enc, pkt) == 0) {
      av_packet_rescale_ts(pkt, enc->time_base, st->time_base);
      pkt->stream_index = st->index;
      av_interleaved_write_frame(out, pkt);
    }
  };
  SwsContext* sws = sws_getContext(static_cast<int>(w), static_cast<int>(h), AV_PIX_FMT_RGB24, static_cast<int>(w),
                                   static_cast<int>(h), AV_PIX_FMT_YUV420P, SWS_BICUBIC, nullptr, nullptr, nullptr);
  AVFrame* vf = av_frame_alloc();
  vf->format = venc->pix_fmt;
  vf->width = venc->width;
  vf->height = venc->height;
  av_frame_get_buffer(vf, 0);
  AVFrame* af = av_frame_alloc();
  af->format = AV_SAMPLE_FMT_S16;
  af->sample_rate = 8000;
  av_channel_layout_default(&af->ch_layout, 1);
  const int samples_per_frame = 8000 / fps;
  af->nb_samples = samples_per_frame;
  av_frame_get_buffer(af, 0);
  for (int64_t t = 0; t < frames; ++t) {
    const at::Tensor rgb = scene_frame(t, h, w, 1.0, 0)[0].mul(255).round().to(torch::kUInt8).permute({1, 2, 0}).contiguous();
    const uint8_t* planes[1] = {rgb.data_ptr<uint8_t>()};
    const int lines[1] = {static_cast<int>(w * 3)};
    av_frame_make_writable(vf);
    sws_scale(sws, planes, lines, 0, static_cast<int>(h), vf->data, vf->linesize);
    vf->pts = t;
    avcodec_send_frame(venc, vf);
    drain(venc, vs);
    av_frame_make_writable(af);
    auto* samples = reinterpret_cast<int16_t*>(af->data[0]);
    for (int i = 0; i < samples_per_frame; ++i)
      samples[i] = static_cast<int16_t>(8000 * std::sin(2 * M_PI * 440 * (t * samples_per_frame + i) / 8000.0));
    af->pts = t * samples_per_frame;
    if (sound) {
      avcodec_send_frame(aenc, af);
      drain(aenc, as);
    }
  }
  avcodec_send_frame(venc, nullptr);
  drain(venc, vs);
  if (sound) {
    avcodec_send_frame(aenc, nullptr);
    drain(aenc, as);
  }
  av_write_trailer(out);
  avio_closep(&out->pb);
  av_frame_free(&vf);
  av_frame_free(&af);
  av_packet_free(&pkt);
  sws_freeContext(sws);
  avcodec_free_context(&venc);
  avcodec_free_context(&aenc);
  avformat_free_context(out);
}

// Seconds of audio in a file's audio stream (by its packets), or -1 without one.
double audio_seconds(const std::string& path, std::string* codec = nullptr) {
  AVFormatContext* in = nullptr;
  if (avformat_open_input(&in, path.c_str(), nullptr, nullptr) < 0) return -2;
  avformat_find_stream_info(in, nullptr);
  const int a = av_find_best_stream(in, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  double seconds = -1;
  if (a >= 0) {
    if (codec) *codec = avcodec_get_name(in->streams[a]->codecpar->codec_id);
    int64_t end = 0;
    AVPacket* p = av_packet_alloc();
    while (av_read_frame(in, p) >= 0) {
      if (p->stream_index == a) end = std::max<int64_t>(end, p->pts + p->duration);
      av_packet_unref(p);
    }
    av_packet_free(&p);
    seconds = end * av_q2d(in->streams[a]->time_base);
  }
  avformat_close_input(&in);
  return seconds;
}

}  // namespace

// ---- files ------------------------------------------------------------------------------------------

TEST(VideoFiles, ATwoSecondClipKeepsItsFramesRateAndSize) {
  const std::string dir = test::temp_dir("video_roundtrip");
  for (const std::string ext : {"mp4", "mkv", "webm", "avi"}) {
    const std::string path = dir + "/clip." + ext;
    write_clip(path, 50, 48, 64, 1.0, 2.0);
    const VideoInfo info = probe_video(path);
    EXPECT_EQ(info.width, 64) << ext;
    EXPECT_EQ(info.height, 48) << ext;
    EXPECT_NEAR(info.fps(), 25.0, 1e-9) << ext;
    EXPECT_NEAR(info.duration_s, 2.0, 0.1) << ext;
    VideoReader reader(path);
    VideoFrame f;
    int64_t n = 0;
    double error = 0;
    while (reader.next(f)) {
      ASSERT_EQ(f.rgb.sizes(), (std::vector<int64_t>{1, 3, 48, 64})) << ext;
      EXPECT_NEAR(f.time_s, n / 25.0, 1e-3) << ext;
      error += (f.rgb - scene_frame(n, 48, 64, 1.0, 2.0)).abs().mean().item<double>();
      ++n;
    }
    EXPECT_EQ(n, 50) << ext;
    EXPECT_LT(error / n, 0.06) << ext << ": lossy, but the same pictures";
    EXPECT_FALSE(fs::exists(path + ".tmp"));
  }
}

TEST(VideoFiles, FramesFilmedSidewaysAreTurnedUpright) {
  // Stored 64x48, shown after a quarter turn clockwise (what ffprobe reports as rotation -90).
  const std::string dir = test::temp_dir("video_rotation");
  write_clip_with_audio(dir + "/phone.mp4", 3, 48, 64, 25, 90);
  const VideoInfo info = probe_video(dir + "/phone.mp4");
  EXPECT_EQ(info.rotation, 90);
  EXPECT_EQ(info.width, 48);
  EXPECT_EQ(info.height, 64);
  VideoReader reader(dir + "/phone.mp4");
  VideoFrame f;
  ASSERT_TRUE(reader.next(f));
  ASSERT_EQ(f.rgb.sizes(), (std::vector<int64_t>{1, 3, 64, 48}));
  const at::Tensor stored = scene_frame(0, 48, 64, 1.0, 0);
  const double clockwise = (f.rgb - torch::rot90(stored, -1, {2, 3})).abs().mean().item<double>();
  const double counter = (f.rgb - torch::rot90(stored, 1, {2, 3})).abs().mean().item<double>();
  EXPECT_LT(clockwise, 0.05);
  EXPECT_GT(counter, 2 * clockwise);
}

TEST(VideoFiles, OddSizesAreWrittenExactly) {
  const std::string dir = test::temp_dir("video_odd");
  write_clip(dir + "/odd.mp4", 5, 47, 63, 1.0, 0);
  const VideoInfo info = probe_video(dir + "/odd.mp4");
  EXPECT_EQ(info.width, 63);
  EXPECT_EQ(info.height, 47);
  EXPECT_EQ(count_frames(dir + "/odd.mp4"), 5);
}

TEST(VideoFiles, AClipWithDroppedFramesKeepsItsTiming) {
  // Like a webcam's AVI that repeats frames by leaving them out: ten pictures over 3.6 s at 25 fps.
  const std::string dir = test::temp_dir("video_gaps");
  {
    VideoWriteOptions o;
    o.width = 48;
    o.height = 32;
    VideoWriter writer(dir + "/gaps.mp4", o);
    for (int k = 0; k < 10; ++k) writer.write(scene_frame(k, 32, 48, 2.0, 0), 0.4 * k);
    writer.close();
  }
  VideoReader reader(dir + "/gaps.mp4");
  VideoFrame f;
  int64_t n = 0;
  while (reader.next(f)) {
    EXPECT_NEAR(f.time_s, 0.4 * n, 1e-3);
    ++n;
  }
  EXPECT_EQ(n, 10);
}

TEST(VideoFiles, StartAndFramesSelectAPart) {
  const std::string dir = test::temp_dir("video_part");
  write_clip(dir + "/clip.mkv", 20, 32, 48, 1.0, 2.0, 25, "ffv1");  // lossless: frames compare exactly
  VideoReadOptions o;
  o.start = 5;
  o.frames = 4;
  VideoReader reader(dir + "/clip.mkv", o);
  VideoFrame f;
  int64_t n = 0;
  while (reader.next(f)) {
    EXPECT_LT((f.rgb - scene_frame(5 + n, 32, 48, 1.0, 2.0)).abs().max().item<double>(), 0.03);
    ++n;
  }
  EXPECT_EQ(n, 4);
  o.start = 25;
  EXPECT_EQ(test::failing_option([&] { VideoReader past(dir + "/clip.mkv", o); VideoFrame g; past.next(g); }), "start");
}

TEST(VideoFiles, TheAudioTrackIsCarriedOverUnchanged) {
  const std::string dir = test::temp_dir("video_audio");
  const std::string in = dir + "/with_sound.mkv";
  write_clip_with_audio(in, 50, 48, 64, 25);
  const VideoInfo info = probe_video(in);
  ASSERT_TRUE(info.has_audio);
  EXPECT_EQ(info.audio_codec, "pcm_s16le");
  {
    VideoReader reader(in);
    VideoWriteOptions o;
    o.width = 64;
    o.height = 48;
    VideoWriter writer(dir + "/out.mkv", o, &reader);
    VideoFrame f;
    while (reader.next(f)) writer.write(1.0 - f.rgb);
    writer.close();
    EXPECT_TRUE(writer.warnings().empty());
  }
  std::string codec;
  EXPECT_NEAR(audio_seconds(dir + "/out.mkv", &codec), 2.0, 0.05);
  EXPECT_EQ(codec, "pcm_s16le");
  EXPECT_EQ(count_frames(dir + "/out.mkv"), 50);
  // A part of the clip keeps the audio of that part only.
  {
    VideoReadOptions part;
    part.start = 10;
    part.frames = 25;
    VideoReader reader(in, part);
    VideoWriteOptions o;
    o.width = 64;
    o.height = 48;
    VideoWriter writer(dir + "/part.mkv", o, &reader);
    VideoFrame f;
    while (reader.next(f)) writer.write(f.rgb);
    writer.close();
  }
  EXPECT_NEAR(audio_seconds(dir + "/part.mkv"), 1.0, 0.05);
  // MP4 cannot hold PCM: the audio is left out, with a warning that says so.
  {
    VideoReader reader(in);
    VideoWriteOptions o;
    o.width = 64;
    o.height = 48;
    VideoWriter writer(dir + "/out.mp4", o, &reader);
    VideoFrame f;
    while (reader.next(f)) writer.write(f.rgb);
    writer.close();
    ASSERT_EQ(writer.warnings().size(), 1u);
    EXPECT_NE(writer.warnings()[0].find("pcm_s16le"), std::string::npos);
  }
  EXPECT_EQ(audio_seconds(dir + "/out.mp4"), -1);
}

TEST(VideoFiles, BadInputGetsAClearErrorNamingTheFile) {
  const std::string dir = test::temp_dir("video_bad");
  {
    std::ofstream(dir + "/text.mp4") << "this is not a video at all, only some words";
  }
  std::string message = test::expect_error<FormatError>([&] { probe_video(dir + "/text.mp4"); });
  EXPECT_NE(message.find(dir + "/text.mp4"), std::string::npos) << message;
  EXPECT_THROW(probe_video(dir + "/missing.mp4"), FileError);

  // Truncated: an MP4 cut in half loses its index (written at the end).
  write_clip(dir + "/clip.mp4", 20, 32, 48, 1.0, 2.0);
  const auto bytes = read_file_bytes(dir + "/clip.mp4");
  std::ofstream(dir + "/cut.mp4", std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size() / 2);
  message = test::expect_error<FormatError>([&] { VideoReader r(dir + "/cut.mp4"); VideoFrame f; while (r.next(f)) {} });
  EXPECT_NE(message.find("cut.mp4"), std::string::npos) << message;

  // A clip with no frames.
  {
    VideoWriteOptions o;
    o.width = 32;
    o.height = 32;
    VideoWriter empty(dir + "/empty.mkv", o);
    empty.close();
  }
  message = test::expect_error<FormatError>([&] { VideoReader r(dir + "/empty.mkv"); VideoFrame f; r.next(f); });
  EXPECT_NE(message.find("no frames"), std::string::npos) << message;

  // Over the limits, from the header.
  VideoLimits limits;
  limits.max_pixels = 1000;
  message = test::expect_error<LimitError>([&] { probe_video(dir + "/clip.mp4", limits); });
  EXPECT_NE(message.find("1536 pixels"), std::string::npos) << message;
  limits = VideoLimits{};
  limits.max_frames = 10;
  EXPECT_THROW(probe_video(dir + "/clip.mp4", limits), LimitError);

  // Codecs that cannot be written.
  VideoWriteOptions o;
  o.width = 32;
  o.height = 32;
  o.codec = "no-such-encoder";
  EXPECT_EQ(test::failing_option([&] { VideoWriter w(dir + "/x.mp4", o); }), "video_codec");
  o.codec = "ffv1";
  EXPECT_EQ(test::failing_option([&] { VideoWriter w(dir + "/x.webm", o); }), "video_codec");
  o.codec = "";
  EXPECT_THROW(VideoWriter(dir + "/x.gif", o), FileError);
  EXPECT_THROW(VideoWriter(dir + "/no/such/folder/x.mp4", o), FileError);
  o.codec = "mpeg4";
  o.width = 31;
  EXPECT_THROW(VideoWriter(dir + "/odd.avi", o), FormatError);
}

// ---- motion -----------------------------------------------------------------------------------------

TEST(Temporal, FlowFollowsAPanAndWarpingUndoesIt) {
  const at::Tensor a = scene_frame(0, 64, 96, 3.0, 0), b = scene_frame(1, 64, 96, 3.0, 0);
  const FlowPair pair = flow_between(a, b);
  // Content at p in a is at p + (-3, 0) in b (the window moved right by 3 px).
  const at::Tensor inner = pair.flow.narrow(2, 8, 48).narrow(3, 8, 72);
  EXPECT_NEAR(inner[0][0].median().item<double>(), -3.0, 0.25);
  EXPECT_NEAR(inner[0][1].median().item<double>(), 0.0, 0.25);
  const at::Tensor pulled = warp_with_flow(b, pair.flow);
  const double before = (a - b).abs().narrow(3, 8, 80).mean().item<double>();
  const double after = (a - pulled).abs().narrow(3, 8, 80).mean().item<double>();
  EXPECT_LT(after, 0.35 * before) << "warping b back onto a: " << before << " -> " << after;
  EXPECT_GT(pair.reliable_fraction, 0.8);
}

TEST(Temporal, OcclusionsAreFoundWhereADiscUncoversTheBackground) {
  const at::Tensor a = scene_frame(0, 64, 96, 0, 0), b = scene_frame(0, 64, 96, 0, 0);
  const FlowPair same = flow_between(a, b);
  EXPECT_GT(same.non_occluded.mean().item<double>(), 0.99);
  const at::Tensor c = scene_frame(10, 64, 96, 0, 4.0), d = scene_frame(11, 64, 96, 0, 4.0);
  const FlowPair moving = flow_between(c, d);
  EXPECT_LT(moving.reliable_fraction, 0.995);
  EXPECT_GT(moving.reliable_fraction, 0.6);
}

TEST(Temporal, TheWarpingErrorOfAStaticSceneIsZeroAndGrowsWithFlicker) {
  const at::Tensor a = scene_frame(0, 48, 64, 2.0, 0), b = scene_frame(1, 48, 64, 2.0, 0);
  const FlowPair pair = flow_between(a, b);
  // The input itself follows its own flow: small error.
  const double steady = warping_error_term(a, b, pair);
  // Flicker: the second frame with noise of std 0.1.
  const at::Tensor flicker = (b + 0.1 * torch::randn(b.sizes(), at::make_generator<at::CPUGeneratorImpl>(3))).clamp(0, 1);
  const double noisy = warping_error_term(a, flicker, pair);
  EXPECT_LT(steady, 0.01);
  EXPECT_GT(noisy, steady + 0.02);
  EXPECT_NEAR(warping_error_term(a, a, flow_between(a, a)), 0.0, 1e-9);
}

// ---- stylizing a clip -------------------------------------------------------------------------------

namespace {

VideoStylizeJob adain_video_job(const std::string& dir, const std::string& content, const std::string& output) {
  write_image(dir + "/painting.png", synthetic_painting(96, 96, 7));
  VideoStylizeJob job;
  job.frame.method = "adain";
  job.frame.options = Json{{"image_size", 0}};
  job.frame.content = content;
  job.frame.styles = {dir + "/painting.png"};
  job.frame.output = output;
  return job;
}

}  // namespace

TEST(VideoStylize, AStaticSceneHasNoFlicker) {
  const std::string dir = test::temp_dir("video_static");
  write_clip(dir + "/static.mkv", 6, 48, 64, 0, 0, 25, "ffv1");
  VideoStylizeJob job = adain_video_job(dir, dir + "/static.mkv", dir + "/out.mkv");
  job.video_codec = "ffv1";
  const VideoStylizeResult r = run_stylize_video(job, {});
  EXPECT_EQ(r.frames, 6);
  EXPECT_EQ(r.scene_cuts, 0);
  EXPECT_LT(r.warping_error, 1e-4);
  EXPECT_EQ(count_frames(dir + "/out.mkv"), 6);
  // The summary beside the video carries the figure.
  const Json summary = Json::parse(read_file_bytes(dir + "/out.json"));
  EXPECT_NEAR(summary["warping_error"].get<double>(), r.warping_error, 1e-12);
  EXPECT_EQ(summary["per_frame"].size(), 6u);
}

TEST(VideoStylize, FlowBlendingLowersTheWarpingErrorOfAMovingScene) {
  const std::string dir = test::temp_dir("video_moving");
  write_clip(dir + "/moving.mkv", 8, 48, 64, 1.5, 3.0, 25, "ffv1");
  VideoStylizeJob job = adain_video_job(dir, dir + "/moving.mkv", dir + "/per_frame");
  job.consistency = 0;
  const VideoStylizeResult independent = run_stylize_video(job, {});
  job.frame.output = dir + "/consistent";
  job.consistency = 0.5;
  const VideoStylizeResult consistent = run_stylize_video(job, {});
  EXPECT_EQ(independent.frames, 8);
  EXPECT_TRUE(fs::exists(dir + "/consistent/frame_000008.png"));
  EXPECT_TRUE(fs::exists(dir + "/consistent/summary.json"));
  EXPECT_LT(consistent.warping_error, 0.8 * independent.warping_error)
      << "per frame " << independent.warping_error << ", consistent " << consistent.warping_error;
  // The measured figure is the one eval reports from the files.
  VideoEvaluationOptions e;
  e.video = dir + "/consistent";
  e.content = dir + "/moving.mkv";
  const VideoEvaluation measured = evaluate_video(e);
  EXPECT_EQ(measured.frames, 8);
  EXPECT_NEAR(measured.warping_error, consistent.warping_error, 0.1 * consistent.warping_error + 1e-4);
}

TEST(VideoStylize, GatysStartsEachFrameFromTheWarpedPreviousResult) {
  const std::string dir = test::temp_dir("video_gatys");
  write_clip(dir + "/moving.mkv", 4, 40, 56, 1.0, 2.0, 25, "ffv1");
  write_image(dir + "/painting.png", synthetic_painting(64, 64, 7));
  VideoStylizeJob job;
  job.frame.method = "gatys";
  job.frame.options = Json{{"image_size", 0}, {"iterations", 40}, {"frame_iterations", 10}};
  job.frame.content = dir + "/moving.mkv";
  job.frame.styles = {dir + "/painting.png"};
  job.frame.output = dir + "/independent";
  job.consistency = 0;
  const VideoStylizeResult independent = run_stylize_video(job, {});
  job.frame.output = dir + "/guided";
  job.consistency = 1;
  const VideoStylizeResult guided = run_stylize_video(job, {});
  ASSERT_EQ(guided.frames, 4);
  const Json& frames = guided.summary["per_frame"];
  EXPECT_NE(frames[0]["detail"].get<std::string>().find("final loss"), std::string::npos);
  // Later frames took the shorter run (from the warped result) and kept closer to the motion.
  EXPECT_EQ(independent.records[2].steps, 40);
  EXPECT_EQ(guided.records[0].steps, 40);
  EXPECT_EQ(guided.records[2].steps, 10);
  EXPECT_LT(guided.warping_error, independent.warping_error)
      << "independent " << independent.warping_error << ", guided " << guided.warping_error;
}

TEST(VideoStylize, ASceneCutStartsAfresh) {
  const std::string dir = test::temp_dir("video_cut");
  fs::create_directories(dir + "/frames");
  for (int t = 0; t < 6; ++t) {
    const at::Tensor f = t < 3 ? scene_frame(t, 48, 64, 1.0, 0) : synthetic_painting(48, 64, 100 + t / 3).clone();
    char name[32];
    std::snprintf(name, sizeof name, "/frames/%03d.png", t);
    write_image(dir + name, f);
  }
  VideoStylizeJob job = adain_video_job(dir, dir + "/frames", dir + "/out.mp4");
  const VideoStylizeResult r = run_stylize_video(job, {});
  EXPECT_EQ(r.frames, 6);
  EXPECT_EQ(r.scene_cuts, 1);
  EXPECT_TRUE(r.records[3].scene_cut);
  EXPECT_EQ(probe_video(dir + "/out.mp4").frames, 6);
}

TEST(VideoStylize, TheCommandLineKeepsTheSoundAndEvalReportsTheFlicker) {
  const std::string dir = test::temp_dir("video_cli");
  write_clip_with_audio(dir + "/clip.mkv", 25, 48, 64, 25);
  write_image(dir + "/painting.png", synthetic_painting(96, 96, 7));
  auto r = test::run_cli("stylize --method adain --image-size 0 -c " + dir + "/clip.mkv -s " + dir + "/painting.png -o " + dir + "/out.mkv");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("25 frames"), std::string::npos) << r.output;
  EXPECT_NEAR(audio_seconds(dir + "/out.mkv"), 1.0, 0.05);
  EXPECT_EQ(count_frames(dir + "/out.mkv"), 25);
  r = test::run_cli("eval --video " + dir + "/out.mkv --content " + dir + "/clip.mkv --style " + dir + "/painting.png --json " + dir + "/eval.json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("warping error"), std::string::npos) << r.output;
  const Json e = Json::parse(read_file_bytes(dir + "/eval.json"));
  EXPECT_EQ(e["frames"].get<int64_t>(), 25);
  EXPECT_GT(e["style_distance"].get<double>(), 0);
  test::expect_cli_failure("stylize --method adain -c " + dir + "/painting.png -s " + dir + "/painting.png -o " + dir + "/x.mp4",
                           "is a video");
  {
    std::ofstream(dir + "/broken.mp4") << "not a video";
  }
  test::expect_cli_failure("stylize --method adain -c " + dir + "/broken.mp4 -s " + dir + "/painting.png -o " + dir + "/y.mp4",
                           "broken.mp4");
}

TEST(VideoStylize, AFolderOfMasksGivesEachFrameItsRegion) {
  const std::string dir = test::temp_dir("video_masks");
  write_clip(dir + "/static.mkv", 4, 48, 64, 0, 0, 25, "ffv1");
  fs::create_directories(dir + "/masks");
  for (int t = 0; t < 4; ++t) {
    // Frames 1-2: the style on the left half; frames 3-4: on the right half.
    at::Tensor m = torch::zeros({1, 3, 48, 64});
    m.narrow(3, t < 2 ? 0 : 32, 32).fill_(1.0);
    write_image(dir + "/masks/m" + std::to_string(t) + ".png", m);
  }
  VideoStylizeJob job = adain_video_job(dir, dir + "/static.mkv", dir + "/out");
  job.frame.masks = {dir + "/masks"};
  job.consistency = 0;
  ASSERT_EQ(run_stylize_video(job, {}).frames, 4);
  const at::Tensor photo = scene_frame(0, 48, 64, 0, 0);
  auto change = [&](int frame, int64_t x0) {
    char name[64];
    std::snprintf(name, sizeof name, "/out/frame_%06d.png", frame);
    return (read_image(dir + name).rgb - photo).abs().narrow(3, x0 + 4, 24).mean().item<double>();
  };
  EXPECT_GT(change(1, 0), 0.05);
  EXPECT_LT(change(1, 32), 0.02);
  EXPECT_LT(change(4, 0), 0.02);
  EXPECT_GT(change(4, 32), 0.05);
  // Fewer masks than frames: an error naming the folder.
  job.frames = 0;
  fs::remove(dir + "/masks/m3.png");
  job.frame.output = dir + "/out2";
  const std::string message = test::expect_error<OptionError>([&] { run_stylize_video(job, {}); });
  EXPECT_NE(message.find(dir + "/masks has 3 masks"), std::string::npos) << message;
}

TEST(VideoStylize, AStopLeavesAPlayableVideoOfTheFramesDone) {
  const std::string dir = test::temp_dir("video_stop");
  write_clip(dir + "/clip.mkv", 10, 48, 64, 1.0, 2.0, 25, "ffv1");
  VideoStylizeJob job = adain_video_job(dir, dir + "/clip.mkv", dir + "/out.mp4");
  int64_t frames_seen = 0;
  Callbacks callbacks;
  callbacks.progress = [&](const ProgressEvent& e) { frames_seen = e.step; };
  callbacks.should_stop = [&] { return frames_seen >= 3; };  // as Ctrl-C after the third frame
  const VideoStylizeResult r = run_stylize_video(job, callbacks);
  EXPECT_TRUE(r.stopped_early);
  EXPECT_EQ(r.frames, 3);
  EXPECT_EQ(count_frames(dir + "/out.mp4"), 3);
  EXPECT_NEAR(probe_video(dir + "/out.mp4").fps(), 25.0, 1e-9);
  EXPECT_FALSE(fs::exists(dir + "/out.mp4.tmp"));
}
