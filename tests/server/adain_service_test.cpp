// The adain method in the service: listed in /v1/models with its client options, its decoder offered
// from the models folder (kind adain_decoder, method adain), the encoder's weights the operator's, and
// a synchronous POST /v1/stylize and a job with an uploaded style image giving the reference's picture. A model
// sent without a method still means the network method.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "impasto/io/image.h"
#include "impasto/io/weights.h"
#include "server_support.h"
#include "test_support.h"

using namespace impasto;
using namespace impasto::test;

namespace {

std::string png_of(const at::Tensor& u8) {
  const auto bytes = encode_image(u8.to(torch::kFloat32) / 255.0, ".png");
  return std::string(bytes.begin(), bytes.end());
}

at::Tensor decode(const std::string& bytes) {
  return decode_image(std::vector<uint8_t>(bytes.begin(), bytes.end()), "response").rgb;
}

}  // namespace

TEST(AdainService, ListedAndStylizesSynchronouslyWithAnUploadedStyle) {
  server::ServerOptions o = test_server_options("adain_service");
  std::filesystem::copy_file(fixture("adain/decoder_w8.pth"), o.models_dir + "/adain-w8.pth");
  o.backbone_weights["vgg19-normalised"] = fixture("weights/vgg19_normalised_w8.pth");
  TestServer server(o);
  auto client = server.client();

  auto catalog_res = client.Get("/v1/models");
  ASSERT_TRUE(catalog_res);
  const Json catalog = Json::parse(catalog_res->body);
  Json listed;
  for (const auto& m : catalog["methods"])
    if (m["name"] == "adain") listed = m;
  ASSERT_TRUE(listed.is_object()) << catalog.dump();
  EXPECT_EQ(listed["synchronous"], true);
  EXPECT_EQ(listed["capabilities"]["masks"], true);
  bool alpha = false;
  for (const auto& option : listed["options"]) {
    EXPECT_NE(option["name"], "decoder");  // the model: chosen by name from the catalogue
    EXPECT_NE(option["name"], "weights");  // the operator's
    if (option["name"] == "alpha") {
      alpha = true;
      EXPECT_EQ(option["web"]["kind"], "range");
    }
  }
  EXPECT_TRUE(alpha) << listed.dump();
  std::map<std::string, Json> models;
  for (const auto& m : catalog["models"]) models[m["name"].get<std::string>()] = m;
  ASSERT_TRUE(models.count("adain-w8")) << catalog.dump();
  EXPECT_EQ(models["adain-w8"]["method"], "adain");
  EXPECT_EQ(models["adain-w8"]["kind"], "adain_decoder");
  EXPECT_EQ(models["tiny"]["method"], "network");

  std::map<std::string, at::Tensor> ref;
  for (const auto& [k, t] : load_pth(fixture("adain/adain_w8_ref.pth"))) ref[k] = t;
  auto res = client.Post("/v1/stylize",
                         httplib::MultipartFormDataItems{file_field("content", png_of(ref.at("content")), "c.png"),
                                                         file_field("style", png_of(ref.at("style_a")), "s.png"),
                                                         text_field("method", "adain"), text_field("model", "adain-w8"),
                                                         text_field("alpha", "0.5"), text_field("image_size", "0"),
                                                         text_field("style_size", "0")});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_LE((decode(res->body) - ref.at("alpha05").clamp(0, 1)).abs().max().item<double>(), 0.5 / 255 + 1e-4);

  // As a job on a worker.
  auto job = client.Post("/v1/jobs", httplib::MultipartFormDataItems{file_field("content", png_of(ref.at("content")), "c.png"),
                                                                     file_field("style", png_of(ref.at("style_a")), "s.png"),
                                                                     text_field("method", "adain"), text_field("model", "adain-w8"),
                                                                     text_field("image_size", "0"), text_field("style_size", "0")});
  ASSERT_TRUE(job);
  ASSERT_EQ(job->status, 202) << job->body;
  const Json done = wait_for_job(client, Json::parse(job->body)["id"]);
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_EQ(done["method"], "adain");
  auto result = client.Get(done["result_url"].get<std::string>());
  ASSERT_TRUE(result);
  EXPECT_LE((decode(result->body) - ref.at("one").clamp(0, 1)).abs().max().item<double>(), 0.5 / 255 + 1e-4);

  // Out of range: refused by name.
  auto refused = client.Post("/v1/stylize",
                             httplib::MultipartFormDataItems{file_field("content", png_of(ref.at("content")), "c.png"),
                                                             file_field("style", png_of(ref.at("style_a")), "s.png"),
                                                             text_field("method", "adain"), text_field("model", "adain-w8"),
                                                             text_field("alpha", "2")});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400) << refused->body;
  EXPECT_EQ(Json::parse(refused->body)["error"]["option"], "alpha") << refused->body;

  // A model alone still means the network method.
  auto network = client.Post("/v1/stylize", httplib::MultipartFormDataItems{file_field("content", png_bytes(24, 32), "p.png"),
                                                                             text_field("model", "tiny")});
  ASSERT_TRUE(network);
  EXPECT_EQ(network->status, 200) << network->body;
}
