#pragma once
// Stylization methods and their sessions.
//
// A **method** (gatys, network, ...) is one registered unit that describes itself: its options
// (core/option_schema.h: types, defaults, valid values, help, the service's limits) and its
// capabilities (how many style images it takes, whether it iterates, masks, state across frames,
// which explanation sections apply). Every front end is generated from that description: the CLI's
// flags, the service's checks, /v1/models and the web page; none of them compares method names.
//
// Opening a method gives a **session**: options checked, networks loaded, style images read and
// encoded once. A session is applied to images in order (one photo, a folder's files, a video's
// frames, a service worker's jobs), each call seeing what the earlier ones left (a method with
// temporal state keeps the previous frame; every method may cache per-size style targets). A
// one-image run is a session of length one (stylize_once).
//
// Adding a method: a file in style/ with its Method subclass (description + open), one line in
// register_builtin_methods (method.cpp), tests and docs. Nothing in apps/ or server/ changes.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "impasto/core/json_options.h"
#include "impasto/core/log.h"
#include "impasto/core/option_schema.h"
#include "impasto/core/resource_cache.h"
#include "impasto/io/image.h"

namespace impasto {

struct StyleNetwork;  // style/network.h

struct StyleInput {
  std::string name;    // for messages (usually the path)
  at::Tensor image;    // canonical [1,3,H,W]
  double weight = 1;   // blend weight among the unmasked styles
  at::Tensor mask;     // optional [1,1,H,W] in [0,1] at the content image's size: style only there
};

// What a session is opened with: the style images (with blend weights and masks) and an optional
// start image, fixed for every image the session stylizes.
struct StyleSet {
  std::vector<StyleInput> styles;
  at::Tensor init;  // optional start image (methods with the init_image capability)
};

// One image and its style set together: what a one-image run is given.
struct StylizeInputs {
  Image content;                  // alpha, if any, is carried through to the output
  std::vector<StyleInput> styles;
  at::Tensor init;
};

// One optimisation step (or one training step) as written to losses.jsonl: weighted terms, so
// that total = content + style + tv and each layer's entry is its weighted share.
struct StepRecord {
  int scale = 0;            // 0-based level of coarse-to-fine optimisation
  int64_t height = 0, width = 0;
  int64_t step = 0;         // 1-based within the level
  double total = 0, content = 0, style = 0, tv = 0;
  double temporal = 0;      // video frames after the first (TemporalGuide): part of total
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
  Image image;                 // rgb [1,3,H,W] in [0,1]; alpha resized from the content's when it had one
  Json summary;                // final losses, sizes, timings, the effective options (written as <stem>.json)
  double seconds = 0;
  bool stopped_early = false;  // a stop request ended it: the image is the result so far
  int64_t steps = 0;           // iterative methods: steps done at the last level (0 for one pass)
  std::string detail;          // one line for people: "TransformerNet, 4 tiles", "300 steps, final loss 0.012"
};

// ---- what a method says about itself --------------------------------------------------------------

struct MethodCapabilities {
  int min_styles = 1, max_styles = 16;  // style images taken (0 and 0: the style is in the weights)
  bool iterative = true;     // reports StepRecords (losses.jsonl, loss curves); else one pass
  bool masks = false;        // a mask per style image
  bool init_image = false;   // a start image (init = image)
  bool temporal = false;     // keeps state across the images of a session (video frames)
  // explain/ sections that apply: "objective" (the method minimises the Gatys objective with its own
  // options: losses, attribution, Grams, ablation, re-optimised sweeps), "network" (it runs a style
  // network: block activations and switch-off, realism map, strength and scale sweeps). Methods
  // with neither get the inputs and the losses measured with ExplainOptions::loss.
  std::vector<std::string> explain_sections;

  bool takes_styles() const { return max_styles > 0; }
  bool explains(const std::string& section) const;
};

struct MethodDescription {
  std::string name;      // what users type: --method NAME, the service's `method` field
  std::string summary;   // one line
  OptionSchema options;
  MethodCapabilities capabilities;
  Json to_json(bool service_view = false) const;  // for `impasto list`, /v1/models
};

// ---- sessions -------------------------------------------------------------------------------------

// What a video's previous frame leaves for the next one (style/video.h), for methods with the
// temporal capability: the previous result warped onto the next frame with the optical flow, and
// where that warp can be trusted (not occluded, off motion boundaries).
struct TemporalGuide {
  at::Tensor previous;     // [1,3,H,W] at the session's output size for the next frame
  at::Tensor reliability;  // [1,1,H,W] in [0,1]
};

class Session {
 public:
  virtual ~Session() = default;
  // Stylizes the next image with the session's styles; may use what earlier calls left.
  virtual StylizeResult stylize(const Image& content, const StylizeHooks& hooks) = 0;
  // Forgets what earlier images left (a scene cut in a video). Cached style targets stay.
  virtual void reset() {}
  // Methods with the temporal capability: the guide for the next stylize() call only (a video's
  // frames after the first). Others ignore it.
  virtual void guide_next(const TemporalGuide& guide) {}
  // The effective options (every default filled in), as saved with every run.
  virtual Json options() const = 0;
  // The style network the session runs, for explain/ (nullptr for methods without one).
  virtual const StyleNetwork* network() const { return nullptr; }
};

class Method {
 public:
  explicit Method(MethodDescription description) : description_(std::move(description)) {}
  virtual ~Method() = default;
  const MethodDescription& description() const { return description_; }
  const std::string& name() const { return description_.name; }
  // The effective options (schema defaults and the method's own resolution filled in), checked
  // completely without loading any network or reading any weight file: cheap enough for every
  // service request. OptionError naming the option.
  virtual Json check(const Json& options) const;
  // Opens a session. Networks are loaded through `cache` when given (shared with other sessions),
  // else privately. The number of style images is checked when an image is stylized (and by
  // check_style_count before, by callers that read files).
  virtual std::unique_ptr<Session> open(const Json& options, const StyleSet& styles, ResourceCache* cache) const = 0;
  // Methods with a model option: what kind of model the file is ("transformer_net"), for catalogues
  // of models (a service's models folder). FormatError when the file is not a model of this method.
  virtual std::string model_kind(const std::string& path) const;
  // The backbone that options with this model file load: the backbone option's value (or default), or
  // what the method reads from the model file for a value such as "auto" (adain: the encoder a trained
  // decoder names). "" for methods without a backbone option. A service gives the operator's weight
  // file of this backbone.
  virtual std::string backbone(const Json& options) const;

 private:
  MethodDescription description_;
};

// OptionError("style", ...) when `count` style images do not suit the method.
void check_style_count(const MethodDescription& method, size_t count);

// ---- the registry -----------------------------------------------------------------------------------

class MethodRegistry {
 public:
  // Adds (or replaces) a method. logic_error when an option name it shares with another method
  // has another type there: the CLI offers each option as one flag.
  void add(std::shared_ptr<const Method> method);
  bool remove(const std::string& name);  // for tests that register a method of their own
  // OptionError("method") naming the valid methods when there is no such method.
  const Method& get(const std::string& name) const;
  std::shared_ptr<const Method> find(const std::string& name) const;  // nullptr when absent
  bool contains(const std::string& name) const { return find(name) != nullptr; }
  std::vector<std::string> names() const;  // in registration order
  std::vector<std::shared_ptr<const Method>> methods() const;
  const std::string& default_method() const { return default_; }  // "gatys"

  // The method a request means when it names none: the default method when it has every option in
  // `option_names`; else the one method that has every option the default lacks (--model means the
  // method with a `model` option, whatever else is given); else the default (whose checks then name
  // the option it does not know).
  std::string method_for(const std::vector<std::string>& option_names) const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<const Method>> methods_;
  std::string default_ = "gatys";
};

MethodRegistry& method_registry();  // built-ins (gatys, network) registered on first use
void register_builtin_methods(MethodRegistry& registry);

// Shorthands.
std::unique_ptr<Session> open_session(const std::string& method, const Json& options, const StyleSet& styles = {},
                                      ResourceCache* cache = nullptr);
// A session of length one: opens `method` with the inputs' styles and stylizes their content.
StylizeResult stylize_once(const std::string& method, const Json& options, const StylizeInputs& inputs,
                           const StylizeHooks& hooks = {});

}  // namespace impasto
