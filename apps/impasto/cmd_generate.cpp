// impasto generate: new samples from a trained GAN (a run folder or a checkpoint): a grid, one file
// per image, or latent interpolation strips.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <torch/torch.h>

#include "commands.h"
#include "impasto/core/error.h"
#include "impasto/core/runtime.h"
#include "impasto/io/chart.h"
#include "impasto/io/grid.h"
#include "impasto/io/image.h"
#include "impasto/nn/gan_model.h"

namespace impasto::cli {

CLI::App* add_generate_command(CLI::App& app, Context& context) {
  struct GenerateFlags {
    std::string model;
    std::string output = "samples.png";
    int64_t count = 64;
    int64_t columns = 0;
    double truncation = 0;
    int64_t interpolate = 0;
    uint64_t seed = 0;
    int64_t category = -1;
    bool no_ema = false;
    std::string device = "auto";
    int threads = 0;
  };
  auto f = std::make_shared<GenerateFlags>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate images from a trained GAN");
  cmd->add_option("-m,--model", f->model, "GAN run folder or checkpoint (.ckpt)")->required();
  cmd->add_option("-o,--output", f->output,
                  "an image file for a grid (or strips), or a folder (ending in /) for one file per image; "
                  ".csv for point generators")->capture_default_str();
  cmd->add_option("-n,--count", f->count, "how many samples (with --interpolate: how many strips)")->capture_default_str()->check(CLI::Range(1, 4096));
  cmd->add_option("--columns", f->columns, "grid columns (0 = square)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--truncation", f->truncation, "truncation trick: redraw latent coordinates beyond +-t (0 = off)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--interpolate", f->interpolate, "instead: strips of K images along a spherical path between two random latents")->check(CLI::Range(0, 64));
  cmd->add_option("--seed", f->seed, "seed of the latents")->capture_default_str();
  cmd->add_option("--category", f->category,
                  "for a GAN trained with --categories K: every sample of this category (0..K-1; default: drawn)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--no-ema", f->no_ema, "use the raw generator weights instead of their moving average");
  cmd->add_option("--device", f->device, "auto, cpu or cuda")->capture_default_str();
  add_threads_flag(*cmd, f->threads);
  cmd->callback([f, &context] {
    namespace fs = std::filesystem;
    if (f->interpolate == 1) throw OptionError("interpolate", "needs at least 2 images per strip");
    GanModel model = load_gan_model(f->model, !f->no_ema, resolve_device(f->device));
    const int64_t z_dim = model.nets.z_dim;
    at::Tensor z;
    if (f->interpolate > 0) {
      const at::Tensor ends = sample_gan_latents(model.nets, 2 * f->count, f->truncation, f->seed, f->category);
      std::vector<at::Tensor> rows;
      for (int64_t k = 0; k < f->interpolate; ++k)
        rows.push_back(slerp(ends.narrow(0, 0, f->count), ends.narrow(0, f->count, f->count),
                             static_cast<double>(k) / (f->interpolate - 1)));
      z = at::stack(rows, 1).reshape({f->count * f->interpolate, z_dim});  // strip-major
    } else {
      z = sample_gan_latents(model.nets, f->count, f->truncation, f->seed, f->category);
    }
    const at::Tensor samples = generate(model, z);
    const std::string& out = f->output;
    const bool folder = !out.empty() && (out.back() == '/' || fs::is_directory(out));
    std::string what;
    if (samples.dim() != 4) {
      if (fs::path(out).extension() == ".csv") {
        std::ofstream csv(out);
        if (!csv) throw FileError(out, "cannot write");
        csv << "x,y\n";
        const auto p = samples.to(at::kDouble).contiguous();
        for (int64_t i = 0; i < p.size(0); ++i) csv << p[i][0].item<double>() << "," << p[i][1].item<double>() << "\n";
      } else {
        write_image(out, scatter_plot(samples));
      }
      what = std::to_string(samples.size(0)) + " points";
    } else if (folder) {
      fs::create_directories(out);
      for (int64_t i = 0; i < samples.size(0); ++i) {
        char name[32];
        std::snprintf(name, sizeof name, "%04lld.png", static_cast<long long>(i));
        write_image((fs::path(out) / name).string(), samples[i].unsqueeze(0));
      }
      what = std::to_string(samples.size(0)) + " images";
    } else {
      check_image_output_path(out);
      std::vector<at::Tensor> images;
      for (int64_t i = 0; i < samples.size(0); ++i) images.push_back(samples[i].unsqueeze(0));
      const int64_t columns = f->interpolate > 0 ? f->interpolate : f->columns;  // 0 = square
      write_image(out, make_grid(images, columns, std::max<int64_t>(samples.size(2), 64), 2));
      what = f->interpolate > 0 ? std::to_string(f->count) + " interpolation strips of " + std::to_string(f->interpolate)
                                : std::to_string(samples.size(0)) + " images";
    }
    if (!context.quiet)
      std::printf("wrote %s to %s (step %lld, %s weights)\n", what.c_str(), out.c_str(),
                  static_cast<long long>(model.step), model.ema ? "EMA" : "raw");
  });
  return cmd;
}

}  // namespace impasto::cli
