#pragma once
// The trained networks a service offers by name: every *.pth and *.ckpt file in the models folder
// that is a style network (fast_neural_style TransformerNet or CycleGAN generator), named by its file
// stem. Users name a model; they never give a path. Each network is loaded once, on first use, and
// shared by every request (style/network.h). The folder is re-read when asked for the list and when
// an unknown name is requested, so models dropped in are offered without a restart.
#include <memory>
#include <mutex>
#include <string>
#include <vector>
#include <map>

#include "impasto/core/log.h"
#include "impasto/style/network.h"

namespace impasto::server {

struct ModelInfo {
  std::string name;   // file stem
  std::string file;   // file name in the models folder
  std::string kind;   // transformer_net | cyclegan_generator
  int64_t bytes = 0;
};

class ModelCatalog {
 public:
  ModelCatalog(std::string dir, Callbacks log);
  std::vector<ModelInfo> list();  // re-reads the folder
  // The network for `name` with `options` (options.model is filled in). OptionError("model") naming
  // the valid models when there is no such model.
  std::unique_ptr<NetworkStylizer> stylizer(const std::string& name, NetworkStylizerOptions options);
  std::string path(const std::string& name);  // OptionError("model") like stylizer()

 private:
  struct Entry {
    ModelInfo info;
    int64_t mtime = 0;
    std::shared_ptr<NetworkStylizer> loaded;  // null until first use
  };
  void refresh_locked();
  Entry& find_locked(const std::string& name);
  std::string dir_;
  Callbacks log_;
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

}  // namespace impasto::server
