// The embedded store: SQLite for jobs and keys, a folder per job for its files. One process uses it
// (its single connection is serialised by a mutex), so the queue needs no row locks, and a job left
// running at start-up was left by a process that died.
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <mutex>

#include "api_keys.h"
#include "impasto/io/text_file.h"
#include "job_store.h"
#include "job_store_rows.h"

namespace impasto::server {

namespace fs = std::filesystem;
using rows::kJobColumns;
using rows::kKeyColumns;

namespace {

// A prepared statement bound by position; StoreError with SQLite's message on failure.
struct Statement {
  Statement(sqlite3* db, const std::string& sql) : db(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) fail("prepare");
  }
  ~Statement() { sqlite3_finalize(stmt); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, double v) {
    sqlite3_bind_double(stmt, i, v);
    return *this;
  }
  Statement& bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt, i, v);
    return *this;
  }
  Statement& bind(int i, std::optional<int64_t> v) {
    if (v) sqlite3_bind_int64(stmt, i, *v);
    else sqlite3_bind_null(stmt, i);
    return *this;
  }
  bool step() {  // true while there is a row
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) fail("step");
    return false;
  }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(stmt, col);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt, col)) : std::string();
  }
  double real(int col) const { return sqlite3_column_double(stmt, col); }
  int64_t integer(int col) const { return sqlite3_column_int64(stmt, col); }
  bool null(int col) const { return sqlite3_column_type(stmt, col) == SQLITE_NULL; }
  [[noreturn]] void fail(const char* what) const { throw StoreError(std::string(what) + ": " + sqlite3_errmsg(db)); }
  sqlite3* db;
  sqlite3_stmt* stmt = nullptr;
};

// A job's file, written under a temporary name, flushed and renamed (io/text_file.h); a failure is
// the store's (a full disk), not the request's.
void write_job_file(const fs::path& path, const std::string& bytes) {
  try {
    write_file_atomically(path.string(), bytes);
  } catch (const FileError& e) {
    throw StoreError(e.what());
  }
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class SqliteJobStore final : public JobStore {
 public:
  SqliteJobStore(const std::string& path, const std::string& files_dir) : path_(path), files_dir_(files_dir) {
    std::error_code ec;
    fs::create_directories(files_dir_, ec);
    if (ec) throw FileError(files_dir_, "cannot create the jobs folder: " + ec.message());
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
      const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      db_ = nullptr;
      throw FileError(path, "cannot open the job database: " + message);
    }
    sqlite3_busy_timeout(db_, 5000);
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("CREATE TABLE IF NOT EXISTS jobs("
         " id TEXT PRIMARY KEY, key_id INTEGER, state TEXT NOT NULL, method TEXT NOT NULL,"
         " request TEXT NOT NULL, created_at REAL NOT NULL, started_at REAL NOT NULL DEFAULT 0,"
         " finished_at REAL NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,"
         " progress TEXT, error TEXT, summary TEXT, node TEXT, lease_until REAL NOT NULL DEFAULT 0)");
    // Databases of earlier versions lack the lease columns.
    bool has_lease = false;
    {
      Statement s(db_, "PRAGMA table_info(jobs)");
      while (s.step()) has_lease = has_lease || s.text(1) == "lease_until";
    }
    if (!has_lease) {
      exec("ALTER TABLE jobs ADD COLUMN node TEXT");
      exec("ALTER TABLE jobs ADD COLUMN lease_until REAL NOT NULL DEFAULT 0");
    }
    exec("CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, created_at)");
    exec("CREATE TABLE IF NOT EXISTS api_keys("
         " id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, key_hash TEXT UNIQUE NOT NULL,"
         " rate_per_minute REAL NOT NULL, created_at REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0)");
  }
  ~SqliteJobStore() override { sqlite3_close(db_); }

  std::string describe() const override { return "sqlite:" + path_; }
  bool shared() const override { return false; }

  bool enqueue(const JobRecord& j, const std::vector<JobFile>& files, int64_t queue_capacity) override {
    // The files first: a folder without a row (a crash in between) is removed by recover().
    const fs::path dir = job_dir(j.id);
    try {
      fs::create_directories(dir);
      for (const auto& f : files) write_job_file(dir / f.name, *f.bytes);
    } catch (const fs::filesystem_error& e) {
      remove_dir(j.id);
      throw StoreError(std::string("cannot store the job's files: ") + e.what());
    } catch (...) {
      remove_dir(j.id);
      throw;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    try {
      Statement count(db_, "SELECT COUNT(*) FROM jobs WHERE state = 'queued'");
      count.step();
      if (count.integer(0) >= queue_capacity) {
        remove_dir(j.id);
        return false;
      }
      Statement s(db_, std::string("INSERT INTO jobs(") + kJobColumns + ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)");
      s.bind(1, j.id).bind(2, j.key_id).bind(3, std::string(to_string(j.state))).bind(4, j.method);
      s.bind(5, json_text(j.request)).bind(6, j.created_at).bind(7, j.started_at).bind(8, j.finished_at);
      s.bind(9, static_cast<int64_t>(j.attempts)).bind(10, j.progress.is_null() ? std::string() : json_text(j.progress));
      s.bind(11, j.error).bind(12, j.summary.is_null() ? std::string() : json_text(j.summary)).bind(13, j.node);
      s.step();
    } catch (...) {
      remove_dir(j.id);
      throw;
    }
    return true;
  }

  std::optional<JobRecord> get(const std::string& id) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    Statement s(db_, std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return rows::job_from(s);
  }

  std::vector<JobRecord> list(std::optional<int64_t> key_id, int limit) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    Statement s(db_, std::string("SELECT ") + kJobColumns + " FROM jobs WHERE key_id IS ? ORDER BY created_at DESC, id LIMIT ?");
    s.bind(1, key_id).bind(2, static_cast<int64_t>(limit));
    std::vector<JobRecord> out;
    while (s.step()) out.push_back(rows::job_from(s));
    return out;
  }

  int64_t queued() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    Statement s(db_, "SELECT COUNT(*) FROM jobs WHERE state = 'queued'");
    s.step();
    return s.integer(0);
  }

  int64_t queue_position(const JobRecord& job) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    Statement s(db_, "SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND (created_at < ? OR (created_at = ? AND id < ?))");
    s.bind(1, job.created_at).bind(2, job.created_at).bind(3, job.id).step();
    return s.integer(0) + 1;
  }

  std::map<JobState, int64_t> count_by_state() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::map<JobState, int64_t> counts = {{JobState::queued, 0}, {JobState::running, 0}, {JobState::succeeded, 0}, {JobState::failed, 0}};
    Statement s(db_, "SELECT state, COUNT(*) FROM jobs GROUP BY state");
    while (s.step()) counts[job_state_from_string(s.text(0))] = s.integer(1);
    return counts;
  }

  bool remove(const std::string& id) override {
    bool removed;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      Statement s(db_, "DELETE FROM jobs WHERE id = ?");
      s.bind(1, id).step();
      removed = sqlite3_changes(db_) > 0;
    }
    remove_dir(id);  // also when the row is gone already: a worker's last look at a deleted job
    return removed;
  }

  std::vector<std::string> remove_finished_before(double before) override {
    std::vector<std::string> ids;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      Statement s(db_, "SELECT id FROM jobs WHERE state IN ('succeeded', 'failed') AND finished_at < ? ORDER BY finished_at");
      s.bind(1, before);
      while (s.step()) ids.push_back(s.text(0));
      for (const auto& id : ids) Statement(db_, "DELETE FROM jobs WHERE id = ?").bind(1, id).step();
    }
    for (const auto& id : ids) remove_dir(id);
    return ids;
  }

  std::optional<std::string> read_file(const std::string& id, const std::string& name) const override {
    const fs::path path = job_dir(id) / name;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return std::nullopt;
    try {
      return read_whole_file(path.string());
    } catch (const FileError&) {
      return std::nullopt;  // deleted meanwhile
    }
  }

  std::optional<JobRecord> claim(const std::string& node, double now, double lease_s) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string id;
    {
      Statement s(db_, "SELECT id FROM jobs WHERE state = 'queued' ORDER BY created_at, id LIMIT 1");
      if (!s.step()) return std::nullopt;
      id = s.text(0);
    }
    Statement(db_, "UPDATE jobs SET state = 'running', started_at = ?, attempts = attempts + 1, node = ?, lease_until = ? WHERE id = ?")
        .bind(1, now).bind(2, node).bind(3, now_s() + lease_s).bind(4, id).step();
    Statement s(db_, std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return rows::job_from(s);
  }

  std::vector<std::string> renew(const std::string& node, const std::vector<std::string>& ids, double lease_s) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> lost;
    for (const auto& id : ids) {
      Statement(db_, "UPDATE jobs SET lease_until = ? WHERE id = ? AND node = ? AND state = 'running'")
          .bind(1, now_s() + lease_s).bind(2, id).bind(3, node).step();
      if (sqlite3_changes(db_) == 0) lost.push_back(id);
    }
    return lost;
  }

  int64_t expire_leases(int max_attempts, double now) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return expire_locked(max_attempts, now, now_s());
  }

  void recover(int max_attempts, double now) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      expire_locked(max_attempts, now, /*lease_now=*/1e300);
    }
    // Folders without a row: a submission that died between writing its files and committing.
    std::error_code ec;
    for (const auto& d : fs::directory_iterator(files_dir_, ec))
      if (d.is_directory() && !get(d.path().filename().string())) fs::remove_all(d.path(), ec);
  }

  void update_progress(const std::string& id, const std::string& node, const Json& progress) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Statement(db_, "UPDATE jobs SET progress = ? WHERE id = ? AND node = ?").bind(1, json_text(progress)).bind(2, id).bind(3, node).step();
  }

  std::string workspace(const std::string& id) override { return job_dir(id).string(); }
  void release_workspace(const std::string&) override {}

  bool finish(const std::string& id, const std::string& node, JobState state, double now, const std::string& error,
              const Json& summary, const std::vector<std::string>&) override {
    // The outputs are in the job's folder already, each written under a temporary name and renamed.
    std::lock_guard<std::mutex> lock(mutex_);
    Statement s(db_, "UPDATE jobs SET state = ?, finished_at = ?, error = ?, summary = ?, node = NULL "
                     "WHERE id = ? AND node = ? AND state = 'running'");
    s.bind(1, std::string(to_string(state))).bind(2, now).bind(3, error);
    s.bind(4, summary.is_null() ? std::string() : json_text(summary)).bind(5, id).bind(6, node).step();
    return sqlite3_changes(db_) > 0;
  }

  void requeue(const std::string& id, const std::string& node) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Statement(db_, "UPDATE jobs SET state = 'queued', started_at = 0, node = NULL WHERE id = ? AND node = ? AND state = 'running'")
        .bind(1, id).bind(2, node).step();
  }

  int64_t add_key(const std::string& name, const std::string& key_hash, double rate_per_minute, double now) override {
    std::lock_guard<std::mutex> lock(mutex_);
    {
      Statement exists(db_, "SELECT 1 FROM api_keys WHERE name = ?");
      exists.bind(1, name);
      if (exists.step()) throw OptionError("name", "an API key named '" + name + "' exists already");
    }
    Statement(db_, "INSERT INTO api_keys(name, key_hash, rate_per_minute, created_at) VALUES(?,?,?,?)")
        .bind(1, name).bind(2, key_hash).bind(3, rate_per_minute).bind(4, now).step();
    return sqlite3_last_insert_rowid(db_);
  }

  std::optional<ApiKeyRecord> find_key(const std::string& key_hash) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    Statement s(db_, std::string("SELECT ") + kKeyColumns + " FROM api_keys WHERE key_hash = ? AND revoked = 0");
    s.bind(1, key_hash);
    if (!s.step()) return std::nullopt;
    return rows::key_from(s);
  }

  std::vector<ApiKeyRecord> keys() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    Statement s(db_, std::string("SELECT ") + kKeyColumns + " FROM api_keys ORDER BY id");
    std::vector<ApiKeyRecord> out;
    while (s.step()) out.push_back(rows::key_from(s));
    return out;
  }

  bool revoke_key(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Statement(db_, "UPDATE api_keys SET revoked = 1 WHERE name = ? AND revoked = 0").bind(1, name).step();
    return sqlite3_changes(db_) > 0;
  }

  int64_t active_key_count() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    Statement s(db_, "SELECT COUNT(*) FROM api_keys WHERE revoked = 0");
    s.step();
    return s.integer(0);
  }

  // One process: the buckets live in its memory.
  double take_token(int64_t key_id, double rate_per_minute) override { return rates_.acquire(key_id, rate_per_minute); }

 private:
  fs::path job_dir(const std::string& id) const { return fs::path(files_dir_) / id; }
  void remove_dir(const std::string& id) const {
    std::error_code ec;
    if (!id.empty()) fs::remove_all(job_dir(id), ec);
  }

  void exec(const std::string& sql) const {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      const std::string text = message ? message : "unknown error";
      sqlite3_free(message);
      throw StoreError(path_ + ": " + text);
    }
  }

  // Leases that ran out by `lease_now` (this process's clock; +inf: every running job).
  int64_t expire_locked(int max_attempts, double now, double lease_now) {
    Statement fail(db_, "UPDATE jobs SET state = 'failed', finished_at = ?, error = ?, node = NULL "
                        "WHERE state = 'running' AND lease_until < ? AND attempts >= ?");
    fail.bind(1, now).bind(2, rows::given_up_message(max_attempts));
    fail.bind(3, lease_now).bind(4, static_cast<int64_t>(max_attempts)).step();
    Statement(db_, "UPDATE jobs SET state = 'queued', started_at = 0, node = NULL WHERE state = 'running' AND lease_until < ?")
        .bind(1, lease_now).step();
    return sqlite3_changes(db_);
  }

  std::string path_;
  std::string files_dir_;
  sqlite3* db_ = nullptr;
  mutable std::mutex mutex_;
  RateLimiter rates_;
};

}  // namespace

std::unique_ptr<JobStore> open_sqlite_store(const std::string& database, const std::string& files_dir) {
  return std::make_unique<SqliteJobStore>(database, files_dir);
}

}  // namespace impasto::server
