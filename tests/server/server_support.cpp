#include "server_support.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>

#include "impasto/data/synthetic.h"
#include "impasto/io/image.h"
#include "test_support.h"

namespace impasto::test {

std::string png_bytes(int64_t height, int64_t width, bool painting, uint64_t seed) {
  const at::Tensor image = painting ? synthetic_painting(height, width, seed) : synthetic_landscape(height, width, seed);
  const auto bytes = encode_image(image, ".png");
  return std::string(bytes.begin(), bytes.end());
}

server::ServerOptions test_server_options(const std::string& name) {
  server::ServerOptions o;
  o.data_dir = temp_dir(name + "_data");
  o.models_dir = temp_dir(name + "_models");
  std::ifstream in(fixture("style_nets/transformer_w4.pth"), std::ios::binary);
  std::ofstream out(o.models_dir + "/tiny.pth", std::ios::binary);
  out << in.rdbuf();
  o.port = 0;
  o.http_threads = 4;
  return o;
}

TestServer::TestServer(server::ServerOptions options) : TestServer(options, server::open_job_store(options.store, options.data_dir)) {}

TestServer::TestServer(server::ServerOptions options, std::unique_ptr<server::JobStore> store) {
  Callbacks log;
  log.log = [this](LogLevel level, const std::string& line) {
    std::lock_guard<std::mutex> lock(log_mutex_);
    log_.push_back(std::string(to_string(level)) + ": " + line);
  };
  service_ = std::make_unique<server::Service>(options, log, std::move(store));
  http_ = std::make_unique<server::HttpServer>(*service_, log);
  port_ = http_->bind("127.0.0.1", 0);
  thread_ = std::thread([this] { http_->run(); });
  // Wait until the listener answers.
  httplib::Client c("127.0.0.1", port_);
  for (int i = 0; i < 200 && !c.Get("/v1/health"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

TestServer::~TestServer() {
  http_->stop();
  thread_.join();
  service_->shutdown();
}

httplib::Client TestServer::client() const {
  httplib::Client c("127.0.0.1", port_);
  c.set_read_timeout(120, 0);
  return c;
}

std::vector<std::string> TestServer::log_lines() const {
  std::lock_guard<std::mutex> lock(log_mutex_);
  return log_;
}

httplib::MultipartFormDataItems optimisation_job(int iterations, int image_size, uint64_t seed, int64_t height, int64_t width) {
  return {file_field("content", png_bytes(height, width, false, seed), "photo.png"),
          file_field("style", png_bytes(32, 32, true, seed), "painting.png"), text_field("iterations", std::to_string(iterations)),
          text_field("image_size", std::to_string(image_size))};
}

httplib::MultipartFormData file_field(const std::string& name, const std::string& bytes, const std::string& filename) {
  return httplib::MultipartFormData{name, bytes, filename, "application/octet-stream"};
}

httplib::MultipartFormData text_field(const std::string& name, const std::string& value) {
  return httplib::MultipartFormData{name, value, "", ""};
}

Json body_json(const httplib::Result& res) {
  EXPECT_TRUE(res) << "no response";
  if (!res) return Json();
  Json j = Json::parse(res->body, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << res->body.substr(0, 200);
  return j;
}

Json expect_error(const httplib::Result& res, int status, const std::string& code) {
  EXPECT_TRUE(res);
  if (!res) return Json();
  EXPECT_EQ(res->status, status) << res->body;
  EXPECT_NE(res->get_header_value("Content-Type").find("application/json"), std::string::npos) << res->body;
  const Json j = body_json(res);
  EXPECT_TRUE(j.contains("error")) << res->body;
  if (!j.contains("error")) return Json();
  EXPECT_EQ(j["error"].value("code", ""), code) << res->body;
  EXPECT_EQ(j["error"].value("status", 0), status);
  return j["error"];
}

at::Tensor decode_response(const std::string& bytes) {
  return decode_image(std::vector<uint8_t>(bytes.begin(), bytes.end()), "response").rgb;
}

Json wait_for_job(httplib::Client& client, const std::string& id, double timeout_s) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  Json job;
  while (std::chrono::steady_clock::now() < end) {
    auto res = client.Get("/v1/jobs/" + id);
    if (!res) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    job = Json::parse(res->body);
    if (job.value("state", "") == "succeeded" || job.value("state", "") == "failed" || res->status != 200) return job;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "job " << id << " did not finish within " << timeout_s << " s; last: " << job.dump();
  return job;
}

ServeProcess::ServeProcess(const std::string& args) {
  log_path_ = temp_dir("serve_log") + "/serve.log";
  pid_ = fork();
  if (pid_ == 0) {
    const std::string command = "exec " + std::string(IMPASTO_CLI_PATH) + " serve --port 0 " + args + " > '" + log_path_ + "' 2>&1";
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const std::regex listening("listening on http://[0-9.]+:([0-9]+)");
  for (int i = 0; i < 600 && port_ == 0; ++i) {  // up to 60 s on a loaded machine
    std::smatch m;
    const std::string text = output();
    if (std::regex_search(text, m, listening)) port_ = std::stoi(m[1]);
    else std::this_thread::sleep_for(std::chrono::milliseconds(100));
    int status = 0;
    if (port_ == 0 && waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      break;
    }
  }
  if (port_ == 0) ADD_FAILURE() << "impasto serve did not start; it printed:\n" << output();
}

ServeProcess::~ServeProcess() {
  if (pid_ > 0) kill_hard();
}

void ServeProcess::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

int ServeProcess::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ServeProcess::output() const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace impasto::test
