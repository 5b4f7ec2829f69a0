#include "service.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <unistd.h>

#include "impasto/explain/explain.h"
#include "impasto/io/image.h"
#include "impasto/io/image_ops.h"
#include "impasto/core/runtime.h"
#include "impasto/nn/backbone.h"
#include "impasto/core/text.h"
#include "impasto/style/gan_styles.h"
#include "impasto/style/job.h"
#include "impasto/style/method.h"
#include "impasto/style/video.h"

namespace impasto::server {

namespace fs = std::filesystem;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

namespace {

// 128 bits from the OS, as 32 hex digits: unguessable, so a job id works as a capability.
std::string new_job_id() {
  std::random_device random;  // /dev/urandom on Linux
  static const char* digits = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 4; ++i) {
    uint32_t word = random();
    for (int k = 0; k < 8; ++k, word >>= 4) id += digits[word & 15];
  }
  return id;
}

bool valid_job_id(const std::string& id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

std::string extension_for(const std::string& format) { return format == "jpeg" ? "jpg" : format; }

std::string content_type_for(const std::string& path) {
  const std::string ext = fs::path(path).extension().string();
  if (ext == ".png") return "image/png";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".webp") return "image/webp";
  if (ext == ".bmp") return "image/bmp";
  if (ext == ".tif" || ext == ".tiff") return "image/tiff";
  if (ext == ".mp4") return "video/mp4";
  if (ext == ".webm") return "video/webm";
  if (ext == ".mkv") return "video/x-matroska";
  if (ext == ".avi") return "video/x-msvideo";
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".jsonl") return "application/x-ndjson";
  if (ext == ".csv") return "text/csv";
  return "application/octet-stream";
}

// This process as a holder of leases: readable in logs, unique across machines and restarts.
std::string new_node_name() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0 || !host[0]) std::snprintf(host, sizeof host, "host");
  std::random_device random;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%04x", static_cast<unsigned>(random() & 0xffff));
  return std::string(host) + ":" + std::to_string(getpid()) + ":" + suffix;
}

ServiceError not_found(const std::string& id) {
  return ServiceError(404, "not_found", "no job '" + id + "' (unknown, deleted or expired)");
}

Json progress_json(const ProgressEvent& e) {
  Json metrics = Json::object();
  for (const auto& [name, value] : e.metrics) metrics[name] = value;
  Json j{{"stage", e.stage}, {"step", e.step}, {"total", e.total}, {"elapsed_s", e.elapsed_s}, {"metrics", metrics}};
  j["fraction"] = e.total > 0 ? static_cast<double>(e.step) / e.total : 0.0;
  j["eta_s"] = e.step > 0 && e.total > 0 ? Json(e.elapsed_s / e.step * (e.total - e.step)) : Json();
  return j;
}

}  // namespace

Service::Service(ServerOptions options, Callbacks log) : Service(options, std::move(log), open_job_store(options.store, options.data_dir)) {}

Service::Service(ServerOptions options, Callbacks log, std::unique_ptr<JobStore> store)
    : options_(std::move(options)),
      log_(std::move(log)),
      store_(std::move(store)),
      node_(new_node_name()),
      catalog_(options_.models_dir, log_) {
  if (options_.workers < 1) throw OptionError("workers", "must be >= 1");
  if (options_.queue_capacity < 1) throw OptionError("queue_capacity", "must be >= 1");
  if (options_.sync_concurrency < 1) throw OptionError("sync_concurrency", "must be >= 1");
  if (!(options_.ttl_s > 0)) throw OptionError("ttl", "must be > 0 seconds");
  if (!(options_.job_time_limit_s > 0)) throw OptionError("job_time_limit", "must be > 0 seconds");
  if (!(options_.lease_s >= 0.3)) throw OptionError("lease", "must be >= 0.3 seconds");
  for (const auto& [name, path] : options_.backbone_weights)
    if (!fs::is_regular_file(path)) throw FileError(path, "weights of backbone " + name + " not found");

  store_->recover(options_.max_attempts, unix_now());
  if (const int64_t queued = store_->queued(); queued > 0)
    log_.info("resuming " + std::to_string(queued) + " queued job(s) from " + store_->describe());
  // Another process queued work (shared stores): wake an idle worker.
  store_->on_work([this] {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++work_signals_;
    }
    wake_.notify_all();
  });

  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { worker_loop(); });
  housekeeper_ = std::thread([this] { housekeeping_loop(); });
}

Service::~Service() { shutdown(); }

void Service::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  sweep_wake_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  if (housekeeper_.joinable()) housekeeper_.join();
}

bool Service::keys_required() const { return store_->active_key_count() > 0; }

Caller Service::authenticate(const std::string& api_key) const {
  Caller caller;
  if (!keys_required()) return caller;
  if (api_key.empty()) throw ServiceError(401, "unauthorized", "this service needs an API key (header X-API-Key or Authorization: Bearer)");
  const auto key = store_->find_key(sha256_hex(api_key));
  if (!key) throw ServiceError(401, "unauthorized", "unknown or revoked API key");
  caller.key_id = key->id;
  caller.key_name = key->name;
  caller.rate_per_minute = key->rate_per_minute;
  return caller;
}

void Service::check_rate(const Caller& caller) {
  if (!caller.key_id) return;
  const double wait = store_->take_token(*caller.key_id, caller.rate_per_minute);
  if (wait > 0) {
    metrics_.count_rejection("rate_limited");
    throw ServiceError(429, "rate_limited", "API key '" + caller.key_name + "' is over its limit of " +
                                                std::to_string(static_cast<int>(caller.rate_per_minute)) + " requests per minute",
                       wait);
  }
}

std::string Service::model_for(const std::string& method, const std::string& named) {
  if (!named.empty() || !method_registry().get(method).description().options.find_role(OptionRole::model)) return named;
  const std::string builtin = catalog_.default_for(method);
  if (builtin.empty())
    throw OptionError("model", "method " + method + " needs the name of a model (GET /v1/models lists them), and this server has no built-in one");
  return builtin;
}

// The method's options as the library runs them, by the options' roles: the model's file for a
// model option (the method's built-in model when none is named), the operator's weight file for the
// chosen backbone.
Json Service::run_options(const std::string& method, const Json& options, const std::string& model) {
  const OptionSchema& schema = method_registry().get(method).description().options;
  Json o = options;
  if (const OptionSpec* spec = schema.find_role(OptionRole::model)) o[spec->name] = catalog_.path(model_for(method, model));
  const OptionSpec* backbone_spec = schema.find_role(OptionRole::backbone);
  const OptionSpec* weights_spec = schema.find_role(OptionRole::backbone_weights);
  if (backbone_spec && weights_spec) {
    const std::string backbone = method_registry().get(method).backbone(o);
    auto it = options_.backbone_weights.find(backbone);
    if (it != options_.backbone_weights.end()) {
      o[weights_spec->name] = it->second;
    } else if (!backbone_registry().contains(backbone) || backbone_info(backbone).needs_weights) {
      std::vector<std::string> valid;
      for (const auto& name : backbone_registry().names())
        if (!backbone_info(name).needs_weights) valid.push_back(name);
      for (const auto& [name, path] : options_.backbone_weights) valid.push_back(name);
      throw OptionError(backbone_spec->name, "backbone '" + backbone + "' is not offered by this server; valid: " + join(valid));
    }
  }
  return o;
}

// A method's effective options without what only the operator should see (file paths, devices,
// tiling: the options clients cannot set); a model is named as the catalogue names it.
Json Service::public_options(const std::string& method, Json options, const std::string& model) const {
  for (const OptionSpec& spec : method_registry().get(method).description().options.options()) {
    if (spec.role == OptionRole::model) {
      if (model.empty()) options.erase(spec.name);
      else options[spec.name] = model;
    } else if (!spec.in_service) {
      options.erase(spec.name);
    }
  }
  return options;
}

// What of a stylization's summary a client sees: numbers and options, no server paths.
Json Service::public_summary(const std::string& method, const Json& summary, const std::string& model) const {
  Json out = Json::object();
  for (const char* key : {"method", "network", "width", "height", "seconds", "stopped_early", "final", "tiles", "device",
                          "frames", "fps", "frames_per_second", "warping_error", "scene_cuts", "consistency"})
    if (summary.contains(key)) out[key] = summary[key];
  if (summary.contains("options")) out["options"] = public_options(method, summary["options"], model);
  return out;
}

// The explanation report of a finished job (explain/explain.h, quick mode: losses, attribution with
// its deletion test, Gram matrices; for networks their blocks), in <job>/report, showing the method
// options as the public summary does.
void Service::write_job_report(const std::string& dir, const std::string& method, const std::string& model,
                               const Callbacks& callbacks) const {
  const std::string out = dir + "/report";
  std::error_code ec;
  fs::remove_all(out, ec);  // a retried job's older report
  explain::ExplainOptions options = explain::ExplainOptions::quick();
  options.shown_options = [this, method, model](const Json& o) { return public_options(method, o, model); };
  explain::explain_stylize_job(dir + "/result.json", options, out, callbacks);
}

Json Service::submit(const JobRequest& request, const Caller& caller) {
  // The job records the model it runs, so a built-in one is named in its status and report.
  const std::string model = model_for(request.method, request.model);
  // Every option value is checked by the method itself before anything is stored, without loading
  // any network (the workers load each once, through the cache).
  method_registry().get(request.method).check(run_options(request.method, request.options, model));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) throw ServiceError(503, "shutting_down", "the service is shutting down");
  }
  const auto queue_full = [this](int64_t waiting) {
    metrics_.count_rejection("queue_full");
    double mean_s;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      mean_s = mean_job_s_;
    }
    const double wait = std::clamp(mean_s * (waiting + 1) / options_.workers, 1.0, 3600.0);
    return ServiceError(429, "queue_full", "the job queue is full (" + std::to_string(waiting) + " jobs waiting); try again later", wait);
  };
  // A look before the files are stored, so refusing costs next to nothing; the store decides.
  if (const int64_t waiting = store_->queued(); waiting >= options_.queue_capacity) throw queue_full(waiting);

  const PaintedStyles painted = paint_styles(request.gan_styles);
  const std::vector<const UploadedImage*> style_images = painted.after(request.styles);

  JobRecord job;
  job.id = new_job_id();
  job.key_id = caller.key_id;
  job.method = request.method;
  job.created_at = unix_now();
  std::vector<JobFile> files;
  const std::string content_file = "content." + extension_for(request.content.format);
  files.push_back(JobFile{content_file, &request.content.bytes});
  Json styles = Json::array();
  for (size_t i = 0; i < style_images.size(); ++i) {
    const std::string name = "style-" + std::to_string(i + 1) + "." + extension_for(style_images[i]->format);
    files.push_back(JobFile{name, &style_images[i]->bytes});
    styles.push_back(name);
  }
  Json masks = Json::array();  // "" = no mask for that style
  for (size_t i = 0; i < request.masks.size(); ++i) {
    const UploadedImage& m = request.masks[i];
    std::string name;
    if (!m.bytes.empty()) {
      name = "mask-" + std::to_string(i + 1) + "." + extension_for(m.format);
      files.push_back(JobFile{name, &m.bytes});
    }
    masks.push_back(name);
  }
  job.request = Json{{"options", request.options},  {"model", model},           {"format", request.format},
                     {"content", content_file},      {"styles", styles},        {"style_blend_weights", request.style_blend_weights},
                     {"masks", masks}};
  if (!painted.record.is_null()) job.request["style_gan"] = painted.record;
  if (caller.key_id) job.request["access"] = new_job_id();  // the token of its file URLs (see job())
  if (request.content_video) {
    const VideoInfo& v = *request.content_video;
    job.request["video"] = Json{{"frames", v.frames}, {"fps", v.fps()}, {"duration_s", v.duration_s}};
    job.request["content_size"] = {v.width, v.height};
  } else {
    job.request["content_size"] = {request.content.image.width(), request.content.image.height()};
  }
  if (!store_->enqueue(job, files, options_.queue_capacity)) throw queue_full(options_.queue_capacity);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++work_signals_;
  }
  wake_.notify_one();
  log_.info("job " + job.id + " queued: " + job.method + (model.empty() ? "" : " " + model) + ", content " +
            (request.content_video ? "video " + std::to_string(request.content_video->width) + "x" +
                                         std::to_string(request.content_video->height) + ", " +
                                         std::to_string(request.content_video->frames) + " frames"
                                   : std::to_string(request.content.image.width()) + "x" + std::to_string(request.content.image.height())) + ", " +
            std::to_string(request.styles.size()) + " style image(s)" +
            (painted.images.empty() ? "" : " + " + std::to_string(painted.images.size()) + " painted by GAN " + request.gan_styles.gan));
  return job_json(job);
}

Json Service::job_json(const JobRecord& r) const {
  const std::string base = "/v1/jobs/" + r.id;
  // A key's job: its files under the access token (loadable without headers, known only to the key).
  const std::string files = r.key_id ? base + "/files/" + r.request.value("access", std::string()) : base;
  Json j{{"id", r.id}, {"state", to_string(r.state)}, {"method", r.method}, {"created_at", r.created_at},
         {"url", base}};
  if (!r.request.value("model", std::string()).empty()) j["model"] = r.request["model"];
  j["options"] = r.request.value("options", Json::object());
  j["format"] = r.request.value("format", std::string("png"));
  if (r.started_at > 0) j["started_at"] = r.started_at;
  if (r.finished_at > 0) {
    j["finished_at"] = r.finished_at;
    j["expires_at"] = r.finished_at + options_.ttl_s;
  }
  j["content_url"] = files + "/content";
  Json style_urls = Json::array();
  for (size_t i = 1; i <= r.request.value("styles", Json::array()).size(); ++i) style_urls.push_back(files + "/style-" + std::to_string(i));
  j["style_urls"] = style_urls;
  if (r.request.contains("style_gan")) j["style_gan"] = r.request["style_gan"];
  if (r.request.contains("video")) j["video"] = r.request["video"];
  if (r.state == JobState::queued) j["queue_position"] = store_->queue_position(r);
  j["attempts"] = r.attempts;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto running = running_.find(r.id);
    if (running != running_.end() && !running->second->progress.is_null()) j["progress"] = running->second->progress;
  }
  if (!j.contains("progress") && !r.progress.is_null()) j["progress"] = r.progress;
  if (r.state == JobState::failed) j["error"] = r.error;
  if (r.state == JobState::succeeded) {
    j["result_url"] = files + "/result";
    if (!r.request.contains("video")) j["report_url"] = files + "/report/";
    j["summary"] = r.summary;
  }
  return j;
}

JobRecord Service::readable(const std::string& id, const Caller& caller, const std::string& access) const {
  if (!valid_job_id(id)) throw not_found(id);
  auto r = store_->get(id);
  if (!r) throw not_found(id);
  if (r->key_id) {
    const bool owner = caller.key_id && *caller.key_id == *r->key_id;
    const std::string token = r->request.value("access", std::string());
    bool by_token = !access.empty() && access.size() == token.size();
    if (by_token) {  // compared in constant time
      unsigned char diff = 0;
      for (size_t i = 0; i < token.size(); ++i) diff |= static_cast<unsigned char>(token[i] ^ access[i]);
      by_token = diff == 0;
    }
    if (!owner && !by_token) throw not_found(id);  // as if unknown: other keys cannot even learn it exists
  }
  return std::move(*r);
}

Json Service::job(const std::string& id, const Caller& caller) const { return job_json(readable(id, caller, "")); }

std::vector<Json> Service::jobs(const Caller& caller, int limit) const {
  if (!caller.key_id)
    throw ServiceError(403, "forbidden", "listing jobs needs an API key (without keys, jobs are known only to whoever created them)");
  std::vector<Json> out;
  for (const auto& r : store_->list(caller.key_id, limit)) out.push_back(job_json(r));
  return out;
}

void Service::remove(const std::string& id, const Caller& caller) {
  // Its files go with it; a worker running it (here, or on another node at its next lease renewal)
  // stops at its next step.
  readable(id, caller, "");
  if (!store_->remove(id)) throw not_found(id);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = running_.find(id);
    if (it != running_.end()) it->second->cancelled = true;
  }
  log_.info("job " + id + " deleted");
}

Service::File Service::job_file(const std::string& id, const std::string& name, const Caller& caller, const std::string& access) const {
  const JobRecord r = readable(id, caller, access);
  std::string file;  // the name in the job's files
  if (name == "result") {
    if (r.state != JobState::succeeded)
      throw ServiceError(409, "not_ready", "job " + id + " is " + to_string(r.state) + (r.state == JobState::failed ? ": " + r.error : "; no result yet"));
    file = "result." + extension_for(r.request.value("format", std::string("png")));
  } else if (name == "content") {
    file = r.request.value("content", std::string());
  } else if (name.rfind("style-", 0) == 0 || name.rfind("mask-", 0) == 0) {
    for (const char* kind : {"styles", "masks"})
      for (const auto& s : r.request.value(kind, Json::array()))
        if (!s.get<std::string>().empty() && fs::path(s.get<std::string>()).stem() == name) file = s.get<std::string>();
  } else if (name.rfind("report/", 0) == 0) {
    if (r.state != JobState::succeeded) throw ServiceError(409, "not_ready", "job " + id + " has no report until it succeeds");
    // report.html, or one file of its figures/ or inputs/ folder: plain names only.
    std::string leaf = name.substr(7);
    if (leaf.empty()) leaf = "report.html";
    std::string folder;
    for (const char* sub : {"figures/", "inputs/"})
      if (leaf.rfind(sub, 0) == 0) folder = sub;
    leaf = leaf.substr(folder.size());
    const bool safe = !leaf.empty() && leaf[0] != '.' &&
                      std::all_of(leaf.begin(), leaf.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'; });
    if (safe) file = "report/" + folder + leaf;
  }
  std::optional<std::string> bytes;
  if (!file.empty()) bytes = store_->read_file(id, file);
  if (!bytes) throw ServiceError(404, "not_found", "job " + id + " has no file '" + name + "'");
  return File{std::move(*bytes), content_type_for(file), file};
}

void Service::worker_loop() {
  // Idle workers look again at least this often: a job taken back from a dead node elsewhere is
  // announced by NOTIFY, and this is the fallback.
  const auto poll = std::chrono::duration<double>(store_->shared() ? std::min(2.0, options_.lease_s / 3) : 5.0);
  for (;;) {
    uint64_t seen;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;  // queued jobs stay queued in the database
      seen = work_signals_;
    }
    std::optional<JobRecord> job;
    try {
      job = store_->claim(node_, unix_now(), options_.lease_s);
    } catch (const Error& e) {
      log_.warn(std::string("cannot take a job: ") + e.what());
    }
    if (job) {
      run_job(*job);
      continue;
    }
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait_for(lock, poll, [&] { return stopping_ || work_signals_ != seen; });
  }
}

void Service::run_job(const JobRecord& record) {
  const std::string id = record.id;
  const double started = record.started_at;
  metrics_.observe_wait(std::max(0.0, started - record.created_at));
  auto running = std::make_shared<Running>();
  running->deadline = started + options_.job_time_limit_s;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_[id] = running;
  }
  const Json& req = record.request;
  const std::string model = req.value("model", std::string());
  log_.info("job " + id + " started (attempt " + std::to_string(record.attempts) + ")");

  std::string outcome = "failed";
  std::string error;
  Json summary;
  bool requeue = false;
  std::string dir;
  try {
    dir = store_->workspace(id);  // the job's inputs on this machine
    StylizeJob job;
    job.method = record.method;
    job.options = run_options(record.method, req.value("options", Json::object()), model);
    job.content = dir + "/" + req.value("content", std::string());
    for (const auto& s : req.value("styles", Json::array())) job.styles.push_back(dir + "/" + s.get<std::string>());
    for (const auto& m : req.value("masks", Json::array()))
      job.masks.push_back(m.get<std::string>().empty() ? "" : dir + "/" + m.get<std::string>());
    job.style_blend_weights = req.value("style_blend_weights", std::vector<double>{});
    job.output = dir + "/result." + extension_for(req.value("format", std::string("png")));
    job.max_pixels = options_.max_pixels;
    job.cache = &cache_;
    Callbacks cb;
    cb.log = [this, id](LogLevel level, const std::string& message) { log_.emit(level, "job " + id + ": " + message); };
    cb.progress = [this, id, running](const ProgressEvent& e) {
      Json p = progress_json(e);
      const double now = unix_now();
      bool save = false;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        running->progress = p;
        if (now - running->last_saved > 1.0) {
          running->last_saved = now;
          save = true;
        }
      }
      if (!save) return;
      try {
        store_->update_progress(id, node_, p);
      } catch (const Error& e) {  // progress is shown from memory here; the job goes on
        log_.warn("job " + id + ": progress not saved: " + e.what());
      }
    };
    cb.should_stop = [this, running] {
      if (running->cancelled) return true;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) return true;
      }
      return unix_now() > running->deadline;
    };
    StylizeJobResult result;
    if (req.contains("video")) {
      // Every frame of the clip with one session; the result is a video (its summary carries the
      // warping error), and the report is left out (explain/ works on images).
      VideoStylizeJob video;
      video.frame = job;
      video.limits.max_pixels = options_.max_video_pixels;
      video.limits.max_frames = options_.max_video_frames;
      video.limits.max_seconds = options_.max_video_seconds;
      const VideoStylizeResult v = run_stylize_video(video, cb);
      result.summary = v.summary;
      result.width = v.width;
      result.height = v.height;
      result.seconds = v.seconds;
      result.stopped_early = v.stopped_early;
      result.detail = std::to_string(v.frames) + " frames done";
    } else {
      result = run_stylize_job(job, cb);
    }
    bool stopping;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping = stopping_;
    }
    if (result.stopped_early) {
      if (running->cancelled) {
        outcome = "deleted";
      } else if (stopping) {
        requeue = true;
      } else {
        error = "time limit of " + std::to_string(static_cast<int>(options_.job_time_limit_s)) + " s reached" +
                (result.steps > 0 ? " at step " + std::to_string(result.steps) : std::string()) + ": " + result.detail;
        if (req.contains("video")) error = "time limit of " + std::to_string(static_cast<int>(options_.job_time_limit_s)) +
                                           " s reached after " + result.detail + "; send a shorter clip or a smaller size";
      }
    } else {
      outcome = "succeeded";
      summary = public_summary(record.method, result.summary, model);
      if (options_.reports && !req.contains("video")) {
        // Its report, under the same deadline (sections past it are listed as skipped). A job whose
        // report fails still succeeds: the result is what was asked for. The progress shown while
        // it is written is the report's; the progress kept is the stylization's last step.
        Json stylized;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          stylized = running->progress;
        }
        try {
          write_job_report(dir, record.method, model, cb);
          summary["report"] = true;
        } catch (const Error& e) {
          summary["report"] = false;
          log_.warn("job " + id + ": report not written: " + e.what());
        }
        std::lock_guard<std::mutex> lock(mutex_);
        running->progress = stylized;
      }
    }
  } catch (const Error& e) {
    error = e.what();
  } catch (const std::exception& e) {
    error = std::string("internal error: ") + e.what();
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_.erase(id);
  }
  const double finished = unix_now();
  const auto let_go = [&] {
    if (!dir.empty()) store_->release_workspace(id);
  };
  if (running->lost) {  // taken back after its lease ran out: another worker may be running it
    log_.warn("job " + id + ": this node lost its lease (not renewed for " + std::to_string(options_.lease_s) +
              " s); its outcome here is dropped");
    let_go();
    return;
  }
  try {
    Json last;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      last = running->progress;
    }
    if (!last.is_null()) store_->update_progress(id, node_, last);  // the final step, past the throttle
    if (requeue) {
      store_->requeue(id, node_);
      log_.info("job " + id + " interrupted by shutdown; it stays queued");
      let_go();
      return;
    }
    if (running->cancelled || !store_->get(id)) {  // deleted while running
      store_->remove(id);
      let_go();
      return;
    }
  } catch (const Error& e) {
    log_.warn("job " + id + ": " + e.what());
  }
  const double seconds = finished - started;
  metrics_.observe_job(record.method, outcome, seconds);  // before the state changes: a client that sees it finished sees it counted
  bool stored = false;
  try {
    if (outcome == "succeeded") {
      stored = store_->finish(id, node_, JobState::succeeded, finished, "", summary, job_outputs(dir));
    } else {
      // A failed job keeps no partial result.
      std::error_code ec;
      for (const auto& f : fs::directory_iterator(dir, ec))
        if (f.path().filename().string().rfind("result", 0) == 0) fs::remove(f.path(), ec);
      stored = store_->finish(id, node_, JobState::failed, finished, error, Json(), {});
    }
  } catch (const Error& e) {
    // The database failed (disk full, I/O error, connection lost): the job fails with the reason if
    // that can still be written; otherwise its lease runs out and it is tried again.
    outcome = "failed";
    error = std::string("its outcome could not be stored: ") + e.what();
    log_.emit(LogLevel::error, "job " + id + ": " + error);
    try {
      stored = store_->finish(id, node_, JobState::failed, finished, error, Json(), {});
    } catch (const Error&) {
    }
  }
  let_go();
  if (!stored) {
    log_.warn("job " + id + ": not recorded as " + outcome + " (no longer held by this node)");
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    mean_job_s_ = 0.8 * mean_job_s_ + 0.2 * seconds;
  }
  log_.info("job " + id + " " + outcome + " in " + std::to_string(seconds) + " s" + (error.empty() ? "" : ": " + error));
}

void Service::housekeeping_loop() {
  const double renew_every = options_.lease_s / 3;
  const double sweep_every = std::max(0.05, std::min(options_.sweep_interval_s, options_.ttl_s / 2));
  double next_sweep = 0;
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    const auto interval = std::chrono::duration<double>(std::max(0.05, std::min(renew_every, sweep_every)));
    if (sweep_wake_.wait_for(lock, interval, [this] { return stopping_; })) return;
    std::vector<std::string> held;
    for (const auto& [id, running] : running_) held.push_back(id);
    lock.unlock();
    try {
      // Leases: ours renewed; jobs we no longer hold (deleted elsewhere, or taken back) stop.
      for (const auto& id : store_->renew(node_, held, options_.lease_s)) {
        const bool exists = store_->get(id).has_value();  // still there: taken back; gone: deleted
        std::lock_guard<std::mutex> guard(mutex_);
        auto it = running_.find(id);
        if (it == running_.end()) continue;  // it finished meanwhile
        if (exists) it->second->lost = true;
        it->second->cancelled = true;
      }
      // Any node's expired leases (a node that died): the jobs go back to the queue.
      if (const int64_t back = store_->expire_leases(options_.max_attempts, unix_now()); back > 0) {
        log_.warn(std::to_string(back) + " job(s) whose lease ran out went back to the queue");
        {
          std::lock_guard<std::mutex> guard(mutex_);
          ++work_signals_;
        }
        wake_.notify_all();
      }
      if (unix_now() >= next_sweep) {
        next_sweep = unix_now() + sweep_every;
        for (const auto& id : store_->remove_finished_before(unix_now() - options_.ttl_s))
          log_.info("job " + id + " expired: inputs and results deleted");
      }
    } catch (const Error& e) {
      log_.warn(std::string("housekeeping failed (it is tried again): ") + e.what());
    }
    lock.lock();
  }
}

Service::SyncSlot Service::reserve_sync_slot() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) throw ServiceError(503, "shutting_down", "the service is shutting down");
  }
  if (++sync_running_ > options_.sync_concurrency) {
    --sync_running_;
    metrics_.count_rejection("busy");
    throw ServiceError(429, "busy", "all " + std::to_string(options_.sync_concurrency) + " synchronous slots are busy; try again", 1);
  }
  return SyncSlot(sync_running_);
}

StylizedImage Service::stylize_now(const JobRequest& request, const SyncSlot&) {
  const Method& method = method_registry().get(request.method);
  if (method.description().capabilities.iterative)
    throw OptionError("model", "POST /v1/stylize runs one-pass methods only (a trained model); method " + request.method +
                                   " optimises, so it is a job (POST /v1/jobs)");
  if (request.content_video)
    throw OptionError("content", "a video is stylized as a job (POST /v1/jobs), frame by frame; POST /v1/stylize takes a photo");
  const auto start = std::chrono::steady_clock::now();
  const PaintedStyles painted = paint_styles(request.gan_styles);
  const std::vector<const UploadedImage*> style_images = painted.after(request.styles);
  StyleSet styles;
  for (size_t i = 0; i < style_images.size(); ++i) {
    StyleInput s;
    s.name = "style image " + std::to_string(i + 1);
    s.image = style_images[i]->image.rgb;
    if (i < request.style_blend_weights.size()) s.weight = request.style_blend_weights[i];
    if (i < request.masks.size() && request.masks[i].image.rgb.defined()) s.mask = to_single_channel(request.masks[i].image.rgb);
    styles.styles.push_back(std::move(s));
  }
  const std::string model = model_for(request.method, request.model);
  auto session = method.open(run_options(request.method, request.options, model), styles, &cache_);
  StylizeResult result = session->stylize(request.content.image, StylizeHooks{});
  const std::vector<uint8_t> bytes = encode_image(result.image.rgb, extension_for(request.format), result.image.alpha);
  StylizedImage out;
  out.bytes.assign(bytes.begin(), bytes.end());
  out.content_type = request.format == "jpeg" ? "image/jpeg" : "image/" + request.format;
  out.summary = public_summary(request.method, result.summary, model);
  if (!painted.record.is_null()) out.summary["style_gan"] = painted.record;
  metrics_.observe_sync(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return out;
}

Service::PaintedStyles Service::paint_styles(const GanStyleRequest& request) {
  PaintedStyles out;
  if (!request.enabled()) return out;
  GanStyleOptions o;
  o.run = catalog_.gan_path(request.gan);
  o.count = request.count;
  o.truncation = request.truncation;
  if (request.category) o.category = *request.category;
  if (request.seed) {
    o.seed = *request.seed;
  } else {
    std::random_device random;
    o.seed = ((uint64_t{random()} << 32) | random()) & ((uint64_t{1} << 53) - 1);  // exact in a page's script too
  }
  const GanStyles painted = generate_gan_styles(o, resolve_device("auto"), &cache_);
  for (size_t i = 0; i < painted.images.size(); ++i) {
    UploadedImage u;
    u.filename = "style-gan-" + std::to_string(i + 1) + ".png";
    u.format = "png";
    const std::vector<uint8_t> bytes = encode_image(painted.images[i], "png");
    u.bytes.assign(bytes.begin(), bytes.end());
    // The picture as its 8-bit file holds it: a job reads the stored file, so the synchronous path
    // and a client uploading the same PNG get the same result.
    u.image = decode_image(bytes, u.filename);
    out.images.push_back(std::move(u));
  }
  // The record without the server's paths: the GAN's name and checkpoint step say which generator.
  out.record = Json{{"gan", request.gan}, {"step", painted.record["step"]}, {"ema", painted.record["ema"]}, {"seed", o.seed},
                    {"count", o.count}, {"truncation", o.truncation}};
  if (request.category) out.record["category"] = *request.category;
  return out;
}

Json Service::models() {
  Json list = Json::array();
  for (const auto& m : catalog_.list()) {
    Json j{{"name", m.name}, {"kind", m.kind}, {"file", m.file}, {"bytes", m.bytes}, {"method", m.method}, {"builtin", m.builtin}};
    if (m.paints_styles()) {
      j["method"] = nullptr;
      j["paints_styles"] = true;  // a GAN: send it as style_gan
      j["image_size"] = m.image_size;
      j["step"] = m.step;
      j["categories"] = m.categories;  // latent categories: style_category 0..categories-1
    }
    list.push_back(j);
  }
  Json backbones = Json::array();
  for (const auto& name : backbone_registry().names())
    if (!backbone_info(name).needs_weights) backbones.push_back(name);
  for (const auto& [name, path] : options_.backbone_weights) backbones.push_back(name);
  // Every registered method as a client sees it: the options it may set (with types, defaults,
  // ranges, limits and how the web page shows them), its capabilities, and its effective defaults
  // (for a gatys method the default backbone's recipe, which the page's weight sliders scale).
  Json methods = Json::array();
  for (const auto& m : method_registry().methods()) {
    const MethodDescription& d = m->description();
    Json j = d.to_json(/*service_view=*/true);
    Json options = Json::array();
    for (const auto& o : j["options"])
      if (o.value("role", "") != "model") options.push_back(o);
    j["options"] = options;
    for (auto& o : j["options"]) {  // the operator's limits, as they apply here
      const std::string limit = o.value("service_limit", "");
      if (const auto v = options_.option_limit(limit)) o["max_here"] = *v;
      else if (o.contains("service_max")) o["max_here"] = o["service_max"];
    }
    Json defaults = d.options.resolve(Json::object(), "method " + d.name);
    try {
      defaults = public_options(d.name, m->check(run_options(d.name, Json::object(), "")), "");
    } catch (const Error&) {  // e.g. a model is needed to know them all
    }
    j["defaults"] = defaults;
    j["synchronous"] = !d.capabilities.iterative;
    if (d.options.find_role(OptionRole::model)) {
      const std::string builtin = catalog_.default_for(d.name);
      j["default_model"] = builtin.empty() ? Json() : Json(builtin);  // run when a request names none
    }
    methods.push_back(j);
  }
  return Json{{"models", list},
              {"methods", methods},
              {"backbones", backbones},
              {"limits", {{"max_upload_bytes", options_.max_upload_bytes}, {"max_pixels", options_.max_pixels},
                          {"max_side", options_.max_side}, {"max_iterations", options_.max_iterations},
                          {"job_time_limit_s", options_.job_time_limit_s}, {"ttl_s", options_.ttl_s}}}};
}

Json Service::health() const {
  const int64_t depth = store_->queued();
  std::lock_guard<std::mutex> lock(mutex_);
  return Json{{"status", stopping_ ? "stopping" : "ok"}, {"version", "0.1.0"}, {"queue_depth", depth},
              {"queue_capacity", options_.queue_capacity}, {"running", running_.size()}, {"workers", options_.workers}};
}

std::string Service::metrics_text() const {
  std::ostringstream out;
  out << metrics_.text();
  const int64_t depth = store_->queued();
  size_t running;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running = running_.size();
  }
  out << "# HELP impasto_queue_depth Jobs waiting for a worker.\n# TYPE impasto_queue_depth gauge\n"
      << "impasto_queue_depth " << depth << "\n"
      << "# HELP impasto_queue_capacity Jobs that may wait before new ones are refused (429).\n"
      << "# TYPE impasto_queue_capacity gauge\nimpasto_queue_capacity " << options_.queue_capacity << "\n"
      << "# HELP impasto_jobs_running Jobs running now.\n# TYPE impasto_jobs_running gauge\n"
      << "impasto_jobs_running " << running << "\n"
      << "# HELP impasto_stylize_in_flight Synchronous stylizations running now.\n# TYPE impasto_stylize_in_flight gauge\n"
      << "impasto_stylize_in_flight " << sync_running_.load() << "\n"
      << "# HELP impasto_networks_loaded_total Networks and backbones read from their files (each once while cached).\n"
      << "# TYPE impasto_networks_loaded_total counter\nimpasto_networks_loaded_total " << cache_.loads() << "\n"
      << "# HELP impasto_jobs Jobs stored, by state.\n# TYPE impasto_jobs gauge\n";
  for (const auto& [state, n] : store_->count_by_state()) out << "impasto_jobs{state=\"" << to_string(state) << "\"} " << n << "\n";
  return out.str();
}

}  // namespace impasto::server
