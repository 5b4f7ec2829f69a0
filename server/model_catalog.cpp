#include "model_catalog.h"

#include <filesystem>

#include "impasto/core/error.h"
#include "impasto/core/text.h"
#include "impasto/io/builtin_models.h"
#include "impasto/nn/gan_model.h"
#include "impasto/style/method.h"

namespace impasto::server {

namespace fs = std::filesystem;

ModelCatalog::ModelCatalog(std::string dir, Callbacks log) : dir_(std::move(dir)), log_(std::move(log)) {
  if (!dir_.empty() && !fs::is_directory(dir_)) throw FileError(dir_, "models folder does not exist");
  std::lock_guard<std::mutex> lock(mutex_);
  refresh_locked();
}

namespace {

bool is_model_file(const fs::path& path) {
  const std::string ext = path.extension().string();
  return ext == ".pth" || ext == ".ckpt";
}

// `builtin-<folder>` for models/<folder>/<file>, `builtin-<stem>` for models/<file> (folders nested
// deeper are joined with '-').
std::string builtin_name(const fs::path& relative) {
  std::string name;
  const fs::path parent = relative.parent_path();
  for (const auto& part : parent.empty() ? fs::path(relative.stem()) : parent)
    name += (name.empty() ? "" : "-") + part.string();
  return "builtin-" + name;
}

// A folder `impasto train gan` wrote, or one holding the generator it exports.
bool is_gan_run(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "checkpoints" / "latest.ckpt", ec) || fs::is_regular_file(dir / "generator.ckpt", ec);
}

}  // namespace

void ModelCatalog::add_locked(std::map<std::string, Entry>& next, const std::string& name, const std::string& path,
                              bool builtin) {
  std::error_code ec;
  // A run folder's version is its checkpoint's (a run still training replaces it).
  std::string version_of = path;
  if (fs::is_directory(path)) {
    try {
      version_of = gan_checkpoint_file(path);
    } catch (const Error&) {
      return;  // a folder without a checkpoint (yet)
    }
  }
  const int64_t mtime = fs::last_write_time(version_of, ec).time_since_epoch().count();
  if (ec) return;
  auto old = entries_.find(name);
  if (old != entries_.end() && old->second.mtime == mtime && old->second.path == path) {
    next[name] = old->second;
    return;
  }
  Entry e;
  e.info.name = name;
  e.info.file = fs::path(path).filename().string();
  e.info.bytes = static_cast<int64_t>(fs::file_size(path, ec));
  e.info.builtin = builtin;
  e.path = path;
  e.mtime = mtime;
  std::vector<std::string> refusals;
  const bool run_folder = fs::is_directory(path);  // only a GAN run comes as a folder
  for (const auto& method : method_registry().methods()) {
    if (run_folder || !method->description().options.find_role(OptionRole::model)) continue;
    try {
      e.info.kind = method->model_kind(path);
      e.info.method = method->name();
      break;
    } catch (const Error& err) {
      refusals.push_back(err.what());
    }
  }
  if (e.info.method.empty()) {
    try {  // a GAN run folder or checkpoint: a style source
      const GanModel gan = load_gan_model(path);
      if (gan.nets.arch == "mlp") throw FormatError(path, "this GAN makes points, not pictures");
      e.info.kind = "gan_generator";
      e.info.file = fs::path(gan.source).filename().string();
      e.info.bytes = static_cast<int64_t>(fs::file_size(gan.source, ec));
      e.info.image_size = gan.nets.size;
      e.info.step = gan.step;
      e.info.categories = gan.nets.categories;
    } catch (const Error& err) {
      refusals.push_back(err.what());
    }
  }
  if (e.info.kind.empty()) {
    log_.warn("models: skipping " + path + ": " + (refusals.empty() ? "no method takes model files" : join(refusals, "; ")));
    return;
  }
  next[name] = std::move(e);
}

void ModelCatalog::refresh_locked() {
  std::map<std::string, Entry> next;
  std::error_code ec;
  if (!dir_.empty())
    for (const auto& f : fs::directory_iterator(dir_, ec)) {
      if (f.is_regular_file() && is_model_file(f.path())) add_locked(next, f.path().stem().string(), f.path().string(), false);
      else if (f.is_directory() && is_gan_run(f.path())) add_locked(next, f.path().filename().string(), f.path().string(), false);
    }
  // The built-in models: the first folder holding a name wins, as in find_builtin_model.
  for (const std::string& dir : builtin_model_dirs()) {
    if (!fs::is_directory(dir, ec)) continue;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file() || !is_model_file(it->path())) continue;
      const std::string name = builtin_name(fs::relative(it->path(), dir));
      if (!next.count(name)) add_locked(next, name, it->path().string(), true);
    }
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

ModelCatalog::Entry& ModelCatalog::find_locked(const std::string& name, bool gan, const std::string& field) {
  const auto fits = [&](std::map<std::string, Entry>::iterator it) { return it != entries_.end() && it->second.info.paints_styles() == gan; };
  auto it = entries_.find(name);
  if (!fits(it)) {
    refresh_locked();
    it = entries_.find(name);
  }
  if (!fits(it)) {
    std::string valid;
    for (const auto& [n, e] : entries_)
      if (e.info.paints_styles() == gan) valid += (valid.empty() ? "" : ", ") + n;
    const std::string what = gan ? "GAN" : "model";
    std::string message = "unknown " + what + " '" + excerpt(name) + "'";
    if (it != entries_.end())
      message = gan ? "'" + name + "' is a model a method runs, not a GAN that paints styles"
                    : "'" + name + "' is a GAN that paints style images: send it as style_gan, not as a model";
    throw OptionError(field, message + "; valid: " + (valid.empty() ? "(none on this server)" : valid));
  }
  return it->second;
}

std::string ModelCatalog::path(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  return find_locked(name, /*gan=*/false, "model").path;
}

std::string ModelCatalog::gan_path(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  return find_locked(name, /*gan=*/true, "style_gan").path;
}

std::string ModelCatalog::default_for(const std::string& method) {
  std::lock_guard<std::mutex> lock(mutex_);
  refresh_locked();
  for (const auto& [name, e] : entries_)
    if (e.info.builtin && e.info.method == method) return name;
  return "";
}

}  // namespace impasto::server
