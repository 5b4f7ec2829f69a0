// impasto stylize: one content image + style image(s) -> a stylized image, losses.jsonl, summary.
#include "commands.h"
#include "impasto/core/error.h"
#include "impasto/style/job.h"
#include "stylize_flags.h"

namespace impasto::cli {

CLI::App* add_stylize_command(CLI::App& app, Context& context) {
  struct StylizeFlags {
    StylizeJob job;
    std::string config;  // JSON file of method options; flags override it
    int threads = 0;
    MethodFlags options;
  };
  auto flags = std::make_shared<StylizeFlags>();
  auto& f = *flags;
  CLI::App* cmd = app.add_subcommand("stylize", "Stylize a photo with one or more style images");
  cmd->add_option("-c,--content", f.job.content, "content image (photo)")->required();
  cmd->add_option("-s,--style", f.job.styles, "style image(s); repeat or separate by commas (not with --model)")->delimiter(',');
  cmd->add_option("-o,--output", f.job.output, "output image (.png .jpg .webp .bmp .tif)")->capture_default_str();
  cmd->add_option("--method", f.job.method, "stylization method: gatys (optimisation) or network (--model)")->capture_default_str();
  cmd->add_option("--config", f.config, "JSON file with method options (flags override it)");
  cmd->add_option("--style-blend-weights", f.job.style_blend_weights, "one weight per style image (default all 1)")->delimiter(',');
  cmd->add_option("--masks", f.job.masks,
                  "one mask image per style (white = style here); '' or 'none' for a style without mask")->delimiter(',');
  cmd->add_option("--init-image", f.job.init_image, "start image (with --init image)");
  cmd->add_option("--losses", f.job.losses, "losses.jsonl path (default <output stem>.losses.jsonl)");
  cmd->add_option("--save-every", f.job.save_every, "write the current image every N iterations (0 = never)");
  cmd->add_option("--max-pixels", f.job.max_pixels, "refuse input images with more pixels (default 64 MP)")->capture_default_str();
  add_threads_flag(*cmd, f.threads);
  add_stylize_method_flags(cmd, f.options);

  cmd->callback([flags, &context, cmd] {
    auto& f = *flags;
    Json options = method_options(f.config, f.options);
    for (auto& m : f.job.masks)
      if (m == "none" || m == "-") m.clear();
    if (options.contains("model") && cmd->count("--method") == 0) f.job.method = "network";
    f.job.options = options;
    Json summary = run_stylize_job(f.job, context.callbacks());
    if (summary.value("method", "") == "network") {
      if (!context.quiet)
        std::fprintf(stderr, "wrote %s (%dx%d) with the %s in %.1f s (%lld tiles)\n", f.job.output.c_str(),
                     summary["width"].get<int>(), summary["height"].get<int>(),
                     summary["network"] == "transformer_net" ? "TransformerNet" : "CycleGAN generator",
                     summary["seconds"].get<double>(), static_cast<long long>(summary["tiles"].get<int64_t>()));
      return;
    }
    if (summary.value("stopped_early", false)) {
      std::fprintf(stderr, "interrupted at step %lld: wrote the result so far to %s\n",
                   static_cast<long long>(summary["final"]["step"].get<int64_t>()), f.job.output.c_str());
      context.exit_code = 130;
      return;
    }
    if (!context.quiet) {
      const auto& fin = summary["final"];
      std::fprintf(stderr, "wrote %s (%dx%d) in %.1f s; final loss %.4g (content %.4g, style %.4g, tv %.4g); losses in %s\n",
                   f.job.output.c_str(), summary["width"].get<int>(), summary["height"].get<int>(),
                   summary["seconds"].get<double>(), fin["total"].get<double>(), fin["content"].get<double>(),
                   fin["style"].get<double>(), fin["tv"].get<double>(), summary["losses"].get<std::string>().c_str());
    }
  });
  return cmd;
}

}  // namespace impasto::cli
