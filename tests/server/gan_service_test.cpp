// GANs from the models folder as style sources in the service: listed by /v1/models (a run folder and
// a generator file), their pictures shown by GET /v1/gans/{name}/styles before any job, and painted
// into a job (fields style_gan, style_seed, style_count) as the same pictures the page was shown,
// stored as the job's style files and recorded; the synchronous path gives what uploading those
// pictures gives. Names and fields that do not fit are refused by name.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "gan_support.h"
#include "impasto/core/error.h"
#include "impasto/io/image.h"
#include "impasto/style/gan_styles.h"
#include "server_support.h"
#include "test_support.h"

using namespace impasto;
using namespace impasto::test;
namespace fs = std::filesystem;

namespace {

std::string base64_decode(const std::string& text) {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (const char c : text) {
    if (c == '=') break;
    const size_t v = alphabet.find(c);
    if (v == std::string::npos) ADD_FAILURE() << "not base64: " << c;
    bits = bits << 6 | static_cast<uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

// The PNG bytes of the data: URLs GET /v1/gans/{name}/styles answers with.
std::vector<std::string> preview_pngs(const Json& body) {
  std::vector<std::string> out;
  const std::string prefix = "data:image/png;base64,";
  for (const auto& url : body.value("images", Json::array())) {
    const std::string s = url.get<std::string>();
    EXPECT_EQ(s.rfind(prefix, 0), 0u) << s.substr(0, 40);
    out.push_back(base64_decode(s.substr(prefix.size())));
  }
  return out;
}

// A job's fields with style_gan instead of a style upload: a small optimisation job.
httplib::MultipartFormDataItems gan_job(const std::string& gan, const std::string& seed, const std::string& count) {
  httplib::MultipartFormDataItems form{file_field("content", png_bytes(30, 40, false, 1), "photo.png"), text_field("style_gan", gan),
                                       text_field("iterations", "3"), text_field("image_size", "40")};
  if (!seed.empty()) form.push_back(text_field("style_seed", seed));
  if (!count.empty()) form.push_back(text_field("style_count", count));
  return form;
}

}  // namespace

TEST(GanService, RunsPaintStylesShownBeforeTheJobAndUsedByIt) {
  server::ServerOptions o = test_server_options("gan_service");
  const std::string run = tiny_gan_run(o.models_dir + "/painter");
  fs::copy_file(run + "/generator.ckpt", o.models_dir + "/painter-file.ckpt");
  TestServer server(o);
  auto client = server.client();

  // Listed as style sources, not as models of a method.
  const Json catalog = body_json(client.Get("/v1/models"));
  std::map<std::string, Json> models;
  for (const auto& m : catalog["models"]) models[m["name"].get<std::string>()] = m;
  for (const char* name : {"painter", "painter-file"}) {
    ASSERT_TRUE(models.count(name)) << catalog.dump();
    EXPECT_EQ(models[name]["kind"], "gan_generator");
    EXPECT_EQ(models[name]["paints_styles"], true);
    EXPECT_TRUE(models[name]["method"].is_null());
    EXPECT_EQ(models[name]["image_size"], 32);
    EXPECT_EQ(models[name]["step"], 2);
  }
  EXPECT_EQ(models["tiny"]["method"], "network");

  // The pictures before a job: the run's generator's for the seed, the same every time.
  const Json preview = body_json(client.Get("/v1/gans/painter/styles?seed=5&count=2"));
  EXPECT_EQ(preview["gan"], "painter");
  EXPECT_EQ(preview["seed"], 5);
  EXPECT_EQ(preview["step"], 2);
  EXPECT_EQ(preview["size"], Json::array({32, 32}));
  const std::vector<std::string> shown = preview_pngs(preview);
  ASSERT_EQ(shown.size(), 2u);
  GanStyleOptions direct;
  direct.run = run;
  direct.seed = 5;
  direct.count = 2;
  const GanStyles painted = generate_gan_styles(direct);
  for (size_t i = 0; i < 2; ++i)
    EXPECT_LE((decode_response(shown[i]) - painted.images[i]).abs().max().item<double>(), 0.5 / 255 + 1e-6) << "picture " << i;
  EXPECT_EQ(preview_pngs(body_json(client.Get("/v1/gans/painter/styles?seed=5&count=2"))), shown);
  EXPECT_EQ(preview_pngs(body_json(client.Get("/v1/gans/painter-file/styles?seed=5&count=2"))), shown);  // the same generator
  const std::vector<std::string> other = preview_pngs(body_json(client.Get("/v1/gans/painter/styles?seed=6&count=2")));
  ASSERT_EQ(other.size(), 2u);
  EXPECT_NE(other[0], shown[0]);  // another seed, other pictures (two training steps: they differ only a little)

  // A job with the GAN as its style: the pictures shown become its style files, and it records them.
  const Json queued = body_json(client.Post("/v1/jobs", gan_job("painter", "5", "2")));
  ASSERT_TRUE(queued.contains("id")) << queued.dump();
  EXPECT_EQ(queued["style_gan"]["gan"], "painter");
  EXPECT_EQ(queued["style_gan"]["seed"], 5);
  EXPECT_EQ(queued["style_gan"]["count"], 2);
  ASSERT_EQ(queued["style_urls"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    auto file = client.Get(queued["style_urls"][i].get<std::string>());
    ASSERT_TRUE(file && file->status == 200);
    EXPECT_EQ(file->body, shown[i]) << "style " << i + 1 << " is the picture shown for seed 5";
  }
  const Json done = wait_for_job(client, queued["id"].get<std::string>(), 120);
  EXPECT_EQ(done["state"], "succeeded") << done.dump();

  // No seed: the service draws one and says which, so the pictures can be had again.
  const Json drawn = body_json(client.Post("/v1/jobs", gan_job("painter", "", "")));
  ASSERT_TRUE(drawn["style_gan"]["seed"].is_number_unsigned()) << drawn.dump();
  const std::string seed = std::to_string(drawn["style_gan"]["seed"].get<uint64_t>());
  const auto again = preview_pngs(body_json(client.Get("/v1/gans/painter/styles?count=1&seed=" + seed)));
  auto first = client.Get(drawn["style_urls"][0].get<std::string>());
  ASSERT_TRUE(first && !again.empty());
  EXPECT_EQ(first->body, again[0]);
  wait_for_job(client, drawn["id"].get<std::string>(), 120);

  // Mistakes, by name.
  Json e = expect_error(client.Post("/v1/jobs", gan_job("nobody", "1", "1")), 400, "bad_option");
  EXPECT_EQ(e["option"], "style_gan");
  EXPECT_NE(e["message"].get<std::string>().find("painter"), std::string::npos) << e.dump();  // the valid names
  e = expect_error(client.Post("/v1/jobs", gan_job("tiny", "1", "1")), 400, "bad_option");
  EXPECT_NE(e["message"].get<std::string>().find("not a GAN"), std::string::npos) << e.dump();
  e = expect_error(client.Post("/v1/jobs", gan_job("painter", "1", "9")), 400, "bad_option");
  EXPECT_EQ(e["option"], "style_count");
  e = expect_error(client.Post("/v1/jobs", gan_job("painter", "-1", "1")), 400, "bad_option");
  EXPECT_EQ(e["option"], "style_seed");
  e = expect_error(client.Post("/v1/jobs", httplib::MultipartFormDataItems{file_field("content", png_bytes(30, 40), "p.png"),
                                                                            text_field("model", "painter")}),
                   400, "bad_option");
  EXPECT_NE(e["message"].get<std::string>().find("style_gan"), std::string::npos) << e.dump();
  e = expect_error(client.Post("/v1/jobs", httplib::MultipartFormDataItems{file_field("content", png_bytes(30, 40), "p.png"),
                                                                            text_field("model", "tiny"), text_field("style_gan", "painter")}),
                   400, "bad_option");
  EXPECT_EQ(e["option"], "style_gan");  // the network's style is in its model
  e = expect_error(client.Post("/v1/jobs", httplib::MultipartFormDataItems{file_field("content", png_bytes(30, 40), "p.png"),
                                                                            file_field("style", png_bytes(32, 32, true), "s.png"),
                                                                            text_field("style_seed", "3")}),
                   400, "bad_option");
  EXPECT_EQ(e["option"], "style_seed");
  EXPECT_EQ(expect_error(client.Get("/v1/gans/tiny/styles?seed=1"), 400, "bad_option")["option"], "style_gan");
  EXPECT_EQ(expect_error(client.Get("/v1/gans/painter/styles?colour=1"), 400, "bad_option")["option"], "colour");
  EXPECT_EQ(expect_error(client.Get("/v1/gans/painter/styles?seed=99999999999999999999"), 400, "bad_option")["option"], "style_seed");
}

TEST(GanService, SynchronousStylizationWithAGanStyleEqualsUploadingItsPictures) {
  server::ServerOptions o = test_server_options("gan_service_sync");
  tiny_gan_run(o.models_dir + "/painter");
  fs::copy_file(fixture("adain/decoder_w8.pth"), o.models_dir + "/adain-w8.pth");
  o.backbone_weights["vgg19-normalised"] = fixture("weights/vgg19_normalised_w8.pth");
  TestServer server(o);
  auto client = server.client();

  const std::string photo = png_bytes(48, 64, false, 2);
  const std::vector<std::string> shown = preview_pngs(body_json(client.Get("/v1/gans/painter/styles?seed=11&count=2")));
  ASSERT_EQ(shown.size(), 2u);
  auto painted = client.Post("/v1/stylize", httplib::MultipartFormDataItems{
      file_field("content", photo, "photo.png"), text_field("method", "adain"), text_field("model", "adain-w8"), text_field("style_gan", "painter"),
      text_field("style_seed", "11"), text_field("style_count", "2"), text_field("style_blend_weights", "0.3,0.7")});
  ASSERT_TRUE(painted);
  ASSERT_EQ(painted->status, 200) << painted->body;
  const Json summary = Json::parse(painted->get_header_value("X-Impasto-Summary"));
  EXPECT_EQ(summary["style_gan"]["seed"], 11) << summary.dump();
  auto uploaded = client.Post("/v1/stylize", httplib::MultipartFormDataItems{
      file_field("content", photo, "photo.png"), text_field("method", "adain"), text_field("model", "adain-w8"), file_field("style", shown[0], "a.png"),
      file_field("style", shown[1], "b.png"), text_field("style_blend_weights", "0.3,0.7")});
  ASSERT_TRUE(uploaded && uploaded->status == 200) << (uploaded ? uploaded->body : "");
  const at::Tensor a = decode_response(painted->body), b = decode_response(uploaded->body);
  ASSERT_EQ(a.sizes(), b.sizes());
  EXPECT_LE((a - b).abs().max().item<double>(), 1e-6);
  // A different seed is a different picture.
  auto other = client.Post("/v1/stylize", httplib::MultipartFormDataItems{
      file_field("content", photo, "photo.png"), text_field("method", "adain"), text_field("model", "adain-w8"), text_field("style_gan", "painter"),
      text_field("style_seed", "12")});
  ASSERT_TRUE(other && other->status == 200) << (other ? other->body : "");
  EXPECT_GT((decode_response(other->body) - a).abs().max().item<double>(), 0.5 / 255);
}

TEST(GanService, ABuiltInGanIsOfferedAndPaintsByItsBuiltinName) {
  // impasto's own GANs: models/<folder>/generator.ckpt, here in a models folder of the test's.
  const std::string builtin = temp_dir("gan_service_builtin");
  const std::string run = tiny_gan_run(temp_dir("gan_service_builtin_run") + "/run");
  fs::create_directories(builtin + "/gan-test");
  fs::copy_file(run + "/generator.ckpt", builtin + "/gan-test/generator.ckpt");
  setenv("IMPASTO_MODELS_DIR", builtin.c_str(), 1);
  struct Unset {
    ~Unset() { unsetenv("IMPASTO_MODELS_DIR"); }
  } unset;

  // The library and the CLI take the same name as the service.
  GanStyleOptions named, file;
  named.run = "builtin-gan-test";
  file.run = run;
  named.seed = file.seed = 4;
  EXPECT_TRUE(torch::equal(generate_gan_styles(named).images[0], generate_gan_styles(file).images[0]));
  named.run = "builtin-gan-none";
  EXPECT_THROW(generate_gan_styles(named), FileError);

  TestServer server(test_server_options("gan_service_builtin"));
  auto client = server.client();
  const Json catalog = body_json(client.Get("/v1/models"));
  Json listed;
  for (const auto& m : catalog["models"])
    if (m["name"] == "builtin-gan-test") listed = m;
  ASSERT_TRUE(listed.is_object()) << catalog.dump();
  EXPECT_EQ(listed["builtin"], true);
  EXPECT_EQ(listed["paints_styles"], true);
  const Json preview = body_json(client.Get("/v1/gans/builtin-gan-test/styles?seed=4"));
  ASSERT_EQ(preview["images"].size(), 1u) << preview.dump();
}

// A GAN trained with latent categories: the catalogue says how many, and a category given to the
// preview or a job paints that category's pictures (recorded); one it lacks is named.
TEST(GanService, ALatentCategoryIsPaintedAndRecorded) {
  server::ServerOptions o = test_server_options("gan_service_category");
  const std::string run = tiny_gan_run(o.models_dir + "/kinds", "digits", 3);
  tiny_gan_run(o.models_dir + "/plain");
  TestServer server(o);
  auto client = server.client();
  const Json catalog = body_json(client.Get("/v1/models"));
  std::map<std::string, Json> models;
  for (const auto& m : catalog["models"]) models[m["name"].get<std::string>()] = m;
  EXPECT_EQ(models["kinds"]["categories"], 3) << catalog.dump();
  EXPECT_EQ(models["plain"]["categories"], 0) << catalog.dump();

  const Json preview = body_json(client.Get("/v1/gans/kinds/styles?seed=2&count=2&category=1"));
  EXPECT_EQ(preview["category"], 1) << preview.dump();
  const std::vector<std::string> shown = preview_pngs(preview);
  ASSERT_EQ(shown.size(), 2u);
  GanStyleOptions direct;
  direct.run = run;
  direct.seed = 2;
  direct.count = 2;
  direct.category = 1;
  const GanStyles painted = generate_gan_styles(direct);
  for (size_t i = 0; i < 2; ++i)
    EXPECT_LE((decode_response(shown[i]) - painted.images[i]).abs().max().item<double>(), 0.5 / 255 + 1e-6) << "picture " << i;

  httplib::MultipartFormDataItems form = gan_job("kinds", "2", "2");
  form.push_back(text_field("style_category", "1"));
  const Json queued = body_json(client.Post("/v1/jobs", form));
  ASSERT_TRUE(queued.contains("id")) << queued.dump();
  EXPECT_EQ(queued["style_gan"]["category"], 1);
  auto file = client.Get(queued["style_urls"][1].get<std::string>());
  ASSERT_TRUE(file && file->status == 200);
  EXPECT_EQ(file->body, shown[1]);
  EXPECT_EQ(wait_for_job(client, queued["id"].get<std::string>(), 120)["state"], "succeeded");

  EXPECT_EQ(expect_error(client.Get("/v1/gans/kinds/styles?category=3"), 400, "bad_option")["option"], "style_category");
  EXPECT_EQ(expect_error(client.Get("/v1/gans/kinds/styles?category=one"), 400, "bad_option")["option"], "style_category");
  EXPECT_EQ(expect_error(client.Get("/v1/gans/plain/styles?category=0"), 400, "bad_option")["option"], "style_category");
}
