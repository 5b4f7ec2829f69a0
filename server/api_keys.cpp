#include "api_keys.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "impasto/core/error.h"

namespace impasto::server {

namespace {

std::string hex(const unsigned char* data, size_t size) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

}  // namespace

std::string generate_api_key() {
  unsigned char bytes[32];
  std::ifstream random("/dev/urandom", std::ios::binary);
  if (!random.read(reinterpret_cast<char*>(bytes), sizeof bytes)) throw FileError("/dev/urandom", "cannot read random bytes");
  return "imp_" + hex(bytes, sizeof bytes);
}

std::string sha256_hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1)
    throw Error("SHA-256 failed (OpenSSL)");
  return hex(digest, length);
}

double take_from_bucket(double& tokens, bool fresh, double elapsed_s, double rate_per_minute) {
  if (!(rate_per_minute > 0)) return 0;  // unlimited
  const double capacity = std::max(1.0, rate_per_minute);
  const double per_second = rate_per_minute / 60.0;
  tokens = fresh ? capacity : std::min(capacity, tokens + std::max(0.0, elapsed_s) * per_second);
  if (tokens >= 1) {
    tokens -= 1;
    return 0;
  }
  return (1 - tokens) / per_second;
}

double RateLimiter::acquire(int64_t key_id, double rate_per_minute, Clock::time_point now) {
  if (!(rate_per_minute > 0)) return 0;  // unlimited
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, fresh] = buckets_.try_emplace(key_id);
  Bucket& b = it->second;
  const double wait = take_from_bucket(b.tokens, fresh, std::chrono::duration<double>(now - b.updated).count(), rate_per_minute);
  b.updated = now;
  return wait;
}

}  // namespace impasto::server
