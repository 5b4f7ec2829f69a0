// The adain method in the service: listed in /v1/models with its client options, its decoder offered
// from the models folder (kind adain_decoder, method adain), the encoder's weights the operator's, and
// a synchronous POST /v1/stylize and a job with an uploaded style image giving the reference's picture. A model
// sent without a method still means the network method. With no model named, the built-in one runs.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "impasto/core/text.h"
#include "impasto/io/image.h"
#include "impasto/io/weights.h"
#include "impasto/style/method.h"
#include "impasto/train/adain_trainer.h"
#include "server_support.h"
#include "test_support.h"

using namespace impasto;
using namespace impasto::test;

namespace {

std::string png_of(const at::Tensor& u8) {
  const auto bytes = encode_image(u8.to(torch::kFloat32) / 255.0, ".png");
  return std::string(bytes.begin(), bytes.end());
}


// $IMPASTO_MODELS_DIR for one scope (the built-in models' folder).
class ModelsDirForTest {
 public:
  explicit ModelsDirForTest(const std::string& dir) { setenv("IMPASTO_MODELS_DIR", dir.c_str(), 1); }
  ~ModelsDirForTest() { unsetenv("IMPASTO_MODELS_DIR"); }
};

// A server offering the random-weight decoder fixture as model "adain-w8", with its encoder's weights
// as the operator's.
server::ServerOptions fixture_server_options(const std::string& name) {
  server::ServerOptions o = test_server_options(name);
  std::filesystem::copy_file(fixture("adain/decoder_w8.pth"), o.models_dir + "/adain-w8.pth");
  o.backbone_weights["vgg19-normalised"] = fixture("weights/vgg19_normalised_w8.pth");
  return o;
}

}  // namespace

TEST(AdainService, ListedAndStylizesSynchronouslyWithAnUploadedStyle) {
  const server::ServerOptions o = fixture_server_options("adain_service");
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
                                                         text_field("style_size", "0"), text_field("precision", "fp32")});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_LE((decode_response(res->body) - ref.at("alpha05").clamp(0, 1)).abs().max().item<double>(), 0.5 / 255 + 1e-4);

  // As a job on a worker.
  auto job = client.Post("/v1/jobs", httplib::MultipartFormDataItems{file_field("content", png_of(ref.at("content")), "c.png"),
                                                                     file_field("style", png_of(ref.at("style_a")), "s.png"),
                                                                     text_field("method", "adain"), text_field("model", "adain-w8"),
                                                                     text_field("image_size", "0"), text_field("style_size", "0"),
                                                                     text_field("precision", "fp32")});  // the reference's numbers
  ASSERT_TRUE(job);
  ASSERT_EQ(job->status, 202) << job->body;
  const Json done = wait_for_job(client, Json::parse(job->body)["id"]);
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_EQ(done["method"], "adain");
  auto result = client.Get(done["result_url"].get<std::string>());
  ASSERT_TRUE(result);
  EXPECT_LE((decode_response(result->body) - ref.at("one").clamp(0, 1)).abs().max().item<double>(), 0.5 / 255 + 1e-4);

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

// No model named: the service runs the method's built-in model (impasto's own models/adain/decoder.ckpt,
// here a decoder trained for two steps into $IMPASTO_MODELS_DIR), lists it in /v1/models as built in
// and as the method's default, and names it in the job. Without one, the request is refused by name.
TEST(AdainService, RunsTheBuiltInModelWhenNoneIsNamed) {
  const std::string dir = temp_dir("adain_service_builtin");
  AdainTrainOptions t;
  t.content.synthetic = t.style.synthetic = "textures";
  t.content.size = 32;
  t.content.load_size = 0;
  t.content.batch_size = 2;
  t.content.workers = 1;
  t.steps = 2;
  t.device = "cpu";
  t.num_samples = 1;
  const AdainTrainResult trained = train_adain(t, dir + "/run", {});
  std::filesystem::create_directories(dir + "/builtin/adain");
  std::filesystem::copy_file(trained.decoder, dir + "/builtin/adain/decoder.ckpt");
  const std::string photo = png_bytes(40, 24), painting = png_bytes(32, 32);
  const httplib::MultipartFormDataItems form{file_field("content", photo, "p.png"), file_field("style", painting, "s.png"),
                                             text_field("method", "adain"), text_field("image_size", "0"),
                                             text_field("style_size", "0")};

  {
    ModelsDirForTest none(dir + "/none");
    TestServer server(test_server_options("adain_service_no_builtin"));
    auto client = server.client();
    EXPECT_EQ(expect_error(client.Post("/v1/stylize", form), 400, "bad_option")["option"], "model");
    EXPECT_EQ(expect_error(client.Post("/v1/jobs", form), 400, "bad_option")["option"], "model");
  }

  ModelsDirForTest builtin_dir(dir + "/builtin");
  TestServer server(test_server_options("adain_service_builtin"));
  auto client = server.client();
  const Json catalog = Json::parse(client.Get("/v1/models")->body);
  Json builtin, adain;
  for (const auto& m : catalog["models"])
    if (m["name"] == "builtin-adain") builtin = m;
  for (const auto& m : catalog["methods"])
    if (m["name"] == "adain") adain = m;
  ASSERT_TRUE(builtin.is_object()) << catalog.dump();
  EXPECT_EQ(builtin["builtin"], true);
  EXPECT_EQ(builtin["method"], "adain");
  EXPECT_EQ(builtin["kind"], "adain_decoder");
  EXPECT_EQ(adain["default_model"], "builtin-adain") << adain.dump();

  auto res = client.Post("/v1/stylize", form);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body << join(server.log_lines(), "\n");
  const at::Tensor image = decode_response(res->body);
  EXPECT_EQ(image.sizes(), at::IntArrayRef({1, 3, 40, 24}));
  // The same picture as the library gives with that decoder.
  Json library{{"decoder", dir + "/builtin/adain/decoder.ckpt"}, {"image_size", 0}, {"style_size", 0}, {"device", "cpu"}};
  StyleSet styles;
  styles.styles.push_back(StyleInput{"s", decode_response(painting)});
  const at::Tensor expected =
      method_registry().get("adain").open(library, styles, nullptr)->stylize(Image{decode_response(photo)}, StylizeHooks{}).image.rgb;
  EXPECT_LE((image - expected.clamp(0, 1)).abs().max().item<double>(), 0.5 / 255 + 1e-4);

  auto job = client.Post("/v1/jobs", form);
  ASSERT_TRUE(job);
  ASSERT_EQ(job->status, 202) << job->body;
  const Json done = wait_for_job(client, Json::parse(job->body)["id"]);
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_EQ(done["model"], "builtin-adain");
}

// The web page's gallery of built-in styles: styles.json names public-domain paintings (title,
// painter, year before 1930), each served by the binary as a JPEG that decodes, cacheable; nothing
// else is served under /styles/.
TEST(WebStyles, TheGalleryOffersPublicDomainPaintingsServedByTheBinary) {
  TestServer server(test_server_options("web_styles"));
  auto client = server.client();
  const Json manifest = body_json(client.Get("/styles/styles.json"));
  ASSERT_GE(manifest["styles"].size(), 3u) << manifest.dump();
  for (const auto& style : manifest["styles"]) {
    EXPECT_FALSE(style["title"].get<std::string>().empty());
    EXPECT_FALSE(style["painter"].get<std::string>().empty());
    EXPECT_LT(style["year"].get<int>(), 1930) << style.dump();
    auto res = client.Get("/styles/" + style["file"].get<std::string>());
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << style.dump();
    EXPECT_EQ(res->get_header_value("Content-Type"), "image/jpeg");
    EXPECT_NE(res->get_header_value("Cache-Control").find("max-age"), std::string::npos);
    const at::Tensor image = decode_response(res->body);
    EXPECT_LE(std::max(image.size(2), image.size(3)), 512);
    EXPECT_GE(std::max(image.size(2), image.size(3)), 256);
  }
  expect_error(client.Get("/styles/nothing.jpg"), 404, "not_found");
  auto traversal = client.Get("/styles/..%2Fapp.js");
  ASSERT_TRUE(traversal);
  EXPECT_EQ(traversal->status, 404);
}

// Masks (fields mask_N, the region of style N) reach the method on both paths: the picture is the
// library's with the same masks; a job keeps them as mask-N files. Masks for a style that was not
// sent, or for a method that takes none, are refused by name.
TEST(AdainService, MasksGiveEachStyleItsRegion) {
  const server::ServerOptions o = fixture_server_options("adain_service_masks");
  TestServer server(o);
  auto client = server.client();
  const std::string photo = png_bytes(40, 48), painting_a = png_bytes(32, 32, true, 1), painting_b = png_bytes(32, 32, true, 2);
  // Style 1 on the left half, style 2 on the right.
  const at::Tensor left = torch::cat({torch::ones({1, 3, 40, 24}), torch::zeros({1, 3, 40, 24})}, 3);
  const std::string mask_left = png_of((left * 255).to(torch::kUInt8)), mask_right = png_of(((1 - left) * 255).to(torch::kUInt8));
  auto form = [&](std::vector<httplib::MultipartFormData> masks) {
    httplib::MultipartFormDataItems f{file_field("content", photo, "p.png"), file_field("style", painting_a, "a.png"),
                                      file_field("style", painting_b, "b.png"), text_field("method", "adain"),
                                      text_field("model", "adain-w8"), text_field("image_size", "0"), text_field("style_size", "0")};
    for (auto& m : masks) f.push_back(m);
    return f;
  };
  auto res = client.Post("/v1/stylize", form({file_field("mask_1", mask_left, "l.png"), file_field("mask_2", mask_right, "r.png")}));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;

  Json library{{"decoder", o.models_dir + "/adain-w8.pth"}, {"weights", fixture("weights/vgg19_normalised_w8.pth")},
               {"image_size", 0}, {"style_size", 0}, {"device", "cpu"}};
  StyleSet styles;
  styles.styles.push_back(StyleInput{"a", decode_response(painting_a), 1.0, left.narrow(1, 0, 1)});
  styles.styles.push_back(StyleInput{"b", decode_response(painting_b), 1.0, (1 - left).narrow(1, 0, 1)});
  const at::Tensor expected =
      method_registry().get("adain").open(library, styles, nullptr)->stylize(Image{decode_response(photo)}, StylizeHooks{}).image.rgb;
  EXPECT_LE((decode_response(res->body) - expected.clamp(0, 1)).abs().max().item<double>(), 0.5 / 255 + 1e-4);
  // Without the masks the picture is another one (the two styles blended everywhere).
  auto blended = client.Post("/v1/stylize", form({}));
  ASSERT_TRUE(blended);
  EXPECT_GT((decode_response(blended->body) - expected).abs().max().item<double>(), 0.02);

  // As a job: the same picture, the mask kept beside the uploads.
  auto job = client.Post("/v1/jobs", form({file_field("mask_1", mask_left, "l.png"), file_field("mask_2", mask_right, "r.png")}));
  ASSERT_TRUE(job);
  ASSERT_EQ(job->status, 202) << job->body;
  const Json done = wait_for_job(client, Json::parse(job->body)["id"]);
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_LE((decode_response(client.Get(done["result_url"].get<std::string>())->body) - expected.clamp(0, 1)).abs().max().item<double>(),
            0.5 / 255 + 1e-4);
  auto kept = client.Get(done["url"].get<std::string>() + "/mask-2");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->status, 200);
  EXPECT_EQ(kept->body, mask_right);

  EXPECT_EQ(expect_error(client.Post("/v1/stylize", form({file_field("mask_3", mask_left, "l.png")})), 400, "bad_option")["option"],
            "mask_3");
  EXPECT_EQ(expect_error(client.Post("/v1/stylize", form({file_field("mask_0", mask_left, "l.png")})), 400, "bad_option")["option"],
            "mask_0");
  auto network = client.Post("/v1/stylize", httplib::MultipartFormDataItems{file_field("content", photo, "p.png"), text_field("model", "tiny"),
                                                                             file_field("mask_1", mask_left, "l.png")});
  EXPECT_EQ(expect_error(network, 400, "bad_option")["option"], "mask_1");
}
