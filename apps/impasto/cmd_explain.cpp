// impasto explain: a report (report.html + figures as PNG and JSON) that makes a stylization or a
// training run inspectable. Four ways in:
//   explain -c photo -s painting [stylize flags]     stylize as `stylize` would, then explain
//   explain --model net.pth -c photo [-s painting]   a trained network (one pass) [--discriminator D]
//   explain --job out.json                           a finished `stylize` run (its <stem>.json)
//   explain --run runs/x                             a training run folder (GAN: latent strips)
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "commands.h"
#include "impasto/io/text_file.h"
#include "impasto/core/error.h"
#include "impasto/explain/explain.h"
#include "impasto/style/job.h"
#include "impasto/style/method.h"
#include "stylize_flags.h"

namespace impasto::cli {
namespace {

struct ExplainFlags {
  StylizeJob job;
  std::string out = "explain-out";
  std::string job_summary;
  std::string run;
  std::string config;          // method options JSON
  std::string explain_config;  // ExplainOptions JSON
  MethodFlags method;
  int threads = 0;
  bool quick = false, no_ablation = false, no_sweeps = false;
  // Explain options given as flags (only the ones set, over --explain-config).
  Json explain = Json::object();
};

template <class T>
CLI::Option* add_explain_option(CLI::App* cmd, ExplainFlags& f, const std::string& flag, const std::string& key,
                                const std::string& help) {
  return cmd->add_option_function<T>("--" + flag, [&f, key](const T& value) { f.explain[key] = value; }, help);
}

Json read_json_object(const std::string& path) {
  const Json j = read_json_file(path);
  if (!j.is_object()) throw FormatError(path, "expected a JSON object of options");
  return j;
}

}  // namespace

CLI::App* add_explain_command(CLI::App& app, Context& context) {
  auto flags = std::make_shared<ExplainFlags>();
  auto& f = *flags;
  CLI::App* cmd = app.add_subcommand(
      "explain", "Explain a stylization or a training run: an HTML report with loss decomposition, attribution maps, "
                 "Gram matrices, layer ablations, sweeps, network internals and GAN latent strips");
  cmd->add_option("-o,--out", f.out, "report folder (report.html, report.json, figures/)")->capture_default_str();
  cmd->add_option("-c,--content", f.job.content, "content image (photo): stylize it, then explain");
  cmd->add_option("-s,--style", f.job.styles,
                  "style image(s); with --model: style image(s) to measure the network's result against")->delimiter(',');
  cmd->add_option("--config", f.config, "JSON file with method options (flags override it)");
  cmd->add_option("--style-blend-weights", f.job.style_blend_weights, "one weight per style image (default all 1)")->delimiter(',');
  cmd->add_option("--masks", f.job.masks, "one mask image per style; '' or 'none' for a style without mask")->delimiter(',');
  cmd->add_option("--init-image", f.job.init_image, "start image (with --init image)");
  cmd->add_option("--max-pixels", f.job.max_pixels, "refuse input images with more pixels (default 64 MP)");
  cmd->add_option("--job", f.job_summary, "explain a finished stylization: the <stem>.json that stylize wrote");
  cmd->add_option("--run", f.run, "explain a training run folder (impasto train gan ... --out DIR)");
  add_method_flags(cmd, f.job.method, f.method);
  add_threads_flag(*cmd, f.threads);

  cmd->add_flag("--quick", f.quick, "the cheap mode: no ablation, no sweeps, analysis at 256 px (seconds)");
  cmd->add_flag("--no-ablation", f.no_ablation, "skip the per-layer re-optimisations (gatys)");
  cmd->add_flag("--no-sweeps", f.no_sweeps, "skip the strength and scale sweeps");
  cmd->add_option("--explain-config", f.explain_config, "JSON file with explain options (flags override it)");
  add_explain_option<int64_t>(cmd, f, "gallery-iterations", "gallery_iterations", "iterations of each ablation / sweep run (80)");
  add_explain_option<int64_t>(cmd, f, "gallery-size", "gallery_size", "longest side of each ablation / sweep run (256; 0 = the result's)");
  add_explain_option<int64_t>(cmd, f, "analysis-size", "analysis_size", "analyse the result at most this large (512; 0 = as is)");
  add_explain_option<std::vector<double>>(cmd, f, "style-weight-factors", "style_weight_factors", "gatys sweep: style weight x these (0.1,0.3,1,3,10)")->delimiter(',');
  add_explain_option<std::vector<double>>(cmd, f, "style-scale-factors", "style_scale_factors", "gatys sweep: style scale x these (0.5,0.75,1,1.5,2)")->delimiter(',');
  add_explain_option<std::vector<double>>(cmd, f, "strengths", "strengths", "network sweep: strengths (0,0.25,0.5,0.75,1)")->delimiter(',');
  add_explain_option<std::vector<double>>(cmd, f, "input-scales", "input_scales", "network sweep: photo size x these (0.5,0.75,1,1.5,2)")->delimiter(',');
  add_explain_option<double>(cmd, f, "deletion-fraction", "deletion_fraction", "faithfulness test: fraction of pixels removed (0.1)");
  add_explain_option<std::string>(cmd, f, "deletion-mode", "deletion_mode", "faithfulness test: blur (default) or grey");
  add_explain_option<int64_t>(cmd, f, "deletion-region", "deletion_region", "faithfulness test: side of the removed square regions in px (1)");
  add_explain_option<std::string>(cmd, f, "discriminator", "discriminator", "network: a PatchGAN's weights for a per-patch realism map");
  add_explain_option<int64_t>(cmd, f, "latent-strips", "latent_strips", "GAN run: interpolation strips (4)");
  add_explain_option<int64_t>(cmd, f, "traversal-dims", "traversal_dims", "GAN run: latent dimensions traversed (8)");
  add_explain_option<uint64_t>(cmd, f, "explain-seed", "seed", "seed of the random pixels of the deletion test and of the latents (0)");

  cmd->callback([flags, &context, cmd] {
    auto& f = *flags;
    namespace fs = std::filesystem;
    // --device applies to every mode; the other method flags only to a stylization made here.
    const bool method_given = f.method.size() > (f.method.count("device") ? 1u : 0u);
    const bool stylize_given = !f.job.content.empty() || !f.job.styles.empty() || method_given || !f.config.empty() ||
                               !f.job.masks.empty() || !f.job.init_image.empty() || !f.job.style_blend_weights.empty();
    const int modes = (f.run.empty() ? 0 : 1) + (f.job_summary.empty() ? 0 : 1);
    if (modes > 1) throw OptionError("run", "give one of --run and --job");
    if (modes == 1 && stylize_given)
      throw OptionError(f.run.empty() ? "job" : "run",
                        "explains what is already there: it takes no content, style or method options");
    if (modes == 0 && f.job.content.empty())
      throw OptionError("content", "nothing to explain: give -c photo with -s painting or --model net.pth, --job out.json, or --run DIR");

    // Explain options: quick mode as the base, the config file over it, flags over both.
    Json eo;
    to_json(eo, f.quick ? explain::ExplainOptions::quick() : explain::ExplainOptions{});
    if (!f.explain_config.empty()) {
      const Json file = read_json_object(f.explain_config);
      for (const auto& [k, v] : file.items()) eo[k] = v;
    }
    for (const auto& [k, v] : f.explain.items()) eo[k] = v;
    if (f.no_ablation) eo["ablation"] = false;
    if (f.no_sweeps) eo["sweeps"] = false;
    explain::ExplainOptions options = explain::explain_options_from_json(eo);
    explain::check_explain_options(options);
    if (f.method.count("device")) options.device = f.method.at("device").get<std::string>();

    const Callbacks callbacks = context.callbacks();
    std::string report;
    if (!f.run.empty()) {
      report = explain::explain_run(f.run, options, f.out, callbacks);
    } else if (!f.job_summary.empty()) {
      report = explain::explain_stylize_job(f.job_summary, options, f.out, callbacks);
    } else {
      Json method = method_options(f.config, f.method);
      f.job.method = chosen_method(*cmd, f.job.method, method);
      const MethodDescription& chosen = method_registry().get(f.job.method).description();
      if (!chosen.capabilities.takes_styles()) {
        // A method whose style is in its weights: the style images and the options it does not
        // have (loss flags) measure its result; the rest runs it.
        options.style_images = f.job.styles;
        f.job.styles.clear();
        Json run = Json::object();
        for (const auto& [k, v] : method.items()) (chosen.options.contains(k) ? run[k] : options.loss[k]) = v;
        method = run;
      }
      if (!options.discriminator.empty() && !chosen.capabilities.explains("network"))
        throw OptionError("discriminator", "a discriminator map needs a network (--model)");
      for (auto& m : f.job.masks)
        if (m == "none" || m == "-") m.clear();
      f.job.options = method;
      std::error_code ec;
      fs::create_directories(f.out, ec);
      if (!fs::is_directory(f.out)) throw FileError(f.out, "cannot create the report folder");
      f.job.output = f.out + "/result.png";
      if (run_stylize_job(f.job, callbacks).stopped_early) context.exit_code = 130;
      report = explain::explain_stylize_job(output_stem(f.job.output) + ".json", options, f.out, callbacks);
    }
    // Summarise from the index the report wrote.
    std::ifstream in(fs::path(report).parent_path() / "report.json");
    const Json index = Json::parse(in);
    int figures = 0, skipped = 0;
    for (const auto& s : index["sections"]) {
      figures += static_cast<int>(s["figures"].size());
      skipped += s["status"] == "skipped" ? 1 : 0;
    }
    if (context.exit_code == 0 && callbacks.stop_requested()) context.exit_code = 130;
    if (!context.quiet || context.exit_code != 0)
      std::fprintf(stderr, "wrote %s: %zu sections (%d not made), %d figures, in %.1f s\n", report.c_str(),
                   index["sections"].size(), skipped, figures, index.value("seconds", 0.0));
  });
  return cmd;
}

}  // namespace impasto::cli
