#include "job_store.h"

#include <algorithm>
#include <filesystem>

namespace impasto::server {

namespace fs = std::filesystem;

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

std::unique_ptr<JobStore> open_job_store(const std::string& spec, const std::string& data_dir) {
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) throw FileError(data_dir, "cannot create the data folder: " + ec.message());
  if (spec.empty()) return open_sqlite_store((fs::path(data_dir) / "jobs.sqlite3").string(), (fs::path(data_dir) / "jobs").string());
  if (spec.rfind("sqlite:", 0) == 0 && spec.size() > 7) return open_sqlite_store(spec.substr(7), (fs::path(data_dir) / "jobs").string());
  if (spec.rfind("postgresql://", 0) == 0 || spec.rfind("postgres://", 0) == 0)
    return open_postgres_store(spec, (fs::path(data_dir) / "work").string());
  throw OptionError("store", "expected sqlite:PATH or postgresql://[user[:password]@]host[:port]/database, got '" +
                                 redact_uri(spec).substr(0, 200) + "'");
}

std::string redact_uri(const std::string& uri) {
  const auto scheme = uri.find("://");
  const auto at = uri.find('@', scheme == std::string::npos ? 0 : scheme + 3);
  if (scheme == std::string::npos || at == std::string::npos) return uri;
  const auto colon = uri.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return uri;
  return uri.substr(0, colon) + ":***" + uri.substr(at);
}

std::vector<std::string> job_outputs(const std::string& workspace) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(workspace, ec))
    if (f.is_regular_file() && f.path().filename().string().rfind("result", 0) == 0 && f.path().extension() != ".tmp") names.push_back(f.path().filename().string());
  const fs::path report = fs::path(workspace) / "report";
  if (fs::is_directory(report, ec))
    for (const auto& f : fs::recursive_directory_iterator(report, ec))
      if (f.is_regular_file()) names.push_back(fs::relative(f.path(), workspace).generic_string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace impasto::server
