#include "metrics.h"

#include <cstdio>
#include <set>
#include <sstream>

namespace impasto::server {

namespace {

const std::vector<double> kLatencyBounds = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};

std::string number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.9g", v);
  return buffer;
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

int64_t Histogram::count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return count_;
}

std::string Histogram::text(const std::string& name, const std::string& labels) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::ostringstream out;
  const std::string sep = labels.empty() ? "" : ",";
  int64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out << name << "_bucket{" << labels << sep << "le=\"" << number(bounds_[i]) << "\"} " << cumulative << "\n";
  }
  cumulative += counts_.back();
  out << name << "_bucket{" << labels << sep << "le=\"+Inf\"} " << cumulative << "\n";
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out << name << "_sum" << braces << " " << number(sum_) << "\n";
  out << name << "_count" << braces << " " << count_ << "\n";
  return out.str();
}

Metrics::Metrics() : sync_(kLatencyBounds), wait_(kLatencyBounds) {}

void Metrics::count_request(const std::string& method, int status) {
  // The method is the client's word: labels only for HTTP's own, so odd methods cannot grow the
  // series without bound (nor put text of their choosing into the exposition).
  static const std::set<std::string> known = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
  const std::string label = known.count(method) ? method : "other";
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{label, status}];
}

void Metrics::count_rejection(const std::string& reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++rejections_[reason];
}

void Metrics::observe_job(const std::string& method, const std::string& outcome, double seconds) {
  Histogram* h = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    h = &jobs_.try_emplace({method, outcome}, kLatencyBounds).first->second;
  }
  h->observe(seconds);  // std::map nodes are stable
}

void Metrics::observe_sync(double seconds) { sync_.observe(seconds); }
void Metrics::observe_wait(double seconds) { wait_.observe(seconds); }

std::string Metrics::text() const {
  std::ostringstream out;
  std::lock_guard<std::mutex> lock(mutex_);
  out << "# HELP impasto_http_requests_total HTTP requests answered, by method and status code.\n"
      << "# TYPE impasto_http_requests_total counter\n";
  for (const auto& [key, n] : requests_)
    out << "impasto_http_requests_total{method=\"" << key.first << "\",code=\"" << key.second << "\"} " << n << "\n";
  out << "# HELP impasto_rejections_total Requests refused to protect the service, by reason.\n"
      << "# TYPE impasto_rejections_total counter\n";
  for (const auto& [reason, n] : rejections_) out << "impasto_rejections_total{reason=\"" << reason << "\"} " << n << "\n";
  out << "# HELP impasto_job_duration_seconds Time a job ran (start to end), by method and outcome.\n"
      << "# TYPE impasto_job_duration_seconds histogram\n";
  for (const auto& [key, h] : jobs_)
    out << h.text("impasto_job_duration_seconds", "method=\"" + key.first + "\",outcome=\"" + key.second + "\"");
  out << "# HELP impasto_job_wait_seconds Time a job waited in the queue before it started.\n"
      << "# TYPE impasto_job_wait_seconds histogram\n"
      << wait_.text("impasto_job_wait_seconds", "");
  out << "# HELP impasto_stylize_duration_seconds Latency of synchronous POST /v1/stylize requests.\n"
      << "# TYPE impasto_stylize_duration_seconds histogram\n"
      << sync_.text("impasto_stylize_duration_seconds", "");
  return out.str();
}

}  // namespace impasto::server
