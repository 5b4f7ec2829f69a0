#include "model_catalog.h"

#include <filesystem>

#include "impasto/core/error.h"
#include "impasto/core/text.h"
#include "impasto/style/method.h"

namespace impasto::server {

namespace fs = std::filesystem;

ModelCatalog::ModelCatalog(std::string dir, Callbacks log) : dir_(std::move(dir)), log_(std::move(log)) {
  if (!dir_.empty() && !fs::is_directory(dir_)) throw FileError(dir_, "models folder does not exist");
  std::lock_guard<std::mutex> lock(mutex_);
  refresh_locked();
}

void ModelCatalog::refresh_locked() {
  if (dir_.empty()) return;
  std::map<std::string, Entry> next;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(dir_, ec)) {
    const std::string ext = f.path().extension().string();
    if (!f.is_regular_file() || (ext != ".pth" && ext != ".ckpt")) continue;
    const std::string name = f.path().stem().string();
    const int64_t mtime = f.last_write_time().time_since_epoch().count();
    auto old = entries_.find(name);
    if (old != entries_.end() && old->second.mtime == mtime && old->second.info.file == f.path().filename().string()) {
      next[name] = old->second;
      continue;
    }
    Entry e;
    e.info.name = name;
    e.info.file = f.path().filename().string();
    e.info.bytes = static_cast<int64_t>(f.file_size());
    e.mtime = mtime;
    std::vector<std::string> refusals;
    for (const auto& method : method_registry().methods()) {
      if (!method->description().options.find_role(OptionRole::model)) continue;
      try {
        e.info.kind = method->model_kind(f.path().string());
        e.info.method = method->name();
        break;
      } catch (const Error& err) {
        refusals.push_back(err.what());
      }
    }
    if (e.info.method.empty()) {
      log_.warn("models: skipping " + e.info.file + ": " + (refusals.empty() ? "no method takes model files" : join(refusals, "; ")));
      continue;
    }
    next[name] = std::move(e);
  }
  entries_ = std::move(next);
}

std::vector<ModelInfo> ModelCatalog::list() {
  std::lock_guard<std::mutex> lock(mutex_);
  refresh_locked();
  std::vector<ModelInfo> out;
  for (const auto& [name, e] : entries_) out.push_back(e.info);
  return out;
}

ModelCatalog::Entry& ModelCatalog::find_locked(const std::string& name) {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    refresh_locked();
    it = entries_.find(name);
  }
  if (it == entries_.end()) {
    std::string valid;
    for (const auto& [n, e] : entries_) valid += (valid.empty() ? "" : ", ") + n;
    throw OptionError("model", "unknown model '" + name + "'; valid: " + (valid.empty() ? "(none on this server)" : valid));
  }
  return it->second;
}

std::string ModelCatalog::path(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  return (fs::path(dir_) / find_locked(name).info.file).string();
}

}  // namespace impasto::server
