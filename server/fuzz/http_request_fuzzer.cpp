// libFuzzer target: each input is one raw HTTP request, sent through the service's whole request
// path without a socket (HttpServer::handle_raw_request): request-line and header parsing, multipart
// bodies, option fields and JSON, image sniffing, header reading and decoding, and the job routes.
// Built by scripts/fuzz.sh (clang, -fsanitize=fuzzer,address); never part of the test command.
// The oracle besides AddressSanitizer: no request may end in 500 (an exception the handlers did not
// expect); the response's first line is checked and a 500 aborts with the request's size.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "server/http_api.h"
#include "server/service.h"

namespace {

struct Target {
  std::unique_ptr<impasto::server::Service> service;
  std::unique_ptr<impasto::server::HttpServer> http;
};

Target& target() {
  static Target t = [] {
    impasto::server::ServerOptions o;
    char dir[] = "/tmp/impasto-fuzz-XXXXXX";
    o.data_dir = mkdtemp(dir);
    if (const char* models = std::getenv("IMPASTO_FUZZ_MODELS")) o.models_dir = models;
    o.max_upload_bytes = 1 << 20;
    o.max_pixels = 256 * 256;
    o.max_side = 32;            // accepted jobs stay cheap
    o.max_iterations = 2;
    o.queue_capacity = 4;
    o.ttl_s = 1;
    o.sweep_interval_s = 0.5;
    Target t;
    t.service = std::make_unique<impasto::server::Service>(o, impasto::Callbacks{});
    t.http = std::make_unique<impasto::server::HttpServer>(*t.service, impasto::Callbacks{});
    return t;
  }();
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string response = target().http->handle_raw_request(std::string(reinterpret_cast<const char*>(data), size));
  if (response.compare(0, 12, "HTTP/1.1 500") == 0) {
    std::fprintf(stderr, "internal error (500) for a %zu-byte request:\n%.2000s\n", size, response.c_str());
    std::abort();
  }
  return 0;
}
