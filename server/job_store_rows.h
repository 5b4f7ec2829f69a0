#pragma once
// What the two job stores (job_store_sqlite.cpp, job_store_postgres.cpp) share: the columns of a job
// and of a key, how a row becomes a record, and the message of a job given up after its attempts.
// A Row has text(col), real(col), integer(col) and null(col).
#include <string>

#include "job_store.h"

namespace impasto::server::rows {

constexpr const char* kJobColumns =
    "id, key_id, state, method, request, created_at, started_at, finished_at, attempts, progress, error, summary, node";
constexpr const char* kKeyColumns = "id, name, rate_per_minute, created_at, revoked";

inline Json parse_or_null(const std::string& text) {
  if (text.empty()) return Json();
  return Json::parse(text, nullptr, /*allow_exceptions=*/false);
}

template <class Row>
JobRecord job_from(const Row& r) {
  JobRecord j;
  j.id = r.text(0);
  if (!r.null(1)) j.key_id = r.integer(1);
  j.state = job_state_from_string(r.text(2));
  j.method = r.text(3);
  j.request = parse_or_null(r.text(4));
  j.created_at = r.real(5);
  j.started_at = r.real(6);
  j.finished_at = r.real(7);
  j.attempts = static_cast<int>(r.integer(8));
  j.progress = r.null(9) ? Json() : parse_or_null(r.text(9));
  j.error = r.text(10);
  j.summary = r.null(11) ? Json() : parse_or_null(r.text(11));
  j.node = r.text(12);
  return j;
}

// `revoked` is read by integer(): 0/1 in SQLite; PostgreSQL's row view maps its booleans.
template <class Row>
ApiKeyRecord key_from(const Row& r) {
  ApiKeyRecord k;
  k.id = r.integer(0);
  k.name = r.text(1);
  k.rate_per_minute = r.real(2);
  k.created_at = r.real(3);
  k.revoked = r.integer(4) != 0;
  return k;
}

inline std::string given_up_message(int max_attempts) {
  return "the job was interrupted " + std::to_string(max_attempts) +
         " times (the server running it stopped or stopped answering); not retried";
}

}  // namespace impasto::server::rows
