// impasto export: a trained one-pass network as an ONNX file for other runtimes.
#include <cstdio>

#include "commands.h"
#include "impasto/core/error.h"
#include "impasto/style/export.h"

namespace impasto::cli {

CLI::App* add_export_command(CLI::App& app, Context& context) {
  struct ExportFlags {
    std::string model;
    std::string out;
  };
  auto f = std::make_shared<ExportFlags>();
  CLI::App* cmd = app.add_subcommand(
      "export", "Write a trained network as ONNX: a TransformerNet, a CycleGAN/pix2pix generator, or a GAN run's generator");
  cmd->add_option("--model", f->model,
                  "the network: a .pth or .ckpt (fast_neural_style, latest_net_G.pth, model.ckpt, G_A.ckpt), or a "
                  "`train feedforward` / `train gan` run folder")
      ->required();
  cmd->add_option("-o,--output", f->out, "the ONNX file to write")->required();
  cmd->callback([f, &context] {
    const OnnxExportResult r = export_onnx(f->model, f->out);
    if (!context.quiet)
      std::fprintf(stderr, "wrote %s (%s, %lld nodes, %.1f MB)\n%s\n", f->out.c_str(), r.kind.c_str(), static_cast<long long>(r.nodes),
                   static_cast<double>(r.bytes) / 1e6, r.description.c_str());
  });
  return cmd;
}

}  // namespace impasto::cli
