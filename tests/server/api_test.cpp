// The REST API against the real server on 127.0.0.1 (random port): the happy paths, every error a
// client can cause, the queue and rate limits, TTL expiry, keys, CORS and metrics.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <set>
#include <thread>

#include "impasto/io/image.h"
#include "server/api_keys.h"
#include "postgres_support.h"
#include "server_support.h"
#include "test_support.h"

namespace impasto::test {
namespace {

namespace fs = std::filesystem;

// The tests of the job life, once on each store: SQLite (the embedded default) and PostgreSQL (a
// database of the test's own server; the jobs' files are then in the database, not the data folder).
class ServerApiOnStore : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") IMPASTO_REQUIRE_POSTGRES();
  }
  server::ServerOptions store_options(const std::string& name) {
    auto options = test_server_options(name + "_" + GetParam());
    if (GetParam() == "postgresql") options.store = PostgresServer::get().fresh_database(name);
    return options;
  }
  bool files_on_disk() const { return GetParam() == "sqlite"; }
};



TEST_P(ServerApiOnStore, OptimisationJobRunsToAResultAndAReport) {
  TestServer server(store_options("happy"));
  auto client = server.client();
  auto health = client.Get("/v1/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(body_json(health)["status"], "ok");

  auto res = client.Post("/v1/jobs", optimisation_job(8, 40));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 202) << res->body;
  const Json created = body_json(res);
  const std::string id = created["id"];
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(res->get_header_value("Location"), "/v1/jobs/" + id);
  EXPECT_TRUE(created["state"] == "queued" || created["state"] == "running");

  const Json job = wait_for_job(client, id);
  ASSERT_EQ(job["state"], "succeeded") << job.dump();
  EXPECT_EQ(job["summary"]["width"], 40);
  EXPECT_EQ(job["summary"]["height"], 30);
  EXPECT_EQ(job["progress"]["step"], 8);
  EXPECT_FALSE(job["summary"].dump().find(server.service().options().data_dir) != std::string::npos)
      << "the summary leaks server paths: " << job["summary"].dump();

  auto result = client.Get("/v1/jobs/" + id + "/result");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Type"), "image/png");
  EXPECT_EQ(result->get_header_value("Cache-Control"), "no-store");
  const at::Tensor image = decode_response(result->body);
  EXPECT_EQ(image.size(2), 30);
  EXPECT_EQ(image.size(3), 40);

  auto content = client.Get("/v1/jobs/" + id + "/content");
  ASSERT_TRUE(content);
  EXPECT_EQ(content->status, 200);
  EXPECT_EQ(content->body, png_bytes(30, 40));  // the upload, byte for byte

  auto redirect = client.Get("/v1/jobs/" + id + "/report");
  ASSERT_TRUE(redirect);
  EXPECT_EQ(redirect->status, 302);
  auto report = client.Get("/v1/jobs/" + id + "/report/");
  ASSERT_TRUE(report);
  ASSERT_EQ(report->status, 200);
  EXPECT_EQ(report->get_header_value("Content-Type").rfind("text/html", 0), 0u);
  // explain's report: every picture it shows is served from the job's report folder.
  for (const char* section : {"id=\"losses\"", "id=\"attribution\"", "id=\"faithfulness\"", "id=\"gram\""})
    EXPECT_NE(report->body.find(section), std::string::npos) << section;
  std::set<std::string> files;
  for (size_t at = report->body.find("src=\""); at != std::string::npos; at = report->body.find("src=\"", at + 1)) {
    const size_t from = at + 5;
    files.insert(report->body.substr(from, report->body.find('"', from) - from));
  }
  EXPECT_GE(files.size(), 5u);
  for (const std::string& file : files) {
    auto figure = client.Get("/v1/jobs/" + id + "/report/" + file);
    ASSERT_TRUE(figure);
    EXPECT_EQ(figure->status, 200) << file;
  }
  auto index = client.Get("/v1/jobs/" + id + "/report/report.json");
  ASSERT_TRUE(index);
  ASSERT_EQ(index->status, 200);
  EXPECT_EQ(index->body.find(server.service().options().data_dir), std::string::npos) << "report.json leaks server paths";
  EXPECT_TRUE(body_json(index)["sections"].is_array());
  expect_error(client.Get("/v1/jobs/" + id + "/report/figures/..%2F..%2Fresult.json"), 404, "not_found");
  expect_error(client.Get("/v1/jobs/" + id + "/report/..%2Fjobs.sqlite3"), 404, "not_found");
}

TEST(ServerApi, ModelAnswersSynchronouslyAndAsAJob) {
  TestServer server(test_server_options("model"));
  auto client = server.client();
  const Json catalog = body_json(client.Get("/v1/models"));
  Json offered = Json::array();  // the operator's models (impasto's built-in ones are listed too)
  for (const auto& m : catalog["models"])
    if (!m["builtin"].get<bool>()) offered.push_back(m);
  ASSERT_EQ(offered.size(), 1u) << catalog.dump();
  EXPECT_EQ(offered[0]["name"], "tiny");
  EXPECT_EQ(offered[0]["kind"], "transformer_net");

  auto res = client.Post("/v1/stylize", httplib::MultipartFormDataItems{file_field("content", png_bytes(36, 52), "p.png"),
                                                                          text_field("model", "tiny"), text_field("strength", "0.5")});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("Content-Type"), "image/png");
  const at::Tensor half = decode_response(res->body);
  EXPECT_EQ(half.size(2), 36);  // full resolution: the input's size
  EXPECT_EQ(half.size(3), 52);
  const Json summary = Json::parse(res->get_header_value("X-Impasto-Summary"));
  EXPECT_EQ(summary["options"]["model"], "tiny");
  EXPECT_DOUBLE_EQ(summary["options"]["strength"].get<double>(), 0.5);

  // Strength 0 gives back the photo (up to 8-bit rounding).
  auto zero = client.Post("/v1/stylize", httplib::MultipartFormDataItems{file_field("content", png_bytes(36, 52), "p.png"),
                                                                           text_field("model", "tiny"), text_field("strength", "0")});
  ASSERT_TRUE(zero);
  EXPECT_LT((decode_response(zero->body) - decode_response(png_bytes(36, 52))).abs().max().item<float>(), 1.5f / 255);

  auto job = client.Post("/v1/jobs", httplib::MultipartFormDataItems{file_field("content", png_bytes(36, 52), "p.png"),
                                                                       text_field("model", "tiny"), text_field("format", "jpeg")});
  ASSERT_TRUE(job);
  ASSERT_EQ(job->status, 202) << job->body;
  const Json done = wait_for_job(client, body_json(job)["id"]);
  ASSERT_EQ(done["state"], "succeeded") << done.dump();
  auto result = client.Get(done["result_url"].get<std::string>());
  ASSERT_TRUE(result);
  EXPECT_EQ(result->get_header_value("Content-Type"), "image/jpeg");

  // Optimisation is not answered synchronously.
  auto slow = client.Post("/v1/stylize", optimisation_job());
  EXPECT_EQ(expect_error(slow, 400, "bad_option")["option"], "model");
}

TEST(ServerApi, EveryBadRequestGetsAJsonError) {
  auto options = test_server_options("errors");
  options.max_pixels = 5000;
  options.max_upload_bytes = 100'000;
  TestServer server(options);
  auto client = server.client();
  const std::string photo = png_bytes(30, 40);  // 1200 px

  // Not an image.
  auto e = expect_error(client.Post("/v1/jobs", httplib::MultipartFormDataItems{file_field("content", "hello, world", "notes.txt"),
                                                                                  file_field("style", photo, "s.png")}),
                        400, "bad_image");
  EXPECT_NE(e["message"].get<std::string>().find("content image 'notes.txt'"), std::string::npos) << e.dump();
  // A truncated image.
  e = expect_error(client.Post("/v1/jobs", httplib::MultipartFormDataItems{file_field("content", photo.substr(0, photo.size() / 2), "cut.png"),
                                                                             file_field("style", photo, "s.png")}),
                   400, "bad_image");
  EXPECT_NE(e["message"].get<std::string>().find("cut.png"), std::string::npos) << e.dump();
  // A truncated upload: the multipart body ends before its closing boundary.
  const std::string cut_body = "--XyZ\r\nContent-Disposition: form-data; name=\"content\"; filename=\"a.png\"\r\n\r\n" + photo.substr(0, 100);
  expect_error(client.Post("/v1/jobs", cut_body, "multipart/form-data; boundary=XyZ"), 400, "bad_request");
  // Too many bytes: refused from Content-Length.
  expect_error(client.Post("/v1/jobs", httplib::MultipartFormDataItems{file_field("content", std::string(150'000, 'x'), "big.png")}),
               413, "too_large");
  // Too many pixels, read from the header: a 100x100 PNG of 10000 px > 5000.
  e = expect_error(client.Post("/v1/jobs", httplib::MultipartFormDataItems{file_field("content", png_bytes(100, 100), "wide.png"),
                                                                             file_field("style", photo, "s.png")}),
                   413, "too_large");
  EXPECT_NE(e["message"].get<std::string>().find("pixels"), std::string::npos) << e.dump();
  // Unknown option, bad value, over a limit, bad JSON.
  auto form = optimisation_job();
  form.push_back(text_field("colour", "blue"));
  EXPECT_EQ(expect_error(client.Post("/v1/jobs", form), 400, "bad_option")["option"], "colour");
  form = optimisation_job();
  form.push_back(text_field("style_weight", "-3"));
  EXPECT_EQ(expect_error(client.Post("/v1/jobs", form), 400, "bad_option")["option"], "style_weight");
  EXPECT_EQ(expect_error(client.Post("/v1/jobs", optimisation_job(5000)), 400, "bad_option")["option"], "iterations");
  form = optimisation_job();
  form.push_back(text_field("options", "{\"iterations\": 3,"));
  EXPECT_EQ(expect_error(client.Post("/v1/jobs", form), 400, "bad_option")["option"], "options");
  form = optimisation_job();
  form.push_back(text_field("backbone", "vgg19"));
  e = expect_error(client.Post("/v1/jobs", form), 400, "bad_option");
  EXPECT_NE(e["message"].get<std::string>().find("not offered"), std::string::npos) << e.dump();
  // Unknown model: the valid ones are named.
  e = expect_error(client.Post("/v1/jobs", httplib::MultipartFormDataItems{file_field("content", photo, "p.png"), text_field("model", "candy")}),
                   400, "bad_option");
  EXPECT_EQ(e["option"], "model");
  EXPECT_NE(e["message"].get<std::string>().find("tiny"), std::string::npos) << e.dump();
  // Missing parts, wrong body type.
  EXPECT_EQ(expect_error(client.Post("/v1/jobs", httplib::MultipartFormDataItems{file_field("style", photo, "s.png")}), 400, "bad_option")["option"],
            "content");
  expect_error(client.Post("/v1/jobs", "{\"content\": 1}", "application/json"), 415, "unsupported_media_type");
  // Unknown job and unknown route.
  expect_error(client.Get("/v1/jobs/0123456789abcdef0123456789abcdef"), 404, "not_found");
  expect_error(client.Get("/v1/jobs/not-a-job"), 404, "not_found");
  expect_error(client.Delete("/v1/jobs/0123456789abcdef0123456789abcdef"), 404, "not_found");
  expect_error(client.Get("/v1/nothing-here"), 404, "not_found");
  // Bytes that are not UTF-8 in the path, a field's name and a value (the fuzzer's first find: the
  // error's JSON, which repeats them, could not be written and the server aborted).
  expect_error(client.Get("/v1/job\xe2/0123456789abcdef0123456789abcdef"), 404, "not_found");
  form = optimisation_job();
  form.push_back(text_field("colour\xff", "blue"));
  expect_error(client.Post("/v1/jobs", form), 400, "bad_option");
  form = optimisation_job();
  form.push_back(text_field("style_layers", "relu1_1,\xed\xed"));
  EXPECT_EQ(expect_error(client.Post("/v1/jobs", form), 400, "bad_option")["option"], "style_layers");
  // Nothing was queued by any of these.
  EXPECT_EQ(body_json(client.Get("/v1/health"))["queue_depth"], 0);
  EXPECT_TRUE(fs::is_empty(server.service().options().data_dir + "/jobs"));
}

TEST_P(ServerApiOnStore, FullQueueAnswers429AndDeleteStopsARunningJob) {
  auto options = store_options("queue");
  options.queue_capacity = 2;
  TestServer server(options);
  auto client = server.client();
  // A long job occupies the worker; two more fill the queue; the next is refused.
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto res = client.Post("/v1/jobs", optimisation_job(1000, 64));
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 202) << res->body;
    ids.push_back(body_json(res)["id"]);
    if (i == 0) {  // wait until the worker took it, so exactly two wait
      for (int k = 0; k < 400 && body_json(client.Get("/v1/jobs/" + ids[0]))["state"] != "running"; ++k)
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }
  auto full = client.Post("/v1/jobs", optimisation_job());
  expect_error(full, 429, "queue_full");
  ASSERT_TRUE(full);
  EXPECT_GE(std::stoi(full->get_header_value("Retry-After")), 1);
  EXPECT_EQ(body_json(client.Get("/v1/jobs/" + ids[2]))["queue_position"], 2);

  // DELETE removes a queued job and a running one, with their files.
  const std::string jobs = options.data_dir + "/jobs/";
  EXPECT_EQ(fs::exists(jobs + ids[2]), files_on_disk());
  EXPECT_EQ(client.Get("/v1/jobs/" + ids[2] + "/content")->status, 200);
  ASSERT_EQ(client.Delete("/v1/jobs/" + ids[2])->status, 200);
  EXPECT_FALSE(fs::exists(jobs + ids[2]));
  expect_error(client.Get("/v1/jobs/" + ids[2] + "/content"), 404, "not_found");
  ASSERT_EQ(client.Delete("/v1/jobs/" + ids[0])->status, 200);
  expect_error(client.Get("/v1/jobs/" + ids[0]), 404, "not_found");
  // The worker lets go of the deleted job and takes the next.
  for (int k = 0; k < 400 && body_json(client.Get("/v1/jobs/" + ids[1]))["state"] != "running"; ++k)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  EXPECT_EQ(body_json(client.Get("/v1/jobs/" + ids[1]))["state"], "running");
  EXPECT_FALSE(fs::exists(jobs + ids[0]));
  client.Delete("/v1/jobs/" + ids[1]);
  const std::string metrics = client.Get("/metrics")->body;
  EXPECT_NE(metrics.find("impasto_rejections_total{reason=\"queue_full\"} 1"), std::string::npos) << metrics;
}

TEST_P(ServerApiOnStore, FinishedJobsExpireAfterTheirTtl) {
  auto options = store_options("ttl");
  options.ttl_s = 3;  // long enough that a loaded machine still sees the job finished before it expires
  options.sweep_interval_s = 0.1;
  TestServer server(options);
  auto client = server.client();
  auto res = client.Post("/v1/jobs", httplib::MultipartFormDataItems{file_field("content", png_bytes(20, 20), "p.png"), text_field("model", "tiny")});
  ASSERT_TRUE(res);
  const std::string id = body_json(res)["id"];
  const Json job = wait_for_job(client, id);
  ASSERT_EQ(job["state"], "succeeded");
  EXPECT_NEAR(job["expires_at"].get<double>() - job["finished_at"].get<double>(), 3.0, 1e-6);
  EXPECT_EQ(fs::exists(options.data_dir + "/jobs/" + id + "/result.png"), files_on_disk());
  // The sweeper deletes the job's row, then its folder (SQLite): wait for both.
  for (int k = 0; k < 300 && (client.Get("/v1/jobs/" + id)->status == 200 || fs::exists(options.data_dir + "/jobs/" + id)); ++k)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(fs::exists(options.data_dir + "/jobs/" + id));
  expect_error(client.Get("/v1/jobs/" + id), 404, "not_found");
  expect_error(client.Get("/v1/jobs/" + id + "/result"), 404, "not_found");
}

TEST_P(ServerApiOnStore, ApiKeysAreRequiredOnceOneExistsAndRateLimited) {
  auto options = store_options("keys");
  const std::string key = server::generate_api_key();
  {
    server::open_job_store(options.store, options.data_dir)->add_key("alice", server::sha256_hex(key), /*rate_per_minute=*/2, server::unix_now());
  }
  TestServer server(options);
  auto client = server.client();
  const httplib::MultipartFormDataItems form{file_field("content", png_bytes(20, 20), "p.png"), text_field("model", "tiny")};
  expect_error(client.Post("/v1/stylize", form), 401, "unauthorized");
  expect_error(client.Post("/v1/stylize", httplib::Headers{{"X-API-Key", "imp_wrong"}}, form), 401, "unauthorized");
  auto ok = client.Post("/v1/stylize", httplib::Headers{{"X-API-Key", key}}, form);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  auto job = client.Post("/v1/jobs", httplib::Headers{{"Authorization", "Bearer " + key}}, form);
  ASSERT_TRUE(job);
  EXPECT_EQ(job->status, 202) << job->body;
  auto limited = client.Post("/v1/stylize", httplib::Headers{{"X-API-Key", key}}, form);
  expect_error(limited, 429, "rate_limited");
  EXPECT_GE(std::stoi(limited->get_header_value("Retry-After")), 1);
  // The key holder can list their jobs; the key itself is stored only hashed.
  const Json list = body_json(client.Get("/v1/jobs", httplib::Headers{{"X-API-Key", key}}));
  ASSERT_EQ(list["jobs"].size(), 1u);
  if (files_on_disk()) {
    std::ifstream db(options.data_dir + "/jobs.sqlite3", std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(db)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find(key.substr(4)), std::string::npos);
  }
}

TEST_P(ServerApiOnStore, AKeysJobIsReadableAndDeletableOnlyWithThatKeyOrItsFileUrls) {
  auto options = store_options("key_scope");
  const std::string alice = server::generate_api_key(), bob = server::generate_api_key();
  {
    auto store = server::open_job_store(options.store, options.data_dir);
    store->add_key("alice", server::sha256_hex(alice), 0, server::unix_now());
    store->add_key("bob", server::sha256_hex(bob), 0, server::unix_now());
  }
  TestServer server(options);
  auto client = server.client();
  const httplib::Headers as_alice{{"X-API-Key", alice}}, as_bob{{"X-API-Key", bob}};
  auto res = client.Post("/v1/jobs", as_alice, optimisation_job(5, 40));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 202) << res->body;
  const std::string id = body_json(res)["id"];
  const Json job = [&] {
    for (int k = 0; k < 600; ++k) {
      const Json j = body_json(client.Get("/v1/jobs/" + id, as_alice));
      if (j["state"] == "succeeded" || j["state"] == "failed") return j;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return Json();
  }();
  ASSERT_EQ(job["state"], "succeeded") << job.dump();

  // Another key, or none, learns nothing: not the job, not its files, and it cannot delete it.
  expect_error(client.Get("/v1/jobs/" + id), 401, "unauthorized");
  expect_error(client.Get("/v1/jobs/" + id, as_bob), 404, "not_found");
  expect_error(client.Get("/v1/jobs/" + id + "/result", as_bob), 404, "not_found");
  expect_error(client.Get("/v1/jobs/" + id + "/content", as_bob), 404, "not_found");
  expect_error(client.Get("/v1/jobs/" + id + "/report/", as_bob), 404, "not_found");
  expect_error(client.Delete("/v1/jobs/" + id, as_bob), 404, "not_found");
  EXPECT_TRUE(body_json(client.Get("/v1/jobs", as_bob))["jobs"].empty());
  // The key sees plain URLs work for it, and file URLs with an access token that load without any
  // header (as <img>, <video> and the report page do), the report's figures included.
  EXPECT_EQ(client.Get("/v1/jobs/" + id + "/result", as_alice)->status, 200);
  const std::string result_url = job["result_url"], report_url = job["report_url"];
  EXPECT_NE(result_url.find("/v1/jobs/" + id + "/files/"), std::string::npos) << result_url;
  auto by_url = client.Get(result_url);
  ASSERT_TRUE(by_url);
  EXPECT_EQ(by_url->status, 200);
  EXPECT_EQ(by_url->body, client.Get("/v1/jobs/" + id + "/result", as_alice)->body);
  EXPECT_EQ(client.Get(job["content_url"].get<std::string>())->status, 200);
  auto report = client.Get(report_url);
  ASSERT_TRUE(report);
  ASSERT_EQ(report->status, 200);
  std::smatch figure;
  ASSERT_TRUE(std::regex_search(report->body, figure, std::regex("src=\"(figures/[A-Za-z0-9_.-]+\\.png)\"")));
  EXPECT_EQ(client.Get(report_url + figure[1].str())->status, 200) << figure[1];
  // A token of the right form but not this job's opens nothing.
  std::string forged = result_url;
  const auto at = forged.find("/files/") + 7;
  forged[at] = forged[at] == '0' ? '1' : '0';
  expect_error(client.Get(forged), 404, "not_found");

  EXPECT_EQ(client.Delete("/v1/jobs/" + id, as_alice)->status, 200);
  expect_error(client.Get(result_url), 404, "not_found");
}

TEST(ServerApi, CorsOnlyForConfiguredOrigins) {
  auto options = test_server_options("cors");
  options.cors_origins = {"https://design.example"};
  TestServer server(options);
  auto client = server.client();
  auto preflight = client.Options("/v1/jobs", httplib::Headers{{"Origin", "https://design.example"},
                                                                {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 204);
  EXPECT_EQ(preflight->get_header_value("Access-Control-Allow-Origin"), "https://design.example");
  EXPECT_NE(preflight->get_header_value("Access-Control-Allow-Headers").find("X-API-Key"), std::string::npos);
  auto other = client.Get("/v1/health", httplib::Headers{{"Origin", "https://evil.example"}});
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->has_header("Access-Control-Allow-Origin"));
}

TEST(ServerApi, MetricsAndLogsDescribeJobsWithoutImageData) {
  TestServer server(test_server_options("metrics"));
  auto client = server.client();
  auto res = client.Post("/v1/jobs", optimisation_job(3, 24));
  ASSERT_TRUE(res);
  ASSERT_EQ(wait_for_job(client, body_json(res)["id"])["state"], "succeeded");
  client.Get("/v1/jobs/0123456789abcdef0123456789abcdef");
  // Methods of the client's invention share one label: the series cannot grow without bound.
  for (int i = 0; i < 20; ++i) {
    httplib::Request odd;
    odd.method = "X" + std::to_string(i) + "\"}";
    odd.path = "/v1/health";
    client.send(odd);
  }
  const std::string metrics = client.Get("/metrics")->body;
  EXPECT_EQ(metrics.find("X1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("impasto_http_requests_total{method=\"other\","), std::string::npos) << metrics;
  for (const std::string line : {"impasto_queue_depth 0", "impasto_jobs{state=\"succeeded\"} 1",
                                 "impasto_job_duration_seconds_count{method=\"gatys\",outcome=\"succeeded\"} 1",
                                 "impasto_http_requests_total{method=\"POST\",code=\"202\"} 1",
                                 "impasto_http_requests_total{method=\"GET\",code=\"404\"} 1",
                                 "# TYPE impasto_job_duration_seconds histogram"})
    EXPECT_NE(metrics.find(line), std::string::npos) << line << "\n" << metrics;
  const auto lines = server.log_lines();
  ASSERT_FALSE(lines.empty());
  bool queued = false;
  for (const auto& line : lines) {
    queued |= line.find("queued: gatys, content 40x30") != std::string::npos;
    EXPECT_LT(line.size(), 400u) << line;
    for (unsigned char c : line) EXPECT_TRUE(c >= 32 && c < 127) << "non-text byte in a log line: " << line;
  }
  EXPECT_TRUE(queued);
}

INSTANTIATE_TEST_SUITE_P(Stores, ServerApiOnStore, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace impasto::test

namespace impasto::test {

// Option JSON nested far deeper than any option (it used to overflow the stack when copied: a crash
// from one small request) is a 400 naming the field, and the server keeps answering.
TEST(ServerApi, DeeplyNestedOptionJsonIsABadRequestNotACrash) {
  TestServer server(test_server_options("deep_json"));
  auto client = server.client();
  httplib::MultipartFormDataItems form{file_field("content", png_bytes(30, 40), "photo.png"),
                                       file_field("style", png_bytes(32, 32, true), "painting.png"),
                                       text_field("options", "{\"style_weight\": " + std::string(20000, '[') + std::string(20000, ']') + "}")};
  EXPECT_EQ(expect_error(client.Post("/v1/jobs", form), 400, "bad_option")["option"], "options");
  EXPECT_EQ(expect_error(client.Post("/v1/stylize", form), 400, "bad_option")["option"], "options");
  auto health = client.Get("/v1/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

}  // namespace impasto::test
