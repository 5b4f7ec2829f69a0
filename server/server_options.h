#pragma once
// Everything an operator sets when starting `impasto serve`: where it listens, where it keeps jobs,
// and the limits that keep one user or one request from taking the machine. Defaults are safe for a
// single machine: loopback only, one worker, bounded queue, inputs deleted after a day.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace impasto::server {

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback by default; 0.0.0.0 exposes the service
  int port = 8080;                 // 0 = any free port (reported at start)
  std::string data_dir = "impasto-data";  // jobs.sqlite3 and one folder per job (PostgreSQL: scratch folders)
  // Where jobs, their files and the API keys are kept (server/job_store.h): "" = SQLite in data_dir
  // (one process), "sqlite:PATH", or "postgresql://user@host/db": every process on the same database
  // is an API node and a worker of one queue.
  std::string store;
  double lease_s = 30;  // a running job's lease, renewed every lease_s/3; a job whose lease runs out is taken back
  std::string models_dir;          // trained networks offered by name (*.pth, *.ckpt); "" = none
  // Backbone weight files the service may use for optimisation jobs, by backbone name
  // (vgg19=/models/vgg19.pth). Backbones that need no file (random-multiscale) are always offered.
  std::map<std::string, std::string> backbone_weights;

  int workers = 1;             // jobs run at the same time (each uses every intra-op thread)
  int queue_capacity = 16;     // queued jobs beyond which POST /v1/jobs answers 429
  int sync_concurrency = 2;    // POST /v1/stylize requests served at the same time (429 beyond)
  int http_threads = 8;        // connections handled at the same time
  // A request's headers and body must arrive within this many seconds, and its response be taken
  // within as many: slow clients (a byte at a time) cannot hold the HTTP threads.
  double request_deadline_s = 60;

  int64_t max_upload_bytes = 32ll << 20;  // whole request body
  int64_t max_pixels = 16'000'000;         // per input image, read from its header before decoding
  // All the images of one request together (photo, styles, masks), from their headers before any is
  // decoded: decoded images take 12 bytes a pixel, and a request may carry 33 images.
  int64_t max_request_pixels = 40'000'000;
  // Video jobs (a video as content), checked from the container's header before anything is decoded:
  // pixels per frame, frames and seconds. Every frame costs a stylization: these bound a job's work.
  int64_t max_video_pixels = 1'000'000;
  int64_t max_video_frames = 300;
  double max_video_seconds = 60;
  int64_t max_side = 1024;                 // longest side of an optimisation job's output
  int64_t max_iterations = 1000;           // per scale, optimisation jobs
  double job_time_limit_s = 600;           // a job running longer fails with a time-limit error
  double ttl_s = 24 * 3600;                // finished jobs' inputs and results are deleted after this
  double sweep_interval_s = 60;            // how often expired jobs are looked for
  int max_attempts = 3;                    // a job interrupted this often (crashes) is failed
  bool reports = true;                     // explain every finished job (explain/, quick mode: seconds)

  std::vector<std::string> cors_origins;  // allowed Origins for browsers on other sites ("*" = any)
  double default_rate_per_minute = 60;    // requests creating work, per API key (when keys are used)

  // The operator's limit that a method option names (OptionSpec::service_limit), or none.
  std::optional<double> option_limit(const std::string& name) const {
    if (name == "max_iterations") return static_cast<double>(max_iterations);
    if (name == "max_side") return static_cast<double>(max_side);
    return std::nullopt;
  }
};

}  // namespace impasto::server
