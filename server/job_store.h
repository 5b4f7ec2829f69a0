#pragma once
// Jobs and API keys in SQLite (the embedded default): every accepted job is a row before the
// request is answered, so a restart loses none. One connection, serialised by a mutex; WAL journal
// with synchronous=FULL, so a committed job survives a crash of the process or the machine.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "impasto/core/json_options.h"

struct sqlite3;

namespace impasto::server {

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
  int attempts = 0;                // times a worker started it
  Json progress;                   // last progress event (null before the first)
  std::string error;               // failed jobs: the message
  Json summary;                    // succeeded jobs: the stylization's summary
};

struct ApiKeyRecord {
  int64_t id = 0;
  std::string name;
  double rate_per_minute = 0;
  double created_at = 0;
  bool revoked = false;
};

class JobStore {
 public:
  // Opens (creating when missing) the database at `path`. FileError when it cannot be opened.
  explicit JobStore(const std::string& path);
  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  void insert(const JobRecord& job);
  std::optional<JobRecord> get(const std::string& id) const;
  // Newest first.
  std::vector<JobRecord> list(std::optional<int64_t> key_id, int limit) const;
  void mark_running(const std::string& id, double now);  // also counts the attempt
  void update_progress(const std::string& id, const Json& progress);
  void finish(const std::string& id, JobState state, double now, const std::string& error, const Json& summary);
  void requeue(const std::string& id);  // running -> queued (shutdown with the job unfinished)
  bool remove(const std::string& id);   // false when there was no such job

  // At start-up: jobs left `running` by a process that died go back to `queued`, except those
  // started `max_attempts` times already, which fail (a job that kills the server must not do it
  // forever). Returns the ids of every queued job, oldest first.
  std::vector<std::string> recover(int max_attempts, double now);
  // Finished jobs with finished_at < `before`, earliest first.
  std::vector<std::string> finished_before(double before) const;
  std::map<JobState, int64_t> count_by_state() const;

  // API keys are stored as SHA-256 hashes of the key, never the key itself.
  int64_t add_key(const std::string& name, const std::string& key_hash, double rate_per_minute, double now);
  std::optional<ApiKeyRecord> find_key(const std::string& key_hash) const;  // active keys only
  std::vector<ApiKeyRecord> keys() const;
  bool revoke_key(const std::string& name);
  int64_t active_key_count() const;

 private:
  struct Statement;
  void exec(const std::string& sql) const;
  sqlite3* db_ = nullptr;
  std::string path_;
  mutable std::mutex mutex_;
};

}  // namespace impasto::server
