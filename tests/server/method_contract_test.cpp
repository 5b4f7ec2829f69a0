// The method contract (style/method.h): a method registered from inside this test binary, with no
// change to apps/ or server/, is offered as `stylize` flags (and named by them), accepted by the
// service within the limits its schema states, listed in /v1/models, and run by a service worker.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <vector>

#include "impasto/cli.h"
#include "impasto/data/synthetic.h"
#include "impasto/io/image.h"
#include "impasto/style/method.h"
#include "server_support.h"
#include "test_support.h"

namespace impasto::test {
namespace {

// Brightens (or darkens) the photo by `toy_gain`: one pass, no style image.
class ToySession : public Session {
 public:
  explicit ToySession(Json options) : options_(std::move(options)) {}
  StylizeResult stylize(const Image& content, const StylizeHooks&) override {
    StylizeResult r;
    r.image.rgb = (content.rgb * options_["toy_gain"].get<double>()).clamp(0, 1);
    r.summary = Json{{"method", "toy"}, {"options", options_}, {"width", content.width()}, {"height", content.height()}};
    r.detail = "toy gain " + options_["toy_gain"].dump();
    return r;
  }
  Json options() const override { return options_; }

 private:
  Json options_;
};

MethodDescription toy_description() {
  MethodCapabilities can;
  can.min_styles = can.max_styles = 0;
  can.iterative = false;
  // The schema allows gains up to 4; the service up to 2.
  return MethodDescription{"toy", "multiplies the photo by a gain (a test's method)",
                           OptionSchema{number_option("toy_gain", 1.0, "brightness factor")
                                            .with_range(0, 4)
                                            .limited_by("", 2.0)
                                            .on_page(WebControl{"range", "Gain", {}, Json(), 0.1})},
                           can};
}

class ToyMethod : public Method {
 public:
  ToyMethod() : Method(toy_description()) {}
  std::unique_ptr<Session> open(const Json& options, const StyleSet& styles, ResourceCache*) const override {
    check_style_count(description(), styles.styles.size());
    return std::make_unique<ToySession>(check(options));
  }
};

// Registers the toy method for one test.
struct ToyRegistered {
  ToyRegistered() { method_registry().add(std::make_shared<ToyMethod>()); }
  ~ToyRegistered() { method_registry().remove("toy"); }
};

int run_in_process(std::vector<std::string> args) {
  args.insert(args.begin(), "impasto");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return cli::run(static_cast<int>(argv.size()), argv.data());
}


TEST(MethodContract, ARegisteredMethodIsOfferedAsStylizeFlags) {
  ToyRegistered toy;
  const std::string dir = temp_dir("toy_cli");
  const at::Tensor photo = synthetic_landscape(24, 32, 3);
  write_image(dir + "/photo.png", photo);

  testing::internal::CaptureStdout();
  EXPECT_EQ(run_in_process({"stylize", "--help"}), 0);
  const std::string help = testing::internal::GetCapturedStdout();
  EXPECT_NE(help.find("--toy-gain"), std::string::npos) << help;
  EXPECT_NE(help.find("brightness factor"), std::string::npos) << help;
  EXPECT_NE(help.find("toy (multiplies the photo"), std::string::npos) << help;  // --method's list

  // The flag alone names the method (the default, gatys, has no such option).
  ASSERT_EQ(run_in_process({"stylize", "-q", "-c", dir + "/photo.png", "--toy-gain", "0.5", "-o", dir + "/half.png"}), 0);
  const at::Tensor half = read_image(dir + "/half.png").rgb;
  EXPECT_LT((half - photo * 0.5).abs().max().item<double>(), 1.0 / 255);
  const Json summary = Json::parse(std::ifstream(dir + "/half.json"));
  EXPECT_EQ(summary["method"], "toy");
  EXPECT_EQ(summary["options"]["toy_gain"], 0.5);
  // The schema's range holds on the command line too.
  EXPECT_EQ(run_in_process({"stylize", "-q", "-c", dir + "/photo.png", "--method", "toy", "--toy-gain", "9", "-o", dir + "/x.png"}), 1);
}

TEST(MethodContract, ARegisteredMethodIsListedAndAcceptedByTheServiceWithinItsLimits) {
  ToyRegistered toy;
  TestServer server(test_server_options("toy_service"));
  auto client = server.client();
  auto catalog_res = client.Get("/v1/models");
  ASSERT_TRUE(catalog_res);
  const Json catalog = Json::parse(catalog_res->body);
  Json listed;
  for (const auto& m : catalog["methods"])
    if (m["name"] == "toy") listed = m;
  ASSERT_TRUE(listed.is_object()) << catalog.dump();
  EXPECT_EQ(listed["synchronous"], true);
  ASSERT_EQ(listed["options"].size(), 1u);
  EXPECT_EQ(listed["options"][0]["name"], "toy_gain");
  EXPECT_EQ(listed["options"][0]["max_here"], 2.0);
  EXPECT_EQ(listed["options"][0]["web"]["kind"], "range");
  EXPECT_EQ(listed["defaults"]["toy_gain"], 1.0);

  const std::string photo = png_bytes(20, 28);
  auto res = client.Post("/v1/stylize", httplib::MultipartFormDataItems{file_field("content", photo, "p.png"),
                                                                          text_field("method", "toy"), text_field("toy_gain", "1.5")});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_LT((decode_response(res->body) - (decode_response(photo) * 1.5).clamp(0, 1)).abs().max().item<double>(), 1.0 / 255);

  // Over the service's limit of 2 (the schema allows 4), and outside the schema's range.
  for (const std::string gain : {"3", "-1"}) {
    auto refused = client.Post("/v1/jobs", httplib::MultipartFormDataItems{file_field("content", photo, "p.png"),
                                                                             text_field("toy_gain", gain)});
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 400) << refused->body;
    EXPECT_EQ(Json::parse(refused->body)["error"]["option"], "toy_gain") << refused->body;
  }
  // A job, named by its option alone, runs on a worker.
  auto job = client.Post("/v1/jobs", httplib::MultipartFormDataItems{file_field("content", photo, "p.png"), text_field("toy_gain", "2")});
  ASSERT_TRUE(job);
  ASSERT_EQ(job->status, 202) << job->body;
  const Json done = wait_for_job(client, Json::parse(job->body)["id"]);
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  EXPECT_EQ(done["method"], "toy");
  auto result = client.Get(done["result_url"].get<std::string>());
  ASSERT_TRUE(result);
  EXPECT_LT((decode_response(result->body) - (decode_response(photo) * 2).clamp(0, 1)).abs().max().item<double>(), 1.0 / 255);
}

TEST(MethodContract, TheServiceLoadsEachNetworkOnceAndChecksJobsWithoutLoading) {
  TestServer server(test_server_options("load_once"));
  auto client = server.client();
  auto loaded = [&] {
    auto m = client.Get("/metrics");
    const std::string key = "\nimpasto_networks_loaded_total ";
    const size_t at = m->body.find(key);
    return at == std::string::npos ? -1 : std::stoi(m->body.substr(at + key.size()));
  };
  EXPECT_EQ(loaded(), 0);
  // A job with a bad option is refused by the method's check: nothing is loaded.
  auto bad = client.Post("/v1/jobs", httplib::MultipartFormDataItems{file_field("content", png_bytes(20, 28), "p.png"),
                                                                       file_field("style", png_bytes(16, 16, true), "s.png"),
                                                                       text_field("style_layers", "relu9_9")});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400) << bad->body;
  EXPECT_EQ(loaded(), 0);
  // The model, used synchronously three times, is read once.
  for (int i = 0; i < 3; ++i) {
    auto res = client.Post("/v1/stylize", httplib::MultipartFormDataItems{file_field("content", png_bytes(20, 28), "p.png"),
                                                                            text_field("model", "tiny")});
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
  }
  EXPECT_EQ(loaded(), 1);
}

}  // namespace
}  // namespace impasto::test
