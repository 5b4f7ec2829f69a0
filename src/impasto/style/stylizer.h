#pragma once
// The Stylizer interface: content image (+ style images) in, stylized image out, with per-step
// records for losses.jsonl, progress and explanation. Methods are chosen by name through
// stylizer_registry(); each parses its own options from JSON (strictly: unknown keys are errors).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "impasto/core/json_options.h"
#include "impasto/core/log.h"
#include "impasto/core/registry.h"
#include "impasto/io/image.h"

namespace impasto {

struct StyleInput {
  std::string name;    // for messages (usually the path)
  at::Tensor image;    // canonical [1,3,H,W]
  double weight = 1;   // blend weight among the unmasked styles
  at::Tensor mask;     // optional [1,1,H,W] in [0,1] at the content image's size: style only there
};

struct StylizeInputs {
  Image content;                  // alpha, if any, is carried through to the output
  std::vector<StyleInput> styles;
  at::Tensor init;                // optional start image (method "gatys", init = "image")
};

// One optimisation step (or one training step) as written to losses.jsonl: weighted terms, so
// that total = content + style + tv and each layer's entry is its weighted share.
struct StepRecord {
  int scale = 0;            // 0-based level of coarse-to-fine optimisation
  int64_t height = 0, width = 0;
  int64_t step = 0;         // 1-based within the level
  double total = 0, content = 0, style = 0, tv = 0;
  std::vector<std::pair<std::string, double>> content_layers, style_layers;
  double elapsed_s = 0;
};
Json to_json(const StepRecord& record);
// The inverse (a line of losses.jsonl); FormatError(source) when a field is missing or mistyped.
StepRecord step_record_from_json(const Json& json, const std::string& source);

struct StylizeHooks {
  Callbacks callbacks;
  std::function<void(const StepRecord&)> on_step;
  // Called every `snapshot_every` steps (0 = never) with the current image (canonical, clamped).
  int64_t snapshot_every = 0;
  std::function<void(const StepRecord&, const at::Tensor& image)> on_snapshot;
};

struct StylizeResult {
  Image image;   // rgb [1,3,H,W] in [0,1]; alpha resized from the content's when it had one
  Json summary;  // final losses, sizes, timings, the effective options
};

class Stylizer {
 public:
  virtual ~Stylizer() = default;
  virtual StylizeResult stylize(const StylizeInputs& inputs, const StylizeHooks& hooks) = 0;
  // The effective options (defaults filled in), as saved with every run.
  virtual Json options() const = 0;
  // False for methods whose style lives in their weights (trained networks): no style image needed.
  virtual bool uses_style_images() const { return true; }
  // False for one-pass methods: no StepRecords, so no losses.jsonl or loss curves.
  virtual bool reports_steps() const { return true; }
};

using StylizerRegistry = Registry<std::unique_ptr<Stylizer>, const Json&>;
StylizerRegistry& stylizer_registry();  // built-ins: gatys, network
std::unique_ptr<Stylizer> make_stylizer(const std::string& method, const Json& options);

}  // namespace impasto
