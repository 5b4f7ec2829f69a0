// Video jobs in the service: a clip uploaded as the content of POST /v1/jobs is checked from its
// container (frames, seconds, pixels per frame) before it is queued, stylized frame by frame with
// progress per frame, and answered as a video file; bad and oversized clips get a clear 4xx.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "impasto/data/synthetic.h"
#include "impasto/io/image.h"
#include "impasto/io/image_ops.h"
#include "impasto/io/video.h"
#include "server_support.h"
#include "test_support.h"
#include "video_support.h"

using namespace impasto;
using namespace impasto::test;

namespace {

// A clip of `frames` frames panning over a landscape, as the bytes of an .mp4 file.
std::string clip_bytes(const std::string& dir, int64_t frames, int64_t h = 48, int64_t w = 64) {
  const at::Tensor wide = synthetic_landscape(h, w + frames * 2, 3);
  VideoWriteOptions o;
  o.width = w;
  o.height = h;
  o.fps_num = 10;
  const std::string path = dir + "/clip.mp4";
  {
    VideoWriter writer(path, o);
    for (int64_t t = 0; t < frames; ++t) writer.write(wide.narrow(3, t * 2, w));
    writer.close();
  }
  const auto bytes = read_file_bytes(path);
  return std::string(bytes.begin(), bytes.end());
}

int64_t frames_in(const std::string& bytes, const std::string& dir) {
  const std::string path = dir + "/result.mp4";
  std::ofstream(path, std::ios::binary) << bytes;
  return count_frames(path);
}

}  // namespace

TEST(VideoService, AVideoJobStylizesEveryFrameAndAnswersWithAVideo) {
  const std::string dir = temp_dir("video_service");
  TestServer server(test_server_options("video_service"));
  auto client = server.client();
  const std::string clip = clip_bytes(dir, 12);
  httplib::MultipartFormDataItems items = {file_field("content", clip, "walk.mp4"), text_field("model", "tiny")};
  auto res = client.Post("/v1/jobs", items);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 202) << res->body;
  const Json queued = Json::parse(res->body);
  EXPECT_EQ(queued["video"]["frames"], 12);
  const Json done = wait_for_job(client, queued["id"], 120);
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_EQ(done["summary"]["frames"], 12);
  EXPECT_TRUE(done["summary"].contains("warping_error"));
  EXPECT_EQ(done["progress"]["step"], 12) << done.dump();
  EXPECT_FALSE(done.contains("report_url"));
  auto result = client.Get(done["result_url"].get<std::string>());
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Type"), "video/mp4");
  EXPECT_EQ(frames_in(result->body, dir), 12);
  // The content is the clip as sent; deleting the job deletes both.
  auto content = client.Get(done["content_url"].get<std::string>());
  ASSERT_TRUE(content);
  EXPECT_EQ(content->body, clip);
  EXPECT_EQ(client.Delete(done["url"].get<std::string>())->status, 200);
  EXPECT_EQ(client.Get(done["result_url"].get<std::string>())->status, 404);
}

TEST(VideoService, WebmForBrowsers) {
  const std::string dir = temp_dir("video_service_webm");
  TestServer server(test_server_options("video_service_webm"));
  auto client = server.client();
  httplib::MultipartFormDataItems items = {file_field("content", clip_bytes(dir, 4), "c.mp4"), text_field("model", "tiny"),
                                           text_field("format", "webm")};
  auto res = client.Post("/v1/jobs", items);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 202) << res->body;
  const Json done = wait_for_job(client, Json::parse(res->body)["id"], 120);
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  auto result = client.Get(done["result_url"].get<std::string>());
  EXPECT_EQ(result->get_header_value("Content-Type"), "video/webm");
}

TEST(VideoService, ClipsOverTheLimitsOrBrokenAreRefusedBeforeQueueing) {
  const std::string dir = temp_dir("video_service_limits");
  server::ServerOptions o = test_server_options("video_service_limits");
  o.max_video_frames = 8;
  TestServer server(o);
  auto client = server.client();
  const std::string clip = clip_bytes(dir, 12);
  auto res = client.Post("/v1/jobs", httplib::MultipartFormDataItems{file_field("content", clip, "long.mp4"), text_field("model", "tiny")});
  Json e = expect_error(res, 413, "too_large");
  EXPECT_NE(e["message"].get<std::string>().find("12 frames, over the limit of 8"), std::string::npos) << e.dump();

  const std::string big = clip_bytes(dir, 4, 64, 96);
  server::ServerOptions small = test_server_options("video_service_pixels");
  small.max_video_pixels = 5000;
  TestServer small_server(small);
  auto small_client = small_server.client();
  res = small_client.Post("/v1/jobs", httplib::MultipartFormDataItems{file_field("content", big, "big.mp4"), text_field("model", "tiny")});
  e = expect_error(res, 413, "too_large");
  EXPECT_NE(e["message"].get<std::string>().find("6144 pixels"), std::string::npos) << e.dump();

  // Cut in half: the MP4's index is gone.
  const std::string cut = clip.substr(0, clip.size() / 2);
  res = client.Post("/v1/jobs", httplib::MultipartFormDataItems{file_field("content", cut, "cut.mp4"), text_field("model", "tiny")});
  e = expect_error(res, 400, "bad_image");
  EXPECT_NE(e["message"].get<std::string>().find("content video 'cut.mp4'"), std::string::npos) << e.dump();

  // An image format for a video's result, and a video on the synchronous path.
  res = client.Post("/v1/jobs", httplib::MultipartFormDataItems{file_field("content", clip_bytes(dir, 4), "c.mp4"),
                                                                text_field("model", "tiny"), text_field("format", "png")});
  e = expect_error(res, 400, "bad_option");
  EXPECT_EQ(e["option"], "format");
  res = client.Post("/v1/stylize", httplib::MultipartFormDataItems{file_field("content", clip_bytes(dir, 4), "c.mp4"),
                                                                   text_field("model", "tiny")});
  e = expect_error(res, 400, "bad_option");
  EXPECT_EQ(e["option"], "content");
}
