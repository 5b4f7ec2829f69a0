#pragma once
// Where the service keeps its jobs, their files and its API keys: one interface, two stores.
//
// - SQLite (the embedded default; `--store sqlite:PATH`, or nothing: DATA_DIR/jobs.sqlite3): one
//   process. The database holds jobs and keys; a job's files are a folder DATA_DIR/jobs/<id>.
// - PostgreSQL (`--store postgresql://user@host/db`): any number of `impasto serve` processes share
//   one queue. Jobs, their files (uploads, results, reports), keys and rate counters all live in the
//   database, so any process answers any request about any job and no machine's disk matters; a
//   worker copies a job's inputs into a scratch folder while it runs it.
//
// The queue is the store. A worker claims the oldest queued job together with a lease, which it
// renews while the job runs; a job whose lease runs out (its process died or hung) goes back to the
// queue, and fails once it has been claimed max_attempts times. A worker that lost its lease can no
// longer finish the job: its outcome is dropped, so every job finishes exactly once. Committed
// writes survive a crash of the process or the machine (SQLite: WAL with synchronous=FULL).
//
// Every method throws StoreError when the database fails (I/O error, disk full, connection lost).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "impasto/core/error.h"
#include "impasto/core/json_options.h"

namespace impasto::server {

// The database failed (not the request): the service answers 503 and keeps running.
class StoreError : public Error {
 public:
  explicit StoreError(const std::string& message) : Error("job database: " + message) {}
};

enum class JobState { queued, running, succeeded, failed };
const char* to_string(JobState state);
JobState job_state_from_string(const std::string& text);  // FormatError for anything else

struct JobRecord {
  std::string id;
  std::optional<int64_t> key_id;  // the API key that created it (none for anonymous use)
  JobState state = JobState::queued;
  std::string method;
  Json request = Json::object();   // what run_job needs: options, input file names, output format
  double created_at = 0, started_at = 0, finished_at = 0;  // unix seconds; 0 = not yet
  int attempts = 0;                // times a worker claimed it
  Json progress;                   // last progress event (null before the first)
  std::string error;               // failed jobs: the message
  Json summary;                    // succeeded jobs: the stylization's summary
  std::string node;                // running jobs: the process that holds the lease
};

struct ApiKeyRecord {
  int64_t id = 0;
  std::string name;
  double rate_per_minute = 0;
  double created_at = 0;
  bool revoked = false;
};

// A file of a job by its name in the job ("content.png", "style-1.jpg", "report/figures/loss.png").
struct JobFile {
  std::string name;
  const std::string* bytes = nullptr;
};

class JobStore {
 public:
  virtual ~JobStore() = default;
  // "sqlite:/path/jobs.sqlite3" or "postgresql://user@host:port/db" (never a password).
  virtual std::string describe() const = 0;
  // Several processes may use it at once (PostgreSQL).
  virtual bool shared() const = 0;

  // ---- jobs
  // Stores a queued job with its input files, unless `queue_capacity` jobs are queued already
  // (then false, and nothing is stored). A job is never visible without its files.
  virtual bool enqueue(const JobRecord& job, const std::vector<JobFile>& files, int64_t queue_capacity) = 0;
  virtual std::optional<JobRecord> get(const std::string& id) const = 0;
  virtual std::vector<JobRecord> list(std::optional<int64_t> key_id, int limit) const = 0;  // newest first
  virtual int64_t queued() const = 0;
  virtual int64_t queue_position(const JobRecord& job) const = 0;  // of a queued job; 1 = next
  virtual std::map<JobState, int64_t> count_by_state() const = 0;
  // Deletes a job and its files; false when there was no such job.
  virtual bool remove(const std::string& id) = 0;
  // Expiry: deletes the finished jobs with finished_at < `before` and their files, returning their
  // ids. With several processes, each expired job is returned to one of them only.
  virtual std::vector<std::string> remove_finished_before(double before) = 0;
  // One file of a job (an input, or an output of a finished job); none when it has no such file.
  virtual std::optional<std::string> read_file(const std::string& id, const std::string& name) const = 0;

  // ---- workers
  // Claims the oldest queued job for `node` (state running, attempts counted, started_at = now)
  // with a lease of `lease_s` seconds; none when nothing is queued.
  virtual std::optional<JobRecord> claim(const std::string& node, double now, double lease_s) = 0;
  // Extends `node`'s leases on `ids`; returns those it no longer holds (deleted, or expired and
  // taken back): their workers must stop.
  virtual std::vector<std::string> renew(const std::string& node, const std::vector<std::string>& ids, double lease_s) = 0;
  // Running jobs whose lease ran out go back to the queue, except those claimed `max_attempts`
  // times already, which fail (a job that kills its server must not do it forever). Returns how
  // many went back.
  virtual int64_t expire_leases(int max_attempts, double now) = 0;
  // At the start of an unshared store's only process: every running job was left by a process that
  // died, whatever its lease says; they are treated as expired. Nothing for a shared store.
  virtual void recover(int max_attempts, double now) = 0;
  virtual void update_progress(const std::string& id, const std::string& node, const Json& progress) = 0;
  // A folder on this machine holding the job's input files, in which the worker writes its outputs.
  virtual std::string workspace(const std::string& id) = 0;
  // The workspace is no longer needed (a scratch copy is deleted; SQLite's job folder stays).
  virtual void release_workspace(const std::string& id) = 0;
  // The job's final state and, for a success, its outputs (names relative to the workspace), if
  // `node` still holds it: false otherwise, and nothing is stored.
  virtual bool finish(const std::string& id, const std::string& node, JobState state, double now, const std::string& error,
                      const Json& summary, const std::vector<std::string>& outputs) = 0;
  // running -> queued: the worker's process is shutting down with the job unfinished.
  virtual void requeue(const std::string& id, const std::string& node) = 0;
  // Calls `wake` when another process queues work or a job goes back to the queue (shared stores).
  virtual void on_work(std::function<void()> wake) {}

  // ---- API keys, stored as SHA-256 hashes of the key, never the key itself
  virtual int64_t add_key(const std::string& name, const std::string& key_hash, double rate_per_minute, double now) = 0;
  virtual std::optional<ApiKeyRecord> find_key(const std::string& key_hash) const = 0;  // active keys only
  virtual std::vector<ApiKeyRecord> keys() const = 0;
  virtual bool revoke_key(const std::string& name) = 0;
  virtual int64_t active_key_count() const = 0;
  // Takes a request token of the key's bucket (held by the store, so the limit holds across
  // processes): 0 when taken, else the seconds until one is free.
  virtual double take_token(int64_t key_id, double rate_per_minute) = 0;
};

// `spec`: "" (SQLite at DATA_DIR/jobs.sqlite3), "sqlite:PATH", or "postgresql://..." /
// "postgres://..." (a libpq URI). `data_dir` holds SQLite's job folders, or PostgreSQL's scratch
// folders. OptionError("store") for any other spec; FileError / StoreError when it cannot be opened.
std::unique_ptr<JobStore> open_job_store(const std::string& spec, const std::string& data_dir);

// The stores themselves (job_store_sqlite.cpp, job_store_postgres.cpp).
std::unique_ptr<JobStore> open_sqlite_store(const std::string& database, const std::string& files_dir);
std::unique_ptr<JobStore> open_postgres_store(const std::string& uri, const std::string& scratch_dir);

// A libpq URI without its password, for logs and messages.
std::string redact_uri(const std::string& uri);

// The names of a job's outputs in its workspace: result.* and everything under report/.
std::vector<std::string> job_outputs(const std::string& workspace);

}  // namespace impasto::server
