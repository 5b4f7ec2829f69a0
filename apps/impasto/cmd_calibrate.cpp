// impasto calibrate: a TransformerNet's int8 statistics measured on the user's photos and written
// beside the model (style/int8_calibration.h), where `stylize --precision int8|auto` finds them.
#include <cstdio>

#include "commands.h"
#include "impasto/style/int8_calibration.h"

namespace impasto::cli {

CLI::App* add_calibrate_command(CLI::App& app, Context& context) {
  struct CalibrateFlags {
    std::string model, out;
    std::vector<std::string> images;
    int64_t max_side = 512;
  };
  auto f = std::make_shared<CalibrateFlags>();
  CLI::App* cmd = app.add_subcommand(
      "calibrate", "Measure a TransformerNet's int8 statistics on a few photos and write them beside the model (<model>.int8.json)");
  cmd->add_option("--model", f->model, "the network (.pth or .ckpt of a TransformerNet)")->required();
  cmd->add_option("images", f->images, "photos like the ones the model will stylize (4 to 16 are plenty)")->required();
  cmd->add_option("-o,--output", f->out, "where to write the statistics (default: <model>.int8.json)");
  cmd->add_option("--max-side", f->max_side, "photos are shrunk to this longest side first (default 512)")->check(CLI::Range(32, 8192));
  cmd->callback([f, &context] {
    const Json j = calibrate_model_file(f->model, f->images, f->out, f->max_side);
    if (!context.quiet)
      std::fprintf(stderr, "wrote %s: %zu points from %zu photos (engine %s)\n",
                   (f->out.empty() ? int8_statistics_path(f->model) : f->out).c_str(), j["points"].size(), f->images.size(),
                   j.value("engine", "").c_str());
  });
  return cmd;
}

}  // namespace impasto::cli
