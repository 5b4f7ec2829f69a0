#pragma once
// A stylization as files: read the content, style, mask and init images, run a Stylizer, write the
// result (alpha carried through); for methods that report steps `<stem>.losses.jsonl` (one StepRecord
// per line) and `<stem>.losses.png` (the loss terms and the per-layer style losses over the steps); snapshots
// every N steps (`<stem>_<step>.png`, or `<stem>_l<level>_<step>.png` with several levels) and
// `<stem>.json` (the effective options, sizes, timings and final losses). Shared by the CLI and
// the server so both produce the same run.
#include <string>
#include <vector>

#include "impasto/style/stylizer.h"

namespace impasto {

struct StylizeJob {
  std::string method = "gatys";
  Json options = Json::object();  // the method's options (see e.g. GatysOptions)
  std::string content;            // path
  std::vector<std::string> styles;
  std::vector<double> style_blend_weights;  // empty = all 1; else one per style
  std::vector<std::string> masks;           // empty, or one per style ("" = no mask for that style)
  std::string init_image;
  std::string output = "out.png";
  std::string losses;            // "" = <output stem>.losses.jsonl
  int64_t save_every = 0;
  int64_t max_pixels = ImageReadOptions{}.max_pixels;
};

// Paths derived from the output path.
std::string output_stem(const std::string& output);

// Two line charts side by side (log scale): the weighted loss terms, and the style loss of each
// layer, over the steps of all levels.
at::Tensor loss_curves(const std::vector<StepRecord>& records);

// Returns the summary that is also written to <stem>.json. Throws the typed errors of the steps.
Json run_stylize_job(const StylizeJob& job, const Callbacks& callbacks);

}  // namespace impasto
