#pragma once
// The service over HTTP (REST API under /v1, /metrics, and the web page at /). This file and
// http_api.cpp are the only places the HTTP library appears; everything they do is call Service.
//
//   POST   /v1/jobs                 multipart (job_request.h) -> 202 {id, state, url, ...}
//   GET    /v1/jobs                 the caller's jobs (with an API key)
//   GET    /v1/jobs/{id}            state, queue position, progress (step, total, eta_s, losses)
//   GET    /v1/jobs/{id}/result     the image (409 until the job succeeded)
//   GET    /v1/jobs/{id}/content    the uploaded photo; /style-N the style images
//   GET    /v1/jobs/{id}/report/    the job's report page and its images
//   GET    /v1/jobs/{id}/files/{token}/result|content|style-N|report/...   the same without a key
//                                   header, for a key's job: the URLs its key is shown carry the token
//   DELETE /v1/jobs/{id}            removes the job, its inputs and outputs (stops it if running)
//   POST   /v1/stylize              multipart with a model -> the image at once (one pass)
//   GET    /v1/models, /v1/health, /metrics (Prometheus text)
//
// Every error is JSON {"error": {"status", "code", "message"[, "option"]}} with a 4xx/5xx status;
// 429s carry Retry-After.
#include <memory>
#include <string>

#include "impasto/core/log.h"

namespace impasto::server {

class Service;

class HttpServer {
 public:
  HttpServer(Service& service, Callbacks log);
  ~HttpServer();
  // Binds the listening socket; port 0 picks a free one. Returns the port. OptionError("port")
  // when the address cannot be bound.
  int bind(const std::string& host, int port);
  void run();   // serves until stop(); call after bind()
  void stop();  // from any thread (or a signal watcher)

  // One raw HTTP request through the whole request path (parsing, routing, handlers), without a
  // socket; returns the raw response. For the fuzz target.
  std::string handle_raw_request(const std::string& bytes);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace impasto::server
