#include "server/server.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "api_keys.h"
#include "http_api.h"
#include "job_store.h"
#include "service.h"

namespace impasto::server {

void serve(const ServerOptions& options, const Callbacks& log, const std::function<void(const ServeInfo&)>& on_listening) {
  Service service(options, log);
  HttpServer http(service, log);
  ServeInfo info;
  info.port = http.bind(options.host, options.port);
  info.models = service.models()["models"].size();
  info.keys_required = service.keys_required();
  if (on_listening) on_listening(info);
  // A stop request (Ctrl-C, SIGTERM) stops the listener; running jobs stop at their next step and
  // stay queued for the next start.
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done) {
      if (log.stop_requested()) {
        http.stop();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  http.run();
  done = true;
  watcher.join();
  service.shutdown();
}

std::string add_api_key(const StoreLocation& where, const std::string& name, double rate_per_minute) {
  const auto store = open_job_store(where.store, where.data_dir);
  const std::string key = generate_api_key();
  store->add_key(name, sha256_hex(key), rate_per_minute, unix_now());
  return key;
}

std::vector<ApiKeyInfo> list_api_keys(const StoreLocation& where) {
  const auto store = open_job_store(where.store, where.data_dir);
  std::vector<ApiKeyInfo> out;
  for (const auto& k : store->keys()) out.push_back(ApiKeyInfo{k.name, k.rate_per_minute, k.created_at, k.revoked});
  return out;
}

bool revoke_api_key(const StoreLocation& where, const std::string& name) {
  return open_job_store(where.store, where.data_dir)->revoke_key(name);
}

std::string describe_store(const StoreLocation& where) {
  if (where.store.empty()) return where.data_dir;
  return redact_uri(where.store);
}

}  // namespace impasto::server
