// impasto demo: the built-in default job. Synthesises a photo-like landscape and a painting-like
// texture, stylizes one with the other on the default backbone (no download), and writes the
// inputs, the result, its losses and a side-by-side strip into one folder.
#include <sys/stat.h>

#include <torch/torch.h>

#include "commands.h"
#include "impasto/core/error.h"
#include "impasto/data/synthetic.h"
#include "impasto/io/grid.h"
#include "impasto/io/image.h"
#include "impasto/style/job.h"

namespace impasto::cli {

CLI::App* add_demo_command(CLI::App& app, Context& context) {
  struct DemoFlags {
    std::string out = "demo-out";
    int64_t size = 256;
    int64_t iterations = 150;
    int threads = 0;
  };
  auto f = std::make_shared<DemoFlags>();
  CLI::App* cmd = app.add_subcommand("demo", "Stylize a synthetic photo with a synthetic painting (no input files, no download)");
  cmd->add_option("-o,--output-dir", f->out, "folder for the results")->capture_default_str();
  cmd->add_option("--image-size", f->size, "longest side in pixels")->capture_default_str()->check(CLI::Range(32, 4096));
  cmd->add_option("--iterations", f->iterations, "L-BFGS iterations")->capture_default_str()->check(CLI::Range(1, 100000));
  add_threads_flag(*cmd, f->threads);
  cmd->callback([f, &context] {
    if (mkdir(f->out.c_str(), 0755) != 0 && errno != EEXIST) throw FileError(f->out, "cannot create folder");
    const std::string dir = f->out + "/";
    write_image(dir + "content.png", synthetic_landscape(f->size * 3 / 4, f->size, 1));
    write_image(dir + "style.png", synthetic_painting(f->size, f->size, 2));
    StylizeJob job;
    job.content = dir + "content.png";
    job.styles = {dir + "style.png"};
    job.output = dir + "result.png";
    job.options = Json{{"image_size", f->size}, {"iterations", f->iterations}};
    const StylizeJobResult result_info = run_stylize_job(job, context.callbacks());
    const auto content = read_image(job.content).rgb, style = read_image(job.styles[0]).rgb,
               result = read_image(job.output).rgb;
    write_image(dir + "compare.png", make_grid({content, style, result}, 3, f->size * 3 / 4));
    std::printf("demo: wrote %scontent.png, style.png, result.png, compare.png (content | style | result), "
                "result.losses.jsonl, result.losses.png (loss curves) and result.json\n"
                "%s after %lld iterations in %.1f s\n",
                dir.c_str(), result_info.detail.c_str(), static_cast<long long>(result_info.steps), result_info.seconds);
  });
  return cmd;
}

}  // namespace impasto::cli
