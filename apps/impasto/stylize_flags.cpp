#include "stylize_flags.h"

#include <fstream>

#include "impasto/core/error.h"

namespace impasto::cli {
namespace {

// Adds `--name` bound to flags[name_with_underscores] as JSON of type T.
template <class T>
CLI::Option* add_method_option(CLI::App* cmd, MethodFlags& f, const std::string& flag, const std::string& help) {
  std::string key = flag;
  for (char& c : key)
    if (c == '-') c = '_';
  return cmd->add_option_function<T>("--" + flag, [&f, key](const T& value) { f[key] = value; }, help);
}

}  // namespace

void add_stylize_method_flags(CLI::App* cmd, MethodFlags& f) {
  add_method_option<std::string>(cmd, f, "model", "trained network (.pth or checkpoint): fast_neural_style TransformerNet or CycleGAN generator; implies --method network");
  add_method_option<double>(cmd, f, "strength", "network: 0 = the photo .. 1 = the full style (default 1)");
  add_method_option<int64_t>(cmd, f, "tile", "network: tile side for large images (default 768)");
  add_method_option<int64_t>(cmd, f, "overlap", "network: pixels blended between tiles (default 64)");
  add_method_option<std::string>(cmd, f, "tile-statistics", "network: instance norms of tiles use the statistics of the whole image shrunk to a tile (image, default), of the full image measured norm by norm (exact: several times slower), or each tile's own (tile)");
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
}

Json method_options(const std::string& config_file, const MethodFlags& flags) {
  Json options = Json::object();
  if (!config_file.empty()) {
    std::ifstream in(config_file);
    if (!in) throw FileError(config_file, "cannot open config file");
    try {
      options = Json::parse(in);
    } catch (const Json::parse_error& e) {
      throw FormatError(config_file, std::string("not valid JSON: ") + e.what());
    }
    if (!options.is_object()) throw FormatError(config_file, "config must be a JSON object of method options");
  }
  for (const auto& [key, value] : flags) options[key] = value;
  return options;
}

}  // namespace impasto::cli
