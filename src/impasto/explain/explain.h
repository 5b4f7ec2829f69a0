#pragma once
// impasto explain: a self-contained report (explain/report.h: report.html, report.json, every figure
// as PNG + JSON) that makes a stylization or a GAN run inspectable.
//
// For a stylization by any method (style/method.h); which sections apply follows the method's
// capabilities ("objective": gatys; "network": one pass of a TransformerNet / CycleGAN generator;
// "adain": the AdaIN encoder-decoder):
//   inputs        content, style(s) and result
//   losses        the weighted content / style / tv terms of the result and each layer's share (bar
//                 chart), and their curves over the iterations (from the run's StepRecords)
//   attribution   per-pixel sensitivity |dL/dx| of the content, style and tv terms and of each style
//                 layer w.r.t. the result, and the signed removal effect dL/dx . (removed - x): what
//                 removing each pixel would do to the term (explain/attribution.h)
//   faithfulness  the deletion test of both kinds of map: removing (blurring) the top-attributed
//                 pixels vs as many random pixels, per term
//   gram          per style layer: the target Gram (style) vs the achieved one (result) and their
//                 difference as heat maps, with the largest remaining differences (channel pairs)
//   ablation      (gatys) the result re-optimised with each style layer alone: what each contributes
//   sweeps        (gatys) style weight x factors and style scale x factors; (network) strength 0..1
//                 and the photo's size as the network sees it
//   activations   (network) each residual block's activation energy and update
//   blocks        (network) the result with each residual block switched off
//   discriminator (network, with a PatchGAN file) the per-patch realism map over the photo and result
//   adain-statistics (adain) each encoder channel's mean and std at relu1_1..relu4_1 for the painting
//                 (the target), the result (achieved) and the photo, and how much of the photo's
//                 distance to the painting the result closed per layer
//   sweeps        (adain) alpha 0..1 (ExplainOptions::strengths), one pass each, measured
// The loss sections of a network's result need a style image to measure it against
// (ExplainOptions::style_images); without one they show the content and tv terms only.
//
// For a training run folder (train gan; others get their curves): the logged curves and, for a
// GAN's generator, latent interpolation strips and per-dimension traversal strips.
//
// Cost. The analysis of a result (losses, attribution, faithfulness, Grams) is a few forward and
// backward passes: about a second at 256 px on 2 CPU cores with random-multiscale. The ablation
// and sweeps of a gatys run re-optimise the picture once per style layer and sweep entry
// (gallery_iterations each, at gallery_size): minutes. ExplainOptions::quick() turns them off and
// lowers the analysis size, for a report in seconds (the server's mode).
//
// Progress: every stage reports ProgressEvents through the callbacks (stage "explain: <section>");
// should_stop ends the work at the next stage, and the report is still written with the remaining
// sections marked as skipped. Bad inputs throw the typed errors of core/error.h before any work.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "impasto/core/json_options.h"
#include "impasto/core/log.h"
#include "impasto/style/method.h"

namespace impasto::explain {

struct ExplainOptions {
  // ---- what to make
  bool ablation = true;  // gatys: one short re-optimisation per style layer
  bool sweeps = true;    // strength and scale strips (gatys: re-optimisations; network: one pass each)
  // Gatys re-optimisations (ablation and sweeps): iterations and longest side of each (0 = the
  // result's; never more). Each starts as the run did (its init) and uses the run's options
  // otherwise, so they compare with each other (and with an "all layers" run of the same length).
  int64_t gallery_iterations = 80;
  int64_t gallery_size = 256;
  std::vector<double> style_weight_factors = {0.1, 0.3, 1, 3, 10};  // gatys: style_weight x these
  std::vector<double> style_scale_factors = {0.5, 0.75, 1, 1.5, 2}; // gatys: style_scale x these
  std::vector<double> strengths = {0, 0.25, 0.5, 0.75, 1};          // network: strength values; adain: alpha values
  std::vector<double> input_scales = {0.5, 0.75, 1, 1.5, 2};        // network: photo size x these

  // ---- analysis of the result
  int64_t analysis_size = 512;  // the result (and its inputs) are analysed at most this large (0 = as is)
  double deletion_fraction = 0.1;       // faithfulness: fraction of pixels removed
  std::string deletion_mode = "blur";   // blur | grey
  int deletion_trials = 3;              // random removals averaged
  int64_t deletion_region = 1;          // side of the removed square regions in pixels
  int64_t gram_channels = 128;          // Gram heat maps show at most this many channels
  int64_t gram_differences = 10;        // largest differences listed per layer
  int64_t map_cells = 32;               // attribution maps in the JSON: averaged to this grid

  // ---- one-pass methods (network)
  std::vector<std::string> style_images;  // style image(s) to measure the result against
  Json loss = Json::object();             // gatys options of that measurement (backbone, layers,
                                          // weights, normalisation, style_scale); {} = the backbone's recipe
  std::string discriminator;              // a PatchGAN's weights (.pth / checkpoint); "" = none

  // ---- training runs (GAN)
  int64_t latent_strips = 4;      // interpolation strips
  int64_t latent_steps = 8;       // images per strip
  int64_t traversal_dims = 8;     // latent dimensions shown (those that change the image most)
  int64_t traversal_steps = 7;    // images per dimension
  double traversal_range = 2.5;   // each dimension goes from -range to +range
  bool ema = true;                // the generator's EMA weights when the checkpoint has them

  uint64_t seed = 0;              // random pixels of the deletion test, latents
  std::string device = "auto";

  // What report.json shows of the method's options (a service hides its own paths and names a model
  // as its catalogue does); unset: all of them. Not part of the JSON form of these options.
  std::function<Json(const Json&)> shown_options;

  // The cheap mode: no ablation, no sweeps, analysis at 256 px, one random deletion trial. A 256 px
  // result is explained in a few seconds.
  static ExplainOptions quick();
};

void to_json(Json& json, const ExplainOptions& options);
ExplainOptions explain_options_from_json(const Json& json);  // strict: unknown keys throw OptionError
// Checks every value (OptionError naming the option); the explain_* functions call it first.
void check_explain_options(const ExplainOptions& options);

// A stylization to explain, in memory.
struct Stylization {
  std::string method = "gatys";   // a method's name (style/method.h)
  Json options = Json::object();  // the method's options (effective ones, e.g. a summary's "options")
  StylizeInputs inputs;           // content, styles with blend weights and masks, init image
  at::Tensor result;              // the finished result [1,3,H,W]; undefined = stylize here first
  std::vector<StepRecord> steps;  // its step records (losses.jsonl); empty for one-pass methods
  std::string title;              // shown at the top (default: the method and the input names)
};

// Writes the report into `out_dir` (created; existing report files are overwritten) and returns the
// path of its report.html.
std::string explain_stylization(const Stylization& stylization, const ExplainOptions& options,
                                const std::string& out_dir, const Callbacks& callbacks);

// The same for a finished stylization job (style/job.h): `summary_path` is the `<stem>.json` that
// run_stylize_job wrote (method, effective options, input paths, output path, losses.jsonl path);
// the images and step records are read from the paths it names, or, when a path does not exist as
// written (a moved job folder, another working directory), from the file of that name beside the
// summary. The stylization is not run again. With ExplainOptions::quick() a 256 px gatys result
// takes a few seconds on the CPU (the server's use: out_dir a folder of the job's own). FileError /
// FormatError naming the file when something is missing or wrong (also a job written to stdout or
// read from stdin: no files to explain); OptionError for bad options.
std::string explain_stylize_job(const std::string& summary_path, const ExplainOptions& options,
                                const std::string& out_dir, const Callbacks& callbacks);

// A training run folder (config.json, log.jsonl, checkpoints/): its curves, and for a GAN (train gan)
// latent interpolation and traversal strips. FileError when `run_dir` is not a run folder.
std::string explain_run(const std::string& run_dir, const ExplainOptions& options, const std::string& out_dir,
                        const Callbacks& callbacks);

}  // namespace impasto::explain
