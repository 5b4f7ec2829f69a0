#pragma once
// The style-transfer service without HTTP: accepts validated requests, keeps jobs and their files in
// its store (SQLite and a data folder, or PostgreSQL shared by many processes: job_store.h), runs
// them on a worker pool behind a bounded queue, enforces the limits (queue, time, pixels, per-key
// rates), deletes expired jobs, and answers synchronous one-pass stylizations. http_api.cpp maps its
// calls and ServiceErrors onto HTTP.
//
// Job life: queued -> running -> succeeded | failed. A job is stored before its id is returned, so a
// restart loses none: queued jobs run, jobs interrupted while running start again (up to
// max_attempts) — at once for SQLite's single process, when their lease runs out for a shared store.
// Finished jobs, their inputs and results are deleted ttl_s after they finish, and at once by DELETE.
// Job ids are 128 random bits: knowing one is what lets a client read its job.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api_keys.h"
#include "impasto/core/error.h"
#include "impasto/core/log.h"
#include "impasto/core/resource_cache.h"
#include "job_request.h"
#include "job_store.h"
#include "metrics.h"
#include "model_catalog.h"
#include "server_options.h"

namespace impasto::server {

// An error with the HTTP status it stands for: 401 unauthorized, 404 not_found, 409 not_ready,
// 429 queue_full / busy / rate_limited (with the seconds to wait), 503 shutting_down.
class ServiceError : public Error {
 public:
  ServiceError(int status, std::string code, const std::string& message, double retry_after_s = 0)
      : Error(message), status_(status), code_(std::move(code)), retry_after_s_(retry_after_s) {}
  int status() const { return status_; }
  const std::string& code() const { return code_; }
  double retry_after_s() const { return retry_after_s_; }

 private:
  int status_;
  std::string code_;
  double retry_after_s_;
};

// Who is asking: anonymous when the service has no API keys, else the key's record.
struct Caller {
  std::optional<int64_t> key_id;
  std::string key_name;
  double rate_per_minute = 0;  // 0 = unlimited
};

struct StylizedImage {
  std::string bytes;         // encoded in the requested format
  std::string content_type;  // image/png ...
  Json summary;              // sizes, seconds, the effective options
};

class Service {
 public:
  // Opens (or creates) the data folder and its database, takes up the jobs a previous process left,
  // and starts the workers and the expiry sweeper. `log` gets one line per job event (never image
  // data or file contents).
  Service(ServerOptions options, Callbacks log);
  // The same on a store opened by the caller (options.store is then not read).
  Service(ServerOptions options, Callbacks log, std::unique_ptr<JobStore> store);
  ~Service();  // shutdown()
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Stops taking work, stops running jobs at their next step (they stay queued for the next start)
  // and joins the threads. Idempotent.
  void shutdown();

  const ServerOptions& options() const { return options_; }
  bool keys_required() const;
  // The caller for the key sent with a request ("" when none). 401 ServiceError when the service
  // uses keys and the key is missing, unknown or revoked.
  Caller authenticate(const std::string& api_key) const;
  // Takes one of the caller's request tokens; 429 rate_limited when there is none left.
  void check_rate(const Caller& caller);

  // Queues a request; returns the job as GET /v1/jobs/{id} shows it. OptionError for option values
  // the method refuses; 429 queue_full when the queue is full; 503 after shutdown().
  Json submit(const JobRequest& request, const Caller& caller);
  //
  // Who may see a job: anyone with its id when it was made without a key; else only its key, or
  // whoever holds the job's file URLs (result_url, report_url, ...), which carry a 128-bit access
  // token and are shown only to that key (so <img>, <video> and the report page can load them
  // without headers). Everything else gets 404, as for an unknown job.
  Json job(const std::string& id, const Caller& caller) const;   // 404 when unknown, deleted, expired or not the caller's
  std::vector<Json> jobs(const Caller& caller, int limit) const;  // the caller's jobs (API keys only)
  void remove(const std::string& id, const Caller& caller);       // 404 as job()
  // A file of a job: "result" (409 until it succeeded), "content", "style-N", or a file of its
  // report ("report/index.html", "report/<name>.png").
  struct File {
    std::string bytes;
    std::string content_type;
    std::string name;  // as stored ("result.png")
  };
  // `access`: the token of a file URL ("" for the plain URLs, which need the job's key).
  File job_file(const std::string& id, const std::string& name, const Caller& caller, const std::string& access = "") const;

  // A slot of the synchronous path, held while one request is parsed and stylized. Taken before
  // the upload is decoded, so refusing a request over the limit costs next to nothing.
  class SyncSlot {
   public:
    explicit SyncSlot(std::atomic<int>& in_flight) : in_flight_(&in_flight) {}
    SyncSlot(SyncSlot&& other) noexcept : in_flight_(other.in_flight_) { other.in_flight_ = nullptr; }
    SyncSlot(const SyncSlot&) = delete;
    SyncSlot& operator=(const SyncSlot&) = delete;
    ~SyncSlot() {
      if (in_flight_) --*in_flight_;
    }

   private:
    std::atomic<int>* in_flight_;
  };
  // 429 busy when sync_concurrency requests are running already; 503 after shutdown().
  SyncSlot reserve_sync_slot();
  // One pass of a one-pass method (a model, or a method that is not iterative), answered at once, in
  // a reserved slot.
  StylizedImage stylize_now(const JobRequest& request, const SyncSlot& slot);

  // Style pictures a GAN of the models folder paints (the fields style_gan, style_seed, ...; a seed is
  // drawn when none is given): PNG images and how they were made (gan, step, seed, count,
  // truncation), the same for the same fields and checkpoint. OptionError("style_gan") for a name the
  // catalogue has no GAN for. Jobs and POST /v1/stylize add them after the uploaded styles; GET
  // /v1/gans/{name}/styles shows them first (in a synchronous slot).
  struct PaintedStyles {
    std::vector<UploadedImage> images;
    Json record;
    // A request's style images: the uploaded ones, then these.
    std::vector<const UploadedImage*> after(const std::vector<UploadedImage>& uploaded) const {
      std::vector<const UploadedImage*> all;
      for (const auto& s : uploaded) all.push_back(&s);
      for (const auto& s : images) all.push_back(&s);
      return all;
    }
  };
  PaintedStyles paint_styles(const GanStyleRequest& request);

  Json models();
  Json health() const;
  std::string metrics_text() const;  // Prometheus text: counters, histograms and the gauges
  Metrics& metrics() { return metrics_; }


 private:
  struct Running {
    std::atomic<bool> cancelled{false};  // deleted, or its lease was lost: stop at the next step
    std::atomic<bool> lost{false};       // the lease was lost: another worker may have it
    double deadline = 0;  // unix seconds
    Json progress;        // guarded by Service::mutex_
    double last_saved = 0;
  };

  void worker_loop();
  // Renews the leases of this process's running jobs, takes back expired ones (any process's) and
  // deletes expired jobs.
  void housekeeping_loop();
  void run_job(const JobRecord& record);
  Json job_json(const JobRecord& record) const;
  JobRecord readable(const std::string& id, const Caller& caller, const std::string& access) const;  // 404 unless allowed
  // The model a request runs: the one it names, else its method's built-in model ("" for a method
  // without a model option); OptionError("model") when the method needs a model and has none here.
  std::string model_for(const std::string& method, const std::string& named);
  Json run_options(const std::string& method, const Json& options, const std::string& model);
  Json public_options(const std::string& method, Json options, const std::string& model) const;
  Json public_summary(const std::string& method, const Json& summary, const std::string& model) const;
  void write_job_report(const std::string& dir, const std::string& method, const std::string& model, const Callbacks& callbacks) const;

  ServerOptions options_;
  Callbacks log_;
  std::unique_ptr<JobStore> store_;
  std::string node_;  // this process, as the holder of job leases: host:pid:random
  ModelCatalog catalog_;
  ResourceCache cache_;  // networks and backbones loaded once, shared by every worker and request
  Metrics metrics_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;        // workers: a job was queued here or elsewhere, or shutdown
  std::condition_variable sweep_wake_;  // housekeeping: shutdown
  uint64_t work_signals_ = 0;           // counts wake-ups, so none is missed between claim and wait
  std::map<std::string, std::shared_ptr<Running>> running_;
  bool stopping_ = false;
  std::atomic<int> sync_running_{0};
  std::vector<std::thread> workers_;
  std::thread housekeeper_;
  double mean_job_s_ = 10;  // running mean of job durations, for Retry-After
};

double unix_now();

}  // namespace impasto::server
