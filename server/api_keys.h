#pragma once
// API keys and per-key rate limits. A key is 32 random bytes from the OS (hex, prefixed "imp_");
// the service stores only its SHA-256, so a leaked database does not leak keys. Requests that create
// work are rate-limited per key with a token bucket.
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace impasto::server {

std::string generate_api_key();             // "imp_" + 64 hex digits
std::string sha256_hex(const std::string& data);

// One request from a token bucket that holds up to max(1, rate_per_minute) tokens, refilled
// continuously at rate/60 per second: `tokens` (full when `fresh`) is refilled for `elapsed_s`, and
// one is taken if there is one. Returns 0 when taken, else the seconds until one is free.
double take_from_bucket(double& tokens, bool fresh, double elapsed_s, double rate_per_minute);

// Token bucket (one per key): holds up to `rate_per_minute` tokens, refilled continuously at
// rate/60 per second; each request takes one.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  // 0 when the request may go ahead (a token was taken); otherwise the seconds until one is free.
  double acquire(int64_t key_id, double rate_per_minute, Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated;
  };
  std::mutex mutex_;
  std::map<int64_t, Bucket> buckets_;
};

}  // namespace impasto::server
