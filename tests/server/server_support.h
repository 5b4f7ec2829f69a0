#pragma once
// Running the service for tests: in-process on a random loopback port, or as the real `impasto serve`
// process (for kill-and-restart), plus requests and small images.
#include <ATen/core/Tensor.h>
#include <httplib.h>

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "impasto/core/json_options.h"
#include "server/http_api.h"
#include "server/service.h"

namespace impasto::test {

// A small PNG (synthetic landscape or painting) as bytes.
std::string png_bytes(int64_t height, int64_t width, bool painting = false, uint64_t seed = 0);

// Service + HTTP server on 127.0.0.1:<random port> in this process; log lines are kept.
class TestServer {
 public:
  explicit TestServer(server::ServerOptions options);
  TestServer(server::ServerOptions options, std::unique_ptr<server::JobStore> store);  // a store of the test's
  ~TestServer();
  httplib::Client client() const;
  int port() const { return port_; }
  server::Service& service() { return *service_; }
  std::vector<std::string> log_lines() const;

 private:
  std::unique_ptr<server::Service> service_;
  std::unique_ptr<server::HttpServer> http_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex log_mutex_;
  std::vector<std::string> log_;
};

// Options for tests: a fresh data folder, and the tiny TransformerNet fixture offered as model "tiny".
server::ServerOptions test_server_options(const std::string& name);

// multipart/form-data items: files (name, bytes, filename) and text fields.
httplib::MultipartFormData file_field(const std::string& name, const std::string& bytes, const std::string& filename);
httplib::MultipartFormData text_field(const std::string& name, const std::string& value);
// A small optimisation job (the default method): a photo of height x width and a 32x32 painting,
// both made from `seed`, with its iterations and output size.
httplib::MultipartFormDataItems optimisation_job(int iterations = 5, int image_size = 40, uint64_t seed = 0, int64_t height = 30,
                                                 int64_t width = 40);

// The response's body as JSON (a test failure when there is no response or it is not JSON).
Json body_json(const httplib::Result& res);
// An image response's pixels ([1,3,H,W] in [0,1]).
at::Tensor decode_response(const std::string& bytes);
// Asserts a JSON error with `status` and `code`; returns the error object.
Json expect_error(const httplib::Result& res, int status, const std::string& code);

// GET /v1/jobs/{id} until the state is final (succeeded or failed) or `timeout_s` passes.
Json wait_for_job(httplib::Client& client, const std::string& id, double timeout_s = 60);

// The `impasto serve` process, started with `args` (plus --port 0); reads its port from stderr.
class ServeProcess {
 public:
  explicit ServeProcess(const std::string& args);
  ~ServeProcess();  // SIGKILL if still running
  int port() const { return port_; }
  void kill_hard();     // SIGKILL, as a crash would
  int stop();           // SIGTERM, returns the exit code
  std::string output() const;  // what it printed so far

 private:
  int pid_ = -1;
  int port_ = 0;
  std::string log_path_;
};

}  // namespace impasto::test
