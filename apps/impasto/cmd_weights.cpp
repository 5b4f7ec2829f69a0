// impasto weights inspect|import: look into .pth files and convert them to impasto checkpoints.
#include <torch/torch.h>

#include "commands.h"
#include "impasto/nn/backbone.h"

namespace impasto::cli {
namespace {

std::string shape_of(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

}  // namespace

CLI::App* add_weights_command(CLI::App& app, Context& context) {
  CLI::App* cmd = app.add_subcommand("weights", "Inspect and import pretrained weight files");
  cmd->require_subcommand(1);

  auto inspect_file = std::make_shared<std::string>();
  CLI::App* inspect = cmd->add_subcommand("inspect", "List the tensors of a .pth file or impasto checkpoint");
  inspect->add_option("file", *inspect_file, "weight file")->required();
  inspect->callback([inspect_file] {
    std::string arch;
    const StateDict dict = load_weights(*inspect_file, &arch);
    if (!arch.empty()) std::printf("impasto checkpoint, architecture %s\n", arch.c_str());
    int64_t total = 0;
    size_t width = 3;
    for (const auto& [name, t] : dict) width = std::max(width, name.size());
    std::printf("%-*s  %-20s %s\n", static_cast<int>(width), "key", "shape", "dtype");
    for (const auto& [name, t] : dict) {
      std::printf("%-*s  %-20s %s\n", static_cast<int>(width), name.c_str(), shape_of(t).c_str(),
                  std::string(c10::toString(t.scalar_type())).c_str());
      total += t.numel();
    }
    std::printf("%zu tensors, %lld values\n", dict.size(), static_cast<long long>(total));
  });

  struct ImportFlags {
    std::string file, arch, output;
  };
  auto imp = std::make_shared<ImportFlags>();
  CLI::App* import = cmd->add_subcommand("import", "Check a .pth file against an architecture and save it as an impasto checkpoint");
  import->add_option("file", imp->file, "weight file (.pth)")->required();
  import->add_option("--arch", imp->arch, "architecture: vgg19, vgg16, vgg19-normalised, inception")->required();
  import->add_option("-o,--output", imp->output, "impasto checkpoint to write")->required();
  import->callback([imp, &context] {
    BackboneOptions options;
    options.name = imp->arch;
    options.weights = imp->file;
    // Building the backbone from the file checks every key and shape (first mismatch is an error).
    Backbone backbone = make_backbone(options);
    Checkpoint checkpoint;
    checkpoint.arch = backbone->name();
    checkpoint.meta = nlohmann::json{{"source", imp->file}, {"imported_by", "impasto weights import"}};
    checkpoint.tensors = module_state_dict(*backbone);
    save_checkpoint(imp->output, checkpoint);
    int64_t total = 0;
    for (const auto& [n, t] : checkpoint.tensors) total += t.numel();
    if (!context.quiet)
      std::fprintf(stderr, "wrote %s: %s, %zu tensors, %lld values\n", imp->output.c_str(), checkpoint.arch.c_str(),
                   checkpoint.tensors.size(), static_cast<long long>(total));
  });
  return cmd;
}

}  // namespace impasto::cli
