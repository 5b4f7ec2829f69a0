#pragma once
// Counters and histograms for GET /metrics, written in Prometheus' text exposition format
// (https://prometheus.io/docs/instrumenting/exposition_formats/). Thread-safe.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace impasto::server {

// A histogram with fixed upper bounds (seconds), cumulative as Prometheus expects.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // "<name>_bucket{<labels>,le=...} n" lines, then _sum and _count.
  std::string text(const std::string& name, const std::string& labels) const;
  int64_t count() const;

 private:
  std::vector<double> bounds_;
  std::vector<int64_t> counts_;  // per bucket (not cumulative); the last is +Inf
  double sum_ = 0;
  int64_t count_ = 0;
  mutable std::mutex mutex_;
};

class Metrics {
 public:
  Metrics();
  void count_request(const std::string& method, int status);
  void count_rejection(const std::string& reason);  // queue_full, rate_limited, busy, too_large, ...
  void observe_job(const std::string& method, const std::string& outcome, double seconds);
  void observe_sync(double seconds);
  void observe_wait(double seconds);  // time a job spent queued

  // The counters and histograms; the caller adds the gauges it reads from the queue and database.
  std::string text() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, int64_t> requests_;
  std::map<std::string, int64_t> rejections_;
  std::map<std::pair<std::string, std::string>, Histogram> jobs_;
  Histogram sync_;
  Histogram wait_;
};

}  // namespace impasto::server
