// impasto stylize: one content image + style image(s) -> a stylized image, losses.jsonl, summary;
// or every image of a folder into an output folder; or stdin to stdout (-c - / -o -).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>

#include "commands.h"
#include "impasto/core/error.h"
#include "impasto/style/job.h"

namespace impasto::cli {
namespace {

struct StylizeFlags {
  StylizeJob job;
  std::string config;  // JSON file of method options; flags override it
  int threads = 0;
  // Method options given as flags, collected as JSON values (only the ones the user set, so the
  // backbone's recipe fills in the rest).
  std::map<std::string, Json> options;
};

// Adds `--name` bound to options[name_with_underscores] as JSON of type T.
template <class T>
CLI::Option* add_method_option(CLI::App* cmd, StylizeFlags& f, const std::string& flag, const std::string& help) {
  std::string key = flag;
  for (char& c : key)
    if (c == '-') c = '_';
  return cmd->add_option_function<T>("--" + flag, [&f, key](const T& value) { f.options[key] = value; }, help);
}

}  // namespace

CLI::App* add_stylize_command(CLI::App& app, Context& context) {
  auto flags = std::make_shared<StylizeFlags>();
  auto& f = *flags;
  CLI::App* cmd = app.add_subcommand("stylize", "Stylize a photo with one or more style images");
  cmd->add_option("-c,--content", f.job.content, "content image (photo), a folder of them, or - for stdin")->required();
  cmd->add_option("-s,--style", f.job.styles, "style image(s); repeat or separate by commas (not with --model)")->delimiter(',');
  cmd->add_option("-o,--output", f.job.output, "output image (.png .jpg .webp .bmp .tif), output folder (with a content folder), or - for stdout")->capture_default_str();
  cmd->add_option("--format", f.job.format, "output format for -o - (default png) and for a folder's outputs (default: each input's): png, jpg, webp, bmp, tif");
  cmd->add_option("--method", f.job.method, "stylization method: gatys (optimisation) or network (--model)")->capture_default_str();
  add_method_option<std::string>(cmd, f, "model", "trained network (.pth or checkpoint): fast_neural_style TransformerNet or CycleGAN generator; implies --method network");
  add_method_option<double>(cmd, f, "strength", "network: 0 = the photo .. 1 = the full style (default 1)");
  add_method_option<int64_t>(cmd, f, "tile", "network: tile side for large images (default 768)");
  add_method_option<int64_t>(cmd, f, "overlap", "network: pixels blended between tiles (default 64)");
  add_method_option<std::string>(cmd, f, "tile-statistics", "network: instance norms of tiles use the statistics of the whole image shrunk to a tile (image, default), of the full image measured norm by norm (exact: several times slower), or each tile's own (tile)");
  cmd->add_option("--config", f.config, "JSON file with method options (flags override it)");
  cmd->add_option("--style-blend-weights", f.job.style_blend_weights, "one weight per style image (default all 1)")->delimiter(',');
  cmd->add_option("--masks", f.job.masks,
                  "one mask image per style (white = style here); '' or 'none' for a style without mask")->delimiter(',');
  cmd->add_option("--init-image", f.job.init_image, "start image (with --init image)");
  cmd->add_option("--losses", f.job.losses, "losses.jsonl path (default <output stem>.losses.jsonl)");
  cmd->add_option("--save-every", f.job.save_every, "write the current image every N iterations (0 = never)");
  cmd->add_option("--max-pixels", f.job.max_pixels, "refuse input images with more pixels (default 64 MP)")->capture_default_str();
  add_threads_flag(*cmd, f.threads);

  add_method_option<std::string>(cmd, f, "backbone", "feature network: random-multiscale (default, no download), vgg19, vgg16, vgg19-normalised");
  add_method_option<std::string>(cmd, f, "weights", "weight file for the backbone (.pth or impasto checkpoint)");
  add_method_option<std::string>(cmd, f, "pooling", "VGG pooling: max or avg");
  add_method_option<uint64_t>(cmd, f, "backbone-seed", "seed of the random-multiscale weights");
  add_method_option<double>(cmd, f, "content-weight", "alpha: weight of the content loss");
  add_method_option<double>(cmd, f, "style-weight", "beta: weight of the style loss");
  add_method_option<double>(cmd, f, "tv-weight", "weight of the total-variation loss");
  add_method_option<std::vector<std::string>>(cmd, f, "content-layers", "content layers, name or name:weight, comma separated")->delimiter(',');
  add_method_option<std::vector<std::string>>(cmd, f, "style-layers", "style layers, name or name:weight, comma separated")->delimiter(',');
  add_method_option<std::string>(cmd, f, "normalisation", "loss normalisation: energy, gatys or mse");
  add_method_option<std::string>(cmd, f, "optimizer", "lbfgs (default) or adam");
  add_method_option<int64_t>(cmd, f, "iterations", "iterations per scale (default 300)");
  add_method_option<double>(cmd, f, "learning-rate", "step size (default: L-BFGS 1, Adam 0.02)");
  add_method_option<int64_t>(cmd, f, "lbfgs-history", "L-BFGS history size (default 100)");
  add_method_option<std::string>(cmd, f, "init", "start from: content (default), noise or image");
  add_method_option<uint64_t>(cmd, f, "seed", "random seed (noise init)");
  add_method_option<int64_t>(cmd, f, "image-size", "longest side of the output in pixels (default: gatys 512, network the content size; 0 = content size)");
  add_method_option<double>(cmd, f, "style-scale", "style image size relative to the output (default 1)");
  add_method_option<std::string>(cmd, f, "preserve-colors", "none (default), luminance or histogram");
  add_method_option<int64_t>(cmd, f, "scales", "coarse-to-fine levels, each twice the previous size (default 1)");
  add_method_option<std::string>(cmd, f, "device", "auto (default), cpu or cuda");

  cmd->callback([flags, &context, cmd] {
    auto& f = *flags;
    Json options = Json::object();
    if (!f.config.empty()) {
      std::ifstream in(f.config);
      if (!in) throw FileError(f.config, "cannot open config file");
      try {
        options = Json::parse(in);
      } catch (const Json::parse_error& e) {
        throw FormatError(f.config, std::string("not valid JSON: ") + e.what());
      }
      if (!options.is_object()) throw FormatError(f.config, "config must be a JSON object of method options");
    }
    for (const auto& [key, value] : f.options) options[key] = value;
    for (auto& m : f.job.masks)
      if (m == "none" || m == "-") m.clear();
    if (options.contains("model") && cmd->count("--method") == 0) f.job.method = "network";
    f.job.options = options;
    namespace fs = std::filesystem;
    std::error_code ec;
    const bool to_stdout = f.job.output == "-";
    if (to_stdout) {
      f.job.write_output = [](const std::vector<uint8_t>& bytes) {
        if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() || std::fflush(stdout) != 0)
          throw FileError("stdout", "write failed");
      };
    }
    if (f.job.content != "-" && fs::is_directory(f.job.content, ec)) {
      if (cmd->count("--output") == 0) throw OptionError("output", "give the output folder for a folder of images (-o DIR)");
      const Json summary = run_stylize_folder(f.job, context.callbacks());
      const auto& skipped = summary["skipped"];
      if (!context.quiet || !skipped.empty())
        std::fprintf(stderr, "wrote %lld of %lld images to %s in %.1f s\n", static_cast<long long>(summary["written"].get<int64_t>()),
                     static_cast<long long>(summary["images"].get<int64_t>()), f.job.output.c_str(), summary["seconds"].get<double>());
      if (summary["stopped_early"].get<bool>()) {
        std::fprintf(stderr, "interrupted: the remaining images were not stylized\n");
        context.exit_code = 130;
      } else if (!skipped.empty()) {
        std::fprintf(stderr, "error: %zu image(s) could not be read and were skipped:\n", skipped.size());
        for (const auto& s : skipped) std::fprintf(stderr, "  %s\n", s["error"].get<std::string>().c_str());
        context.exit_code = 1;
      }
      return;
    }
    if (f.job.content == "-") {
      f.job.content_bytes.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
      if (f.job.content_bytes.empty()) throw OptionError("content", "no image on stdin (-c -)");
      f.job.content.clear();
    }
    Json summary = run_stylize_job(f.job, context.callbacks());
    const std::string written = to_stdout ? "stdout" : f.job.output;
    if (summary.value("method", "") == "network") {
      if (!context.quiet)
        std::fprintf(stderr, "wrote %s (%dx%d) with the %s in %.1f s (%lld tiles)\n", written.c_str(),
                     summary["width"].get<int>(), summary["height"].get<int>(),
                     summary["network"] == "transformer_net" ? "TransformerNet" : "CycleGAN generator",
                     summary["seconds"].get<double>(), static_cast<long long>(summary["tiles"].get<int64_t>()));
      return;
    }
    if (summary.value("stopped_early", false)) {
      std::fprintf(stderr, "interrupted at step %lld: wrote the result so far to %s\n",
                   static_cast<long long>(summary["final"]["step"].get<int64_t>()), written.c_str());
      context.exit_code = 130;
      return;
    }
    if (!context.quiet) {
      const auto& fin = summary["final"];
      std::fprintf(stderr, "wrote %s (%dx%d) in %.1f s; final loss %.4g (content %.4g, style %.4g, tv %.4g); losses in %s\n",
                   written.c_str(), summary["width"].get<int>(), summary["height"].get<int>(),
                   summary["seconds"].get<double>(), fin["total"].get<double>(), fin["content"].get<double>(),
                   fin["style"].get<double>(), fin["tv"].get<double>(),
                   summary["losses"].get<std::string>().empty() ? "(none: --losses FILE)" : summary["losses"].get<std::string>().c_str());
    }
  });
  return cmd;
}

}  // namespace impasto::cli
