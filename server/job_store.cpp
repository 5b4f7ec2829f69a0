#include "job_store.h"

#include <sqlite3.h>

#include "impasto/core/error.h"

namespace impasto::server {

const char* to_string(JobState state) {
  switch (state) {
    case JobState::queued: return "queued";
    case JobState::running: return "running";
    case JobState::succeeded: return "succeeded";
    case JobState::failed: return "failed";
  }
  return "?";
}

JobState job_state_from_string(const std::string& text) {
  for (JobState s : {JobState::queued, JobState::running, JobState::succeeded, JobState::failed})
    if (text == to_string(s)) return s;
  throw FormatError("job database", "unknown job state '" + text + "'");
}

// A prepared statement bound by position; throws FormatError with SQLite's message on failure.
struct JobStore::Statement {
  Statement(sqlite3* db, const std::string& sql) : db(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) fail("prepare");
  }
  ~Statement() { sqlite3_finalize(stmt); }
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
  [[noreturn]] void fail(const char* what) const {
    throw FormatError("job database", std::string(what) + ": " + sqlite3_errmsg(db));
  }
  sqlite3* db;
  sqlite3_stmt* stmt = nullptr;
};

namespace {

constexpr const char* kJobColumns =
    "id, key_id, state, method, request, created_at, started_at, finished_at, attempts, progress, error, summary";

Json parse_or_null(const std::string& text) {
  if (text.empty()) return Json();
  return Json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace

JobStore::JobStore(const std::string& path) : path_(path) {
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
       " progress TEXT, error TEXT, summary TEXT)");
  exec("CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, created_at)");
  exec("CREATE TABLE IF NOT EXISTS api_keys("
       " id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, key_hash TEXT UNIQUE NOT NULL,"
       " rate_per_minute REAL NOT NULL, created_at REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0)");
}

JobStore::~JobStore() { sqlite3_close(db_); }

void JobStore::exec(const std::string& sql) const {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    throw FormatError(path_, "job database: " + text);
  }
}

void JobStore::insert(const JobRecord& j) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, std::string("INSERT INTO jobs(") + kJobColumns + ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
  s.bind(1, j.id).bind(2, j.key_id).bind(3, std::string(to_string(j.state))).bind(4, j.method);
  s.bind(5, json_text(j.request)).bind(6, j.created_at).bind(7, j.started_at).bind(8, j.finished_at);
  s.bind(9, static_cast<int64_t>(j.attempts)).bind(10, j.progress.is_null() ? std::string() : json_text(j.progress));
  s.bind(11, j.error).bind(12, j.summary.is_null() ? std::string() : json_text(j.summary));
  s.step();
}

namespace {

template <class S>
JobRecord read_job(const S& s) {
  JobRecord j;
  j.id = s.text(0);
  if (!s.null(1)) j.key_id = s.integer(1);
  j.state = job_state_from_string(s.text(2));
  j.method = s.text(3);
  j.request = parse_or_null(s.text(4));
  j.created_at = s.real(5);
  j.started_at = s.real(6);
  j.finished_at = s.real(7);
  j.attempts = static_cast<int>(s.integer(8));
  j.progress = parse_or_null(s.text(9));
  j.error = s.text(10);
  j.summary = parse_or_null(s.text(11));
  return j;
}

}  // namespace

std::optional<JobRecord> JobStore::get(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return read_job(s);
}

std::vector<JobRecord> JobStore::list(std::optional<int64_t> key_id, int limit) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, std::string("SELECT ") + kJobColumns +
                       " FROM jobs WHERE key_id IS ? ORDER BY created_at DESC, id LIMIT ?");
  s.bind(1, key_id).bind(2, static_cast<int64_t>(limit));
  std::vector<JobRecord> out;
  while (s.step()) out.push_back(read_job(s));
  return out;
}

void JobStore::mark_running(const std::string& id, double now) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, "UPDATE jobs SET state = 'running', started_at = ?, attempts = attempts + 1 WHERE id = ?");
  s.bind(1, now).bind(2, id).step();
}

void JobStore::update_progress(const std::string& id, const Json& progress) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, "UPDATE jobs SET progress = ? WHERE id = ?");
  s.bind(1, json_text(progress)).bind(2, id).step();
}

void JobStore::finish(const std::string& id, JobState state, double now, const std::string& error, const Json& summary) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, "UPDATE jobs SET state = ?, finished_at = ?, error = ?, summary = ? WHERE id = ?");
  s.bind(1, std::string(to_string(state))).bind(2, now).bind(3, error);
  s.bind(4, summary.is_null() ? std::string() : json_text(summary)).bind(5, id).step();
}

void JobStore::requeue(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, "UPDATE jobs SET state = 'queued', started_at = 0 WHERE id = ? AND state = 'running'");
  s.bind(1, id).step();
}

bool JobStore::remove(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, "DELETE FROM jobs WHERE id = ?");
  s.bind(1, id).step();
  return sqlite3_changes(db_) > 0;
}

std::vector<std::string> JobStore::recover(int max_attempts, double now) {
  std::lock_guard<std::mutex> lock(mutex_);
  {
    Statement s(db_, "UPDATE jobs SET state = 'failed', finished_at = ?, error = ? "
                     "WHERE state = 'running' AND attempts >= ?");
    s.bind(1, now).bind(2, "the job was interrupted " + std::to_string(max_attempts) +
                               " times (the server stopped while running it); not retried");
    s.bind(3, static_cast<int64_t>(max_attempts)).step();
  }
  Statement(db_, "UPDATE jobs SET state = 'queued', started_at = 0 WHERE state = 'running'").step();
  Statement s(db_, "SELECT id FROM jobs WHERE state = 'queued' ORDER BY created_at, id");
  std::vector<std::string> ids;
  while (s.step()) ids.push_back(s.text(0));
  return ids;
}

std::vector<std::string> JobStore::finished_before(double before) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, "SELECT id FROM jobs WHERE state IN ('succeeded', 'failed') AND finished_at < ? ORDER BY finished_at");
  s.bind(1, before);
  std::vector<std::string> ids;
  while (s.step()) ids.push_back(s.text(0));
  return ids;
}

std::map<JobState, int64_t> JobStore::count_by_state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::map<JobState, int64_t> counts = {
      {JobState::queued, 0}, {JobState::running, 0}, {JobState::succeeded, 0}, {JobState::failed, 0}};
  Statement s(db_, "SELECT state, COUNT(*) FROM jobs GROUP BY state");
  while (s.step()) counts[job_state_from_string(s.text(0))] = s.integer(1);
  return counts;
}

int64_t JobStore::add_key(const std::string& name, const std::string& key_hash, double rate_per_minute, double now) {
  std::lock_guard<std::mutex> lock(mutex_);
  {
    Statement exists(db_, "SELECT 1 FROM api_keys WHERE name = ?");
    exists.bind(1, name);
    if (exists.step()) throw OptionError("name", "an API key named '" + name + "' exists already");
  }
  Statement s(db_, "INSERT INTO api_keys(name, key_hash, rate_per_minute, created_at) VALUES(?,?,?,?)");
  s.bind(1, name).bind(2, key_hash).bind(3, rate_per_minute).bind(4, now).step();
  return sqlite3_last_insert_rowid(db_);
}

namespace {

template <class S>
ApiKeyRecord read_key(const S& s) {
  ApiKeyRecord k;
  k.id = s.integer(0);
  k.name = s.text(1);
  k.rate_per_minute = s.real(2);
  k.created_at = s.real(3);
  k.revoked = s.integer(4) != 0;
  return k;
}

}  // namespace

std::optional<ApiKeyRecord> JobStore::find_key(const std::string& key_hash) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, "SELECT id, name, rate_per_minute, created_at, revoked FROM api_keys WHERE key_hash = ? AND revoked = 0");
  s.bind(1, key_hash);
  if (!s.step()) return std::nullopt;
  return read_key(s);
}

std::vector<ApiKeyRecord> JobStore::keys() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, "SELECT id, name, rate_per_minute, created_at, revoked FROM api_keys ORDER BY id");
  std::vector<ApiKeyRecord> out;
  while (s.step()) out.push_back(read_key(s));
  return out;
}

bool JobStore::revoke_key(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, "UPDATE api_keys SET revoked = 1 WHERE name = ? AND revoked = 0");
  s.bind(1, name).step();
  return sqlite3_changes(db_) > 0;
}

int64_t JobStore::active_key_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Statement s(db_, "SELECT COUNT(*) FROM api_keys WHERE revoked = 0");
  s.step();
  return s.integer(0);
}

}  // namespace impasto::server
