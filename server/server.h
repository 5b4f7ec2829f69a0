#pragma once
// The service's one entry point for front ends (the CLI's `impasto serve` and `impasto keys`): run it
// until told to stop, and manage the API keys of a data folder. Everything else in server/ stays
// behind this header.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "impasto/core/log.h"
#include "server/server_options.h"

namespace impasto::server {

struct ServeInfo {
  int port = 0;            // the bound port (options.port, or the free one picked for 0)
  size_t models = 0;       // trained models offered
  bool keys_required = false;
};

// Opens the data folder and its job database (resuming the jobs a previous process left), starts the
// workers and the HTTP server on options.host:options.port, calls `on_listening` once connections
// are accepted, and serves until `log.should_stop` returns true. Then it stops taking work (running
// jobs stop at their next step and stay queued for the next start) and returns. OptionError /
// FileError for bad options, a port in use, a data folder that cannot be created.
void serve(const ServerOptions& options, const Callbacks& log, const std::function<void(const ServeInfo&)>& on_listening);

struct ApiKeyInfo {
  std::string name;
  double rate_per_minute = 0;  // requests that create work; 0 = unlimited
  double created_at = 0;       // unix seconds
  bool revoked = false;
};

// Where a service keeps its jobs and keys: ServerOptions::store and data_dir.
struct StoreLocation {
  std::string store;  // "" (SQLite in data_dir), "sqlite:PATH" or "postgresql://..."
  std::string data_dir = "impasto-data";
};
std::string describe_store(const StoreLocation& where);  // for messages; never a password

// API keys of the service whose store is `where` (created when missing). Once a key exists, every
// request needs one. A new key is returned once and stored only as its SHA-256.
std::string add_api_key(const StoreLocation& where, const std::string& name, double rate_per_minute);
std::vector<ApiKeyInfo> list_api_keys(const StoreLocation& where);
bool revoke_api_key(const StoreLocation& where, const std::string& name);  // false: no active key of that name

}  // namespace impasto::server
