#pragma once
// A stylization as files: read the content, style, mask and init images, run a method's session, write the
// result (alpha carried through); for methods that report steps `<stem>.losses.jsonl` (one StepRecord
// per line) and `<stem>.losses.png` (the loss terms and the per-layer style losses over the steps); snapshots
// every N steps (`<stem>_<step>.png`, or `<stem>_l<level>_<step>.png` with several levels) and
// `<stem>.json` (the effective options, sizes, timings and final losses). Shared by the CLI and
// the server so both produce the same run.
//
// In memory: with `content_bytes` the content image is decoded from bytes (stdin, an upload) and
// `content` only names it; with `write_output` the result is encoded (`format`, PNG by default) and
// handed over instead of written, and no file is written beside it (losses.jsonl only when `losses`
// names one).
//
// Folders: run_stylize_folder applies one session (one network load, the style images read once)
// to every image of a folder (io/image_folder.h) and writes each result under the same name into
// an output folder, with its side files. An image that cannot be read (missing, not an image, over
// the pixel limit) is reported by name through the warning callback and skipped; the others are
// still done, and the summary lists the skipped ones.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "impasto/style/gan_styles.h"
#include "impasto/style/method.h"

namespace impasto {

struct StylizeJob {
  std::string method = "gatys";
  Json options = Json::object();  // the method's options (see e.g. GatysOptions)
  std::string content;            // path
  std::vector<std::string> styles;
  std::vector<double> style_blend_weights;  // empty = all 1; else one per style
  std::vector<std::string> masks;           // empty, or one per style ("" = no mask for that style)
  // Style images painted by a GAN run (style/gan_styles.h), after the files: blended with them (the
  // blend weights then cover both), written beside a file output as <stem>.style-gan-<i>.png and
  // recorded in the summary (its "styles" list and "style_gan", from which --style-latent repeats them).
  GanStyleOptions gan_styles;
  std::string init_image;
  std::string output = "out.png";  // a file; with run_stylize_folder a folder (created if missing)
  std::string losses;            // "" = <output stem>.losses.jsonl
  int64_t save_every = 0;
  int64_t max_pixels = ImageReadOptions{}.max_pixels;
  // In memory (see above).
  std::vector<uint8_t> content_bytes;
  std::function<void(const std::vector<uint8_t>&)> write_output;
  // Output format (png, jpg, webp, bmp, tif) for write_output (default png) and for a folder's
  // outputs (default: each input's own); a single output file takes its format from its extension.
  std::string format;
  // Networks are loaded through this cache when set (a server's workers share what they load).
  ResourceCache* cache = nullptr;
};

// What one stylization did: the summary written to <stem>.json, and what a front end shows.
struct StylizeJobResult {
  Json summary;
  int64_t width = 0, height = 0;
  double seconds = 0;
  bool stopped_early = false;  // a stop request ended it; the result so far was written
  int64_t steps = 0;           // iterative methods: steps done at the last level
  std::string detail;          // the method's line: "final loss ...", "with the TransformerNet (1 tile)"
  std::string losses;          // the losses.jsonl written ("" = none)
};

// The checks of a job that need no image (style count, masks, weights, format), and its style,
// mask and init images read once for every content image (style/video.h shares them).
void check_stylize_job(const StylizeJob& job, const MethodDescription& method);
// `generated` (optional) receives the GAN-painted styles and their record.
StyleSet read_style_set(const StylizeJob& job, const ImageReadOptions& read_options, GanStyles* generated = nullptr);

// Paths derived from the output path.
std::string output_stem(const std::string& output);

// Two line charts side by side (log scale): the weighted loss terms, and the style loss of each
// layer, over the steps of all levels.
at::Tensor loss_curves(const std::vector<StepRecord>& records);

// The summary is also written to <stem>.json. Throws the typed errors of the steps; every check
// that needs no image (options, style count, output path) comes before any file is read.
StylizeJobResult run_stylize_job(const StylizeJob& job, const Callbacks& callbacks);

// job.content and job.output are folders (OptionError naming "content" or "output" otherwise, or
// when they are the same folder, or when two inputs would be written to the same file). Progress is
// reported per image; the per-image work reports none (its warnings and should_stop still apply:
// a stop request ends the folder after the current image).
struct SkippedImage {
  std::string file, error;
};
struct StylizeFolderResult {
  int64_t images = 0;                // image files in the folder
  std::vector<std::string> outputs;  // written
  std::vector<SkippedImage> skipped;
  bool stopped_early = false;        // a stop request ended it before the last image
  double seconds = 0;
  Json options;                      // the method's effective options
};
StylizeFolderResult run_stylize_folder(const StylizeJob& job, const Callbacks& callbacks);

}  // namespace impasto
