// impasto list: what can be chosen by name (backbones and their layers, stylization methods), and
// what this CPU offers the reduced-precision paths.
#include "commands.h"
#include "impasto/core/cpu_features.h"
#include "impasto/core/text.h"
#include "impasto/nn/backbone.h"
#include "impasto/nn/winograd.h"
#include "impasto/style/method.h"

namespace impasto::cli {

CLI::App* add_list_command(CLI::App& app, Context&) {
  CLI::App* cmd = app.add_subcommand("list", "List backbones (with their layers) and stylization methods");
  cmd->callback([] {
    std::printf("backbones:\n");
    for (const auto& name : backbone_registry().names())
      std::printf("  %-18s %s\n", name.c_str(), backbone_registry().description(name).c_str());
    std::printf("  random-multiscale layers:");
    const Backbone random = make_backbone(BackboneOptions{});
    for (const auto& layer : random->layers()) std::printf(" %s", layer.c_str());
    std::printf("\n  vgg19 layers: relu1_1 ... relu5_4, conv1_1 ... conv5_4, pool1 ... pool5\n");
    std::printf("methods:\n");
    for (const auto& m : method_registry().methods()) {
      const MethodDescription& d = m->description();
      std::printf("  %-18s %s\n", d.name.c_str(), d.summary.c_str());
      std::printf("  %-18s options: %s\n", "", join(d.options.names()).c_str());
    }
    const CpuFeatures& cpu = cpu_features();
    std::printf("cpu: %s\n  flags: %s\n", cpu.model.empty() ? "(unknown model)" : cpu.model.c_str(), cpu.flags().c_str());
    std::printf("  precision auto: %s\n", cpu.native_bf16() ? (cpu.amx_bf16 ? "bf16 (native: AMX)" : "bf16 (native: AVX512-BF16)")
                                                            : "fp32 (no native bf16 on this CPU)");
    std::printf("  int8 (--precision int8: TransformerNet, ResNet generators): %s\n",
                cpu.native_int8() ? (cpu.amx_int8 ? "native (AMX-INT8); auto takes it for calibrated models within 30 dB of fp32"
                                                  : "native (VNNI); auto takes it for calibrated models within 30 dB of fp32")
                                  : "emulated (no VNNI on this CPU); only when requested");
    std::printf("  backbones' 3x3 convolutions (float32, 16k channels): Winograd %s\n", winograd_report().c_str());
  });
  return cmd;
}

}  // namespace impasto::cli
