#pragma once
// Internals shared by the report builders of explain/ (not part of the public API).
#include <ATen/core/Tensor.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "impasto/core/log.h"
#include "impasto/explain/explain.h"
#include "impasto/explain/report.h"
#include "impasto/style/gatys.h"

namespace impasto::explain::detail {

// Progress of a report: one event per stage ("explain: <name>", step k of n), callbacks for the
// nested work of a stage (its events renamed), and the stop request.
class Progress {
 public:
  Progress(const Callbacks& callbacks, int64_t stages) : callbacks_(callbacks), total_(stages) {}
  void stage(const std::string& name);
  bool stopped() const { return callbacks_.stop_requested(); }
  // Callbacks for work inside the current stage: its progress events appear as
  // "explain: <stage> - <their stage>"; log and stop pass through.
  Callbacks nested(const std::string& label) const;
  const Callbacks& callbacks() const { return callbacks_; }

 private:
  Callbacks callbacks_;
  int64_t total_ = 0, done_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// The objective of Gatys et al. as a GatysSession defines it, at one size, for measuring images of
// that size: terms (with gradients when the image requires them) and targets.
struct Objective {
  GatysOptions o;   // resolved
  Backbone backbone;
  LossNormalisation norm = LossNormalisation::energy;
  std::set<std::string> taps;
  c10::Device device = c10::kCPU;
  int64_t h = 0, w = 0;
  GatysTargets targets;
  bool luminance = false;  // preserve_colors = luminance: the terms see the image's luminance
  bool has_style() const { return !targets.groups.empty(); }

  // The image as the optimisation sees it (its luminance with preserve_colors = luminance).
  at::Tensor work(const at::Tensor& image) const;
  GatysTerms terms(const at::Tensor& image) const;
  // The numbers of terms(image), without gradients.
  StepRecord measure(const at::Tensor& image) const;
};

// Targets of `inputs` at h x w under the resolved options and backbone of `session`.
Objective make_objective(const GatysSession& session, const StylizeInputs& inputs, int64_t h, int64_t w, c10::Device device);

// The size at most `longest` on its longer side (0 = unchanged).
std::pair<int64_t, int64_t> bounded_size(int64_t h, int64_t w, int64_t longest);

// Report sections on a result, shared by the gatys and network reports.
void section_losses(ReportWriter& report, const Objective& objective, const at::Tensor& result,
                    const std::vector<StepRecord>& steps);
// The attribution maps of each term (same order): sensitivity |dL/dx| and signed removal effect.
struct AttributionMaps {
  std::vector<std::pair<std::string, at::Tensor>> sensitivity, removal;
  bool empty() const { return sensitivity.empty(); }
};
AttributionMaps section_attribution(ReportWriter& report, const Objective& objective, const at::Tensor& result,
                                    const ExplainOptions& options);
void section_faithfulness(ReportWriter& report, const Objective& objective, const at::Tensor& result,
                          const AttributionMaps& maps, const ExplainOptions& options);
void section_gram(ReportWriter& report, const Objective& objective, const at::Tensor& result, const ExplainOptions& options);

// Numbers of a step record as JSON with the layers in order.
Json measured_json(const StepRecord& record);

// The JSON of a tensor as nested arrays of floats (for the numbers of a figure).
Json tensor_json(const at::Tensor& tensor);

}  // namespace impasto::explain::detail
