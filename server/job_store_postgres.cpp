// The shared store: PostgreSQL through libpq. Any number of `impasto serve` processes use one
// database; jobs, their files (a blob table), API keys and rate buckets all live in it.
//
// - Claims: `UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED)`: two workers never take the
//   same job, and neither waits for the other's lock.
// - Leases are timed by the database's clock (clock_timestamp()), so machines whose clocks differ
//   agree on which lease ran out.
// - LISTEN/NOTIFY on the channel impasto_jobs wakes idle workers when a job is queued or taken back.
// - Submissions take a transaction-scoped advisory lock, so the queue's capacity holds across
//   processes; expiry is a DELETE ... RETURNING, so each expired job is reported by one process.
// One connection serves the process's requests (serialised by a mutex; it reconnects when the server
// went away) and a second one listens.
#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "api_keys.h"
#include "impasto/io/text_file.h"
#include "job_store.h"
#include "job_store_rows.h"

namespace impasto::server {

namespace fs = std::filesystem;
using rows::kJobColumns;
using rows::kKeyColumns;

namespace {

constexpr const char* kDbNow = "extract(epoch from clock_timestamp())::double precision";
constexpr int64_t kSchemaLock = 0x696d7061'00000001;  // advisory lock ids ("impa" ...)
constexpr int64_t kQueueLock = 0x696d7061'00000002;

// A statement parameter: text (numbers as text, exactly), binary bytes (bytea), or NULL.
struct Param {
  std::optional<std::string> text;
  const std::string* bytes = nullptr;
  static Param of(const std::string& v) { return Param{v, nullptr}; }
  static Param of(const char* v) { return Param{std::string(v), nullptr}; }
  static Param of(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return Param{std::string(buf), nullptr};
  }
  static Param of(int64_t v) { return Param{std::to_string(v), nullptr}; }
  static Param of(int v) { return of(static_cast<int64_t>(v)); }
  static Param of(std::optional<int64_t> v) { return v ? of(*v) : Param{std::nullopt, nullptr}; }
  static Param blob(const std::string& v) { return Param{std::nullopt, &v}; }
};

class Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  ~Result() { PQclear(r_); }
  Result(Result&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  Result& operator=(Result&& o) noexcept {
    std::swap(r_, o.r_);
    return *this;
  }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  PGresult* get() const { return r_; }
  int rows() const { return PQntuples(r_); }
  bool null(int row, int col) const { return PQgetisnull(r_, row, col); }
  std::string text(int row, int col) const { return std::string(PQgetvalue(r_, row, col), PQgetlength(r_, row, col)); }
  double real(int row, int col) const { return std::strtod(PQgetvalue(r_, row, col), nullptr); }
  int64_t integer(int row, int col) const { return std::strtoll(PQgetvalue(r_, row, col), nullptr, 10); }
  int64_t affected() const {
    const char* n = PQcmdTuples(r_);
    return n && *n ? std::strtoll(n, nullptr, 10) : 0;
  }

 private:
  PGresult* r_;
};

void ignore_notice(void*, const char*) {}  // "relation already exists, skipping" and the like

// libpq's own connect timeout unless the URI sets one: a database that does not answer is an error
// within seconds, not a hang.
std::string with_timeout(const std::string& uri) {
  if (uri.find("connect_timeout=") != std::string::npos) return uri;
  return uri + (uri.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=10";
}

class Connection {
 public:
  explicit Connection(const std::string& uri) : uri_(with_timeout(uri)), shown_(redact_uri(uri)) { connect(); }
  ~Connection() { PQfinish(conn_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one statement; `binary_result` returns bytea columns as raw bytes. Outside a transaction a
  // lost connection is re-opened and the statement tried once more.
  Result exec(const std::string& sql, const std::vector<Param>& params = {}, bool binary_result = false) {
    if (PQstatus(conn_) != CONNECTION_OK) reconnect();
    Result r = run(sql, params, binary_result);
    if (!ok(r) && PQstatus(conn_) != CONNECTION_OK && depth_ == 0) {
      reconnect();
      r = run(sql, params, binary_result);
    }
    if (!ok(r)) {
      const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
      last_sqlstate_ = state ? state : "";
      std::string message = PQerrorMessage(conn_);
      while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
      throw StoreError(shown_ + ": " + (message.empty() ? std::string("statement failed") : message));
    }
    return r;
  }
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  int& depth() { return depth_; }

 private:
  static bool ok(const Result& r) {
    const auto status = PQresultStatus(r.get());
    return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
  }
  Result run(const std::string& sql, const std::vector<Param>& params, bool binary_result) {
    std::vector<const char*> values(params.size());
    std::vector<int> lengths(params.size()), formats(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      if (params[i].bytes) {
        values[i] = params[i].bytes->data();
        lengths[i] = static_cast<int>(params[i].bytes->size());
        formats[i] = 1;
      } else {
        values[i] = params[i].text ? params[i].text->c_str() : nullptr;
      }
    }
    return Result(PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(), lengths.data(),
                               formats.data(), binary_result ? 1 : 0));
  }
  void connect() {
    conn_ = PQconnectdb(uri_.c_str());
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string message = conn_ ? PQerrorMessage(conn_) : "out of memory";
      while (!message.empty() && message.back() == '\n') message.pop_back();
      PQfinish(conn_);
      conn_ = nullptr;
      throw StoreError("cannot connect to " + shown_ + ": " + message);
    }
    PQsetNoticeProcessor(conn_, ignore_notice, nullptr);
  }
  void reconnect() {
    PQfinish(conn_);
    conn_ = nullptr;
    connect();
  }

  std::string uri_, shown_;
  PGconn* conn_ = nullptr;
  int depth_ = 0;  // open transactions
  std::string last_sqlstate_;
};

// One row of a result, as the stores' shared row readers (job_store_rows.h) take it; booleans
// ('t'/'f') read as integers 1/0.
struct RowView {
  const Result& r;
  int row;
  std::string text(int col) const { return r.text(row, col); }
  double real(int col) const { return r.real(row, col); }
  int64_t integer(int col) const {
    const std::string v = r.text(row, col);
    if (v == "t" || v == "f") return v == "t";
    return r.integer(row, col);
  }
  bool null(int col) const { return r.null(row, col); }
};

// BEGIN ... COMMIT; rolled back when left without commit().
class Transaction {
 public:
  explicit Transaction(Connection& c) : c_(c) {
    c_.exec("BEGIN");
    ++c_.depth();
  }
  ~Transaction() {
    if (done_) return;
    --c_.depth();
    try {
      c_.exec("ROLLBACK");
    } catch (const Error&) {
    }
  }
  void commit() {
    c_.exec("COMMIT");
    --c_.depth();
    done_ = true;
  }

 private:
  Connection& c_;
  bool done_ = false;
};

// A job's file name as stored: relative, no "..", no empty parts.
bool safe_name(const std::string& name) {
  if (name.empty() || name[0] == '/' || name.size() > 255) return false;
  for (const auto& part : fs::path(name))
    if (part.empty() || part == ".." || part == ".") return false;
  return true;
}

class PostgresJobStore final : public JobStore {
 public:
  PostgresJobStore(const std::string& uri, const std::string& scratch_root) : uri_(uri), db_(uri) {
    std::random_device random;
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "%d-%06x", static_cast<int>(getpid()), static_cast<unsigned>(random() & 0xffffff));
    scratch_ = (fs::path(scratch_root) / suffix).string();
    std::error_code ec;
    fs::create_directories(scratch_, ec);
    if (ec) throw FileError(scratch_, "cannot create the scratch folder: " + ec.message());
    // Several processes may start at once: one creates the schema while the others wait.
    Transaction t(db_);
    db_.exec("SELECT pg_advisory_xact_lock($1)", {Param::of(kSchemaLock)});
    db_.exec("CREATE TABLE IF NOT EXISTS jobs("
             " id text PRIMARY KEY, key_id bigint, state text NOT NULL, method text NOT NULL, request text NOT NULL,"
             " created_at double precision NOT NULL, started_at double precision NOT NULL DEFAULT 0,"
             " finished_at double precision NOT NULL DEFAULT 0, attempts integer NOT NULL DEFAULT 0,"
             " progress text, error text, summary text, node text, lease_until double precision NOT NULL DEFAULT 0)");
    db_.exec("CREATE INDEX IF NOT EXISTS jobs_queue ON jobs(state, created_at, id)");
    db_.exec("CREATE INDEX IF NOT EXISTS jobs_key ON jobs(key_id, created_at)");
    db_.exec("CREATE TABLE IF NOT EXISTS job_files("
             " job_id text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, name text NOT NULL, bytes bytea NOT NULL,"
             " PRIMARY KEY(job_id, name))");
    db_.exec("CREATE TABLE IF NOT EXISTS api_keys("
             " id bigserial PRIMARY KEY, name text UNIQUE NOT NULL, key_hash text UNIQUE NOT NULL,"
             " rate_per_minute double precision NOT NULL, created_at double precision NOT NULL,"
             " revoked boolean NOT NULL DEFAULT false)");
    db_.exec("CREATE TABLE IF NOT EXISTS rate_buckets("
             " key_id bigint PRIMARY KEY, tokens double precision NOT NULL, updated double precision NOT NULL)");
    t.commit();
  }

  ~PostgresJobStore() override {
    stop_ = true;
    if (listener_.joinable()) listener_.join();
    std::error_code ec;
    fs::remove_all(scratch_, ec);
  }

  std::string describe() const override { return redact_uri(uri_); }
  bool shared() const override { return true; }

  bool enqueue(const JobRecord& j, const std::vector<JobFile>& files, int64_t queue_capacity) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Transaction t(db_);
    db_.exec("SELECT pg_advisory_xact_lock($1)", {Param::of(kQueueLock)});
    if (db_.exec("SELECT count(*) FROM jobs WHERE state = 'queued'").integer(0, 0) >= queue_capacity) return false;
    db_.exec(std::string("INSERT INTO jobs(") + kJobColumns + ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
             {Param::of(j.id), Param::of(j.key_id), Param::of(to_string(j.state)), Param::of(j.method), Param::of(json_text(j.request)),
              Param::of(j.created_at), Param::of(j.started_at), Param::of(j.finished_at), Param::of(j.attempts),
              j.progress.is_null() ? Param{} : Param::of(json_text(j.progress)), Param::of(j.error),
              j.summary.is_null() ? Param{} : Param::of(json_text(j.summary)), j.node.empty() ? Param{} : Param::of(j.node)});
    for (const auto& f : files) {
      if (!safe_name(f.name)) throw StoreError("bad file name '" + f.name + "'");
      db_.exec("INSERT INTO job_files(job_id, name, bytes) VALUES($1, $2, $3)", {Param::of(j.id), Param::of(f.name), Param::blob(*f.bytes)});
    }
    db_.exec("NOTIFY impasto_jobs");  // delivered at commit
    t.commit();
    return true;
  }

  std::optional<JobRecord> get(const std::string& id) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    Result r = db_.exec(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = $1", {Param::of(id)});
    if (r.rows() == 0) return std::nullopt;
    return rows::job_from(RowView{r, 0});
  }

  std::vector<JobRecord> list(std::optional<int64_t> key_id, int limit) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    Result r = db_.exec(std::string("SELECT ") + kJobColumns +
                            " FROM jobs WHERE key_id IS NOT DISTINCT FROM $1::bigint ORDER BY created_at DESC, id LIMIT $2",
                        {Param::of(key_id), Param::of(static_cast<int64_t>(limit))});
    std::vector<JobRecord> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(rows::job_from(RowView{r, i}));
    return out;
  }

  int64_t queued() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return db_.exec("SELECT count(*) FROM jobs WHERE state = 'queued'").integer(0, 0);
  }

  int64_t queue_position(const JobRecord& job) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return db_.exec("SELECT count(*) FROM jobs WHERE state = 'queued' AND (created_at, id) < ($1::double precision, $2::text)",
                    {Param::of(job.created_at), Param::of(job.id)})
               .integer(0, 0) +
           1;
  }

  std::map<JobState, int64_t> count_by_state() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::map<JobState, int64_t> counts = {{JobState::queued, 0}, {JobState::running, 0}, {JobState::succeeded, 0}, {JobState::failed, 0}};
    Result r = db_.exec("SELECT state, count(*) FROM jobs GROUP BY state");
    for (int i = 0; i < r.rows(); ++i) counts[job_state_from_string(r.text(i, 0))] = r.integer(i, 1);
    return counts;
  }

  bool remove(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return db_.exec("DELETE FROM jobs WHERE id = $1", {Param::of(id)}).affected() > 0;  // its files by the cascade
  }

  std::vector<std::string> remove_finished_before(double before) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Result r = db_.exec("DELETE FROM jobs WHERE state IN ('succeeded', 'failed') AND finished_at < $1 RETURNING id", {Param::of(before)});
    std::vector<std::string> ids;
    for (int i = 0; i < r.rows(); ++i) ids.push_back(r.text(i, 0));
    return ids;
  }

  std::optional<std::string> read_file(const std::string& id, const std::string& name) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    Result r = db_.exec("SELECT bytes FROM job_files WHERE job_id = $1 AND name = $2", {Param::of(id), Param::of(name)}, /*binary=*/true);
    if (r.rows() == 0) return std::nullopt;
    return r.text(0, 0);
  }

  std::optional<JobRecord> claim(const std::string& node, double now, double lease_s) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Result r = db_.exec(std::string("UPDATE jobs SET state = 'running', started_at = $2, attempts = attempts + 1, node = $1, "
                                    "lease_until = ") + kDbNow + " + $3 "
                            "WHERE id = (SELECT id FROM jobs WHERE state = 'queued' ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) "
                            "RETURNING " + kJobColumns,
                        {Param::of(node), Param::of(now), Param::of(lease_s)});
    if (r.rows() == 0) return std::nullopt;
    return rows::job_from(RowView{r, 0});
  }

  std::vector<std::string> renew(const std::string& node, const std::vector<std::string>& ids, double lease_s) override {
    if (ids.empty()) return {};
    std::string array = "{";
    for (size_t i = 0; i < ids.size(); ++i) array += (i ? "," : "") + ids[i];  // ids are hex digits
    array += "}";
    std::lock_guard<std::mutex> lock(mutex_);
    Result r = db_.exec(std::string("UPDATE jobs SET lease_until = ") + kDbNow +
                            " + $3 WHERE node = $1 AND state = 'running' AND id = ANY($2::text[]) RETURNING id",
                        {Param::of(node), Param::of(array), Param::of(lease_s)});
    std::vector<std::string> lost;
    for (const auto& id : ids) {
      bool held = false;
      for (int i = 0; i < r.rows() && !held; ++i) held = r.text(i, 0) == id;
      if (!held) lost.push_back(id);
    }
    return lost;
  }

  int64_t expire_leases(int max_attempts, double now) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Transaction t(db_);
    db_.exec(std::string("UPDATE jobs SET state = 'failed', finished_at = $1, error = $2, node = NULL "
                         "WHERE state = 'running' AND lease_until < ") + kDbNow + " AND attempts >= $3",
             {Param::of(now),
              Param::of(rows::given_up_message(max_attempts)),
              Param::of(max_attempts)});
    const int64_t back = db_.exec(std::string("UPDATE jobs SET state = 'queued', started_at = 0, node = NULL "
                                              "WHERE state = 'running' AND lease_until < ") + kDbNow)
                             .affected();
    if (back > 0) db_.exec("NOTIFY impasto_jobs");
    t.commit();
    return back;
  }

  void recover(int, double) override {}  // other processes may be running jobs: leases decide

  void update_progress(const std::string& id, const std::string& node, const Json& progress) override {
    std::lock_guard<std::mutex> lock(mutex_);
    db_.exec("UPDATE jobs SET progress = $1 WHERE id = $2 AND node = $3", {Param::of(json_text(progress)), Param::of(id), Param::of(node)});
  }

  std::string workspace(const std::string& id) override {
    const fs::path dir = fs::path(scratch_) / id;
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::create_directories(dir, ec);
    if (ec) throw StoreError("cannot create " + dir.string() + ": " + ec.message());
    std::lock_guard<std::mutex> lock(mutex_);
    Result r = db_.exec("SELECT name, bytes FROM job_files WHERE job_id = $1", {Param::of(id)}, /*binary=*/true);
    for (int i = 0; i < r.rows(); ++i) {
      const std::string name = r.text(i, 0);
      if (!safe_name(name)) throw StoreError("job " + id + " has a file with a bad name");
      const fs::path path = dir / name;
      fs::create_directories(path.parent_path(), ec);
      std::ofstream f(path, std::ios::binary | std::ios::trunc);
      const std::string bytes = r.text(i, 1);
      if (!f || !f.write(bytes.data(), static_cast<std::streamsize>(bytes.size())) || !f.flush())
        throw StoreError("cannot write " + path.string() + " (disk full?)");
    }
    return dir.string();
  }

  void release_workspace(const std::string& id) override {
    std::error_code ec;
    fs::remove_all(fs::path(scratch_) / id, ec);
  }

  bool finish(const std::string& id, const std::string& node, JobState state, double now, const std::string& error,
              const Json& summary, const std::vector<std::string>& outputs) override {
    const fs::path dir = fs::path(scratch_) / id;
    std::lock_guard<std::mutex> lock(mutex_);
    Transaction t(db_);
    // The outputs and the state in one transaction: a succeeded job always has its files.
    Result r = db_.exec("UPDATE jobs SET state = $1, finished_at = $2, error = $3, summary = $4, node = NULL "
                        "WHERE id = $5 AND node = $6 AND state = 'running' RETURNING id",
                        {Param::of(to_string(state)), Param::of(now), Param::of(error),
                         summary.is_null() ? Param{} : Param::of(json_text(summary)), Param::of(id), Param::of(node)});
    if (r.rows() == 0) return false;
    if (state == JobState::succeeded)
      for (const auto& name : outputs) {
        if (!safe_name(name)) throw StoreError("bad output name '" + name + "'");
        std::string bytes;
        try {
          bytes = read_whole_file((dir / name).string());
        } catch (const FileError& e) {
          throw StoreError(e.what());
        }
        db_.exec("INSERT INTO job_files(job_id, name, bytes) VALUES($1, $2, $3) "
                 "ON CONFLICT (job_id, name) DO UPDATE SET bytes = EXCLUDED.bytes",
                 {Param::of(id), Param::of(name), Param::blob(bytes)});
      }
    t.commit();
    return true;
  }

  void requeue(const std::string& id, const std::string& node) override {
    std::lock_guard<std::mutex> lock(mutex_);
    Transaction t(db_);
    db_.exec("UPDATE jobs SET state = 'queued', started_at = 0, node = NULL WHERE id = $1 AND node = $2 AND state = 'running'",
             {Param::of(id), Param::of(node)});
    db_.exec("NOTIFY impasto_jobs");
    t.commit();
  }

  void on_work(std::function<void()> wake) override {
    if (listener_.joinable()) return;
    wake_ = std::move(wake);
    listener_ = std::thread([this] { listen(); });
  }

  int64_t add_key(const std::string& name, const std::string& key_hash, double rate_per_minute, double now) override {
    std::lock_guard<std::mutex> lock(mutex_);
    try {
      return db_.exec("INSERT INTO api_keys(name, key_hash, rate_per_minute, created_at) VALUES($1, $2, $3, $4) RETURNING id",
                      {Param::of(name), Param::of(key_hash), Param::of(rate_per_minute), Param::of(now)})
          .integer(0, 0);
    } catch (const StoreError&) {
      if (db_.last_sqlstate() == "23505") throw OptionError("name", "an API key named '" + name + "' exists already");
      throw;
    }
  }

  std::optional<ApiKeyRecord> find_key(const std::string& key_hash) const override {
    std::lock_guard<std::mutex> lock(mutex_);
    Result r = db_.exec(std::string("SELECT ") + kKeyColumns + " FROM api_keys WHERE key_hash = $1 AND NOT revoked",
                        {Param::of(key_hash)});
    if (r.rows() == 0) return std::nullopt;
    return rows::key_from(RowView{r, 0});
  }

  std::vector<ApiKeyRecord> keys() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    Result r = db_.exec(std::string("SELECT ") + kKeyColumns + " FROM api_keys ORDER BY id");
    std::vector<ApiKeyRecord> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(rows::key_from(RowView{r, i}));
    return out;
  }

  bool revoke_key(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return db_.exec("UPDATE api_keys SET revoked = true WHERE name = $1 AND NOT revoked", {Param::of(name)}).affected() > 0;
  }

  int64_t active_key_count() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return db_.exec("SELECT count(*) FROM api_keys WHERE NOT revoked").integer(0, 0);
  }

  // The bucket is a row, locked while a token is taken: the limit holds however many processes serve.
  double take_token(int64_t key_id, double rate_per_minute) override {
    if (!(rate_per_minute > 0)) return 0;
    std::lock_guard<std::mutex> lock(mutex_);
    Transaction t(db_);
    const bool fresh = db_.exec("INSERT INTO rate_buckets(key_id, tokens, updated) VALUES($1, 0, 0) ON CONFLICT DO NOTHING",
                                {Param::of(key_id)})
                           .affected() > 0;
    Result r = db_.exec(std::string("SELECT tokens, updated, ") + kDbNow + " FROM rate_buckets WHERE key_id = $1 FOR UPDATE",
                        {Param::of(key_id)});
    double tokens = r.real(0, 0);
    const double now = r.real(0, 2);
    const double wait = take_from_bucket(tokens, fresh, now - r.real(0, 1), rate_per_minute);
    db_.exec("UPDATE rate_buckets SET tokens = $2, updated = $3 WHERE key_id = $1", {Param::of(key_id), Param::of(tokens), Param::of(now)});
    t.commit();
    return wait;
  }

 private:
  // The listening connection: wakes the workers on every notification, and once after each
  // (re)connection for anything queued while it was away.
  void listen() {
    PGconn* c = nullptr;
    while (!stop_) {
      if (!c || PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        c = PQconnectdb(with_timeout(uri_).c_str());
        if (PQstatus(c) == CONNECTION_OK) {
          PQsetNoticeProcessor(c, ignore_notice, nullptr);
          PQclear(PQexec(c, "LISTEN impasto_jobs"));
          wake_();
        } else {
          for (int i = 0; i < 10 && !stop_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
          continue;
        }
      }
      pollfd p{PQsocket(c), POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      if (!PQconsumeInput(c)) continue;  // the connection broke: the loop reconnects
      bool any = false;
      while (PGnotify* n = PQnotifies(c)) {
        PQfreemem(n);
        any = true;
      }
      if (any) wake_();
    }
    PQfinish(c);
  }

  std::string uri_;
  std::string scratch_;
  mutable Connection db_;
  mutable std::mutex mutex_;
  std::function<void()> wake_;
  std::atomic<bool> stop_{false};
  std::thread listener_;
};

}  // namespace

std::unique_ptr<JobStore> open_postgres_store(const std::string& uri, const std::string& scratch_dir) {
  return std::make_unique<PostgresJobStore>(uri, scratch_dir);
}

}  // namespace impasto::server
