#pragma once
// The trained models a service offers by name: every *.pth and *.ckpt file in the models folder that
// a registered method with a model option takes (style/method.h Method::model_kind: for `network`, a
// fast_neural_style TransformerNet or a CycleGAN generator), named by its file stem. Users name a
// model; they never give a path. The folder is re-read when asked for the list and when an unknown
// name is requested, so models dropped in are offered without a restart. Loading is the sessions'
// business (through the service's ResourceCache: each file once).
//
// GANs trained with `impasto train gan` are offered as style sources: a run folder in the models
// folder (named by the folder: its checkpoints/latest.ckpt, or only the generator.ckpt it exports), or
// a GAN checkpoint file. Their generators paint style images for a request (`style_gan`); no method
// runs them as its model.
//
// impasto's own models (io/builtin_models.h: models/<folder>/<file>, e.g. the adain decoder) are
// offered too, as `builtin-<folder>` (a file directly in models/: `builtin-<stem>`); an operator's file
// of the same name comes first. A method with a model option runs its built-in model when a request
// names none (`default_for`).
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "impasto/core/log.h"

namespace impasto::server {

struct ModelInfo {
  std::string name;    // file stem
  std::string file;    // file name in the models folder
  std::string kind;    // transformer_net | cyclegan_generator | ... | gan_generator
  std::string method;  // the method that runs it; "" for a GAN (a style source)
  int64_t bytes = 0;
  bool builtin = false;  // one of impasto's own models, not the operator's
  int64_t image_size = 0;  // a GAN's pictures: side in pixels
  int64_t step = 0;        // a GAN's training step
  int64_t categories = 0;  // a GAN's latent categories (0 = none)

  bool paints_styles() const { return kind == "gan_generator"; }
};

class ModelCatalog {
 public:
  ModelCatalog(std::string dir, Callbacks log);
  std::vector<ModelInfo> list();  // re-reads the folder
  // The file of model `name`, which a method runs: OptionError("model") naming the valid models when
  // there is none.
  std::string path(const std::string& name);
  // The run folder or checkpoint of GAN `name`: OptionError("style_gan") naming the GANs here when
  // there is none.
  std::string gan_path(const std::string& name);
  // The built-in model `method` runs when a request names no model; "" when it has none.
  std::string default_for(const std::string& method);

 private:
  struct Entry {
    ModelInfo info;
    std::string path;
    int64_t mtime = 0;
  };
  void refresh_locked();
  // Adds the model file `path` as `name` to `next` when a method takes it (reusing `entries_`'s
  // entry while the file is unchanged).
  void add_locked(std::map<std::string, Entry>& next, const std::string& name, const std::string& path, bool builtin);
  // The entry `name` that `wanted` accepts; else OptionError(`field`) naming the ones it accepts.
  Entry& find_locked(const std::string& name, bool gan, const std::string& field);
  std::string dir_;
  Callbacks log_;
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

}  // namespace impasto::server
