#pragma once
// The web page's files (server/web/), compiled into the binary at build time by
// cmake/embed_files.cmake, so `impasto serve` needs no files beside it.
#include <cstddef>
#include <string>

namespace impasto::server {

struct WebAsset {
  const char* path;          // "/index.html", "/app.js", ...
  const char* content_type;
  const unsigned char* data;
  size_t size;
};

// nullptr when there is no such file.
const WebAsset* find_web_asset(const std::string& path);

}  // namespace impasto::server
