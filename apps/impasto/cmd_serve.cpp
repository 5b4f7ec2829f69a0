// impasto serve: the online style-transfer service (REST API, web page, job queue) on one machine;
// impasto keys: the API keys it accepts. Both only configure and call server/.
#include <cstdio>
#include <ctime>

#include "commands.h"
#include "impasto/core/error.h"
#include "server/server.h"

namespace impasto::cli {
namespace {

struct ServeFlags {
  server::ServerOptions options;
  std::vector<std::string> backbone_weights;  // name=path
  double max_upload_mb = 32;
  bool log_requests = false;
  int threads = 0;
};

}  // namespace

CLI::App* add_serve_command(CLI::App& app, Context& context) {
  auto flags = std::make_shared<ServeFlags>();
  auto& f = *flags;
  auto& o = f.options;
  CLI::App* cmd = app.add_subcommand("serve", "Run the style-transfer service: REST API under /v1, web page at /");
  cmd->add_option("--host", o.host, "address to listen on (127.0.0.1: this machine only; 0.0.0.0: every interface)")->capture_default_str();
  cmd->add_option("--port", o.port, "port (0 = any free port, printed at start)")->capture_default_str();
  cmd->add_option("--data-dir", o.data_dir, "folder for the job database and the jobs' files (with PostgreSQL: scratch space)")->capture_default_str();
  cmd->add_option("--store", o.store,
                  "where jobs, files and keys are kept: sqlite:PATH (default: DATA_DIR/jobs.sqlite3, one process) or "
                  "postgresql://USER@HOST[:PORT]/DB (any number of processes share one queue)");
  cmd->add_option("--lease", o.lease_s, "seconds a running job's lease lasts without renewal (renewed every third of it); "
                                        "a job whose node died goes back to the queue after this")
      ->capture_default_str()->check(CLI::Range(0.3, 3600.0));
  cmd->add_option("--models-dir", o.models_dir, "folder of trained networks offered by name (*.pth, *.ckpt), and GANs that paint styles (impasto train gan run folders, their generator.ckpt)");
  cmd->add_option("--backbone-weights", f.backbone_weights, "NAME=FILE: offer a backbone that needs weights (vgg19=vgg19.pth); repeatable");
  cmd->add_option("--workers", o.workers, "jobs run at the same time")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--queue", o.queue_capacity, "jobs that may wait; beyond, POST /v1/jobs answers 429")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_flag("--reports,!--no-reports", o.reports,
                "explain every finished job: its report (losses, attribution maps, Gram matrices) at /v1/jobs/{id}/report/")
      ->capture_default_str();
  cmd->add_option("--sync-concurrency", o.sync_concurrency, "POST /v1/stylize requests served at once; beyond, 429")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--http-threads", o.http_threads, "connections handled at once")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--request-deadline", o.request_deadline_s,
                  "seconds within which a request must arrive (and its response be taken); slower clients are cut off")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--max-upload-mb", f.max_upload_mb, "largest request body in MiB (413 beyond)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--max-pixels", o.max_pixels, "largest input image in pixels, read from its header (413 beyond)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--max-request-pixels", o.max_request_pixels, "all the images of one request together, from their headers (413 beyond)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--max-video-pixels", o.max_video_pixels, "largest video frame in pixels, read from the container (413 beyond)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--max-video-frames", o.max_video_frames, "most frames of a video job")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--max-video-seconds", o.max_video_seconds, "longest video of a job")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--max-side", o.max_side, "largest output side of an optimisation job")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--max-iterations", o.max_iterations, "most iterations per scale of an optimisation job")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--job-time-limit", o.job_time_limit_s, "seconds a job may run before it fails")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--ttl", o.ttl_s, "seconds after which a finished job's inputs and results are deleted")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--sweep-interval", o.sweep_interval_s, "seconds between looks for expired jobs")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--cors-origin", o.cors_origins, "Origin allowed to call the API from a browser ('*' = any); repeatable");
  cmd->add_flag("--log-requests", f.log_requests, "log every HTTP request (method, path, status)");
  add_threads_flag(*cmd, f.threads);

  cmd->callback([flags, &context] {
    auto& f = *flags;
    f.options.max_upload_bytes = static_cast<int64_t>(f.max_upload_mb * 1024 * 1024);
    for (const auto& spec : f.backbone_weights) {
      const auto eq = spec.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
        throw OptionError("backbone_weights", "expected NAME=FILE, got '" + spec + "'");
      f.options.backbone_weights[spec.substr(0, eq)] = spec.substr(eq + 1);
    }
    Callbacks log = context.callbacks();
    log.progress = nullptr;  // jobs report through the API, not a terminal bar
    const auto print = log.log;
    const bool requests = f.log_requests;
    log.log = [print, requests](LogLevel level, const std::string& message) {
      if (level == LogLevel::debug && !requests) return;
      if (print) print(level == LogLevel::debug ? LogLevel::info : level, message);
    };
    server::serve(f.options, log, [&](const server::ServeInfo& info) {
      std::fprintf(stderr, "impasto serve: listening on http://%s:%d (jobs in %s, %zu model(s), %s)\n", f.options.host.c_str(),
                   info.port, server::describe_store({f.options.store, f.options.data_dir}).c_str(), info.models,
                   info.keys_required ? "API keys required" : "no API keys");
      std::fflush(stderr);
    });
    std::fprintf(stderr, "impasto serve: stopping (queued jobs are kept in %s)\n",
                 server::describe_store({f.options.store, f.options.data_dir}).c_str());
  });
  return cmd;
}

CLI::App* add_keys_command(CLI::App& app, Context& context) {
  auto where = std::make_shared<server::StoreLocation>();
  auto name = std::make_shared<std::string>();
  auto rate = std::make_shared<double>(server::ServerOptions{}.default_rate_per_minute);
  CLI::App* cmd = app.add_subcommand("keys", "API keys of the service (once a key exists, every request needs one)");
  cmd->require_subcommand(1);
  cmd->add_option("--data-dir", where->data_dir, "the service's data folder")->capture_default_str();
  cmd->add_option("--store", where->store, "the service's store, as given to impasto serve --store (sqlite:PATH or postgresql://...)");

  CLI::App* add = cmd->add_subcommand("add", "create a key; it is printed once and stored only as a hash");
  add->add_option("name", *name, "a name for the key (who uses it)")->required();
  add->add_option("--rate", *rate, "requests that create work per minute (0 = unlimited)")->capture_default_str()->check(CLI::NonNegativeNumber);
  add->callback([where, name, rate] {
    const std::string key = server::add_api_key(*where, *name, *rate);
    std::printf("%s\n", key.c_str());
    std::fprintf(stderr, "created API key '%s' (%g requests/min); it is shown only now: send it as X-API-Key\n", name->c_str(), *rate);
  });

  CLI::App* list = cmd->add_subcommand("list", "list the keys (names, limits, state; never the keys)");
  list->callback([where] {
    for (const auto& k : server::list_api_keys(*where)) {
      const std::time_t t = static_cast<std::time_t>(k.created_at);
      char when[32];
      std::strftime(when, sizeof when, "%Y-%m-%d %H:%M", std::gmtime(&t));
      std::printf("%-20s %8g/min  created %s UTC  %s\n", k.name.c_str(), k.rate_per_minute, when, k.revoked ? "revoked" : "active");
    }
  });

  CLI::App* revoke = cmd->add_subcommand("revoke", "revoke a key by name");
  auto revoke_name = std::make_shared<std::string>();
  revoke->add_option("name", *revoke_name, "the key's name")->required();
  revoke->callback([where, revoke_name] {
    if (!server::revoke_api_key(*where, *revoke_name)) throw OptionError("name", "no active key named '" + *revoke_name + "'");
    std::fprintf(stderr, "revoked API key '%s'\n", revoke_name->c_str());
  });
  (void)context;
  return cmd;
}

}  // namespace impasto::cli
