#include "impasto/style/export.h"

#include <filesystem>

#include "impasto/core/error.h"
#include "impasto/io/weights.h"
#include "impasto/nn/gan_model.h"
#include "impasto/nn/onnx_export.h"
#include "impasto/style/network.h"

namespace impasto {

namespace {

namespace fs = std::filesystem;

OnnxExportResult write(const OnnxGraph& graph, const std::string& kind, const std::string& description, const std::string& out) {
  graph.write(out, "impasto", description);
  OnnxExportResult r;
  r.kind = kind;
  r.description = description;
  r.nodes = static_cast<int64_t>(graph.node_count());
  r.bytes = static_cast<int64_t>(fs::file_size(out));
  return r;
}

OnnxExportResult export_style_network(const std::string& file, const std::string& out) {
  const StyleNetwork net = load_style_network(file);
  if (net.transformer)
    return write(transformer_net_onnx(*net.transformer), net.kind,
                 "fast_neural_style TransformerNet. Input 'image' [N,3,H,W]: RGB in [0,1], H and W multiples of 4 (at least "
                 "8). Output 'stylized' [N,3,H,W]: RGB in [0,1].",
                 out);
  const int64_t m = net.cyclegan->size_multiple();
  return write(cyclegan_generator_onnx(*net.cyclegan), net.kind,
               "CycleGAN/pix2pix generator (" + net.cyclegan->options().arch + "). Input 'image' [N," +
                   std::to_string(net.cyclegan->options().input_nc) + ",H,W] in [0,1], H and W multiples of " +
                   std::to_string(m) + " (at least " + std::to_string(net.cyclegan->min_side()) + "). Output 'translated' [N," +
                   std::to_string(net.cyclegan->options().output_nc) + ",H,W] in [0,1].",
               out);
}

OnnxExportResult export_gan(const std::string& run, const std::string& out) {
  const GanModel model = load_gan_model(run);
  const GanNetOptions& n = model.nets;
  return write(generator_onnx(*model.generator, n), "dcgan_generator",
               "DCGAN generator of a GAN run (step " + std::to_string(model.step) + (model.ema ? ", EMA weights" : "") +
                   "). Input 'z' [N," + std::to_string(n.z_dim) + "]: standard normal latents. Output 'image' [N," +
                   std::to_string(n.channels) + "," + std::to_string(n.size) + "," + std::to_string(n.size) + "] in [0,1].",
               out);
}

}  // namespace

OnnxExportResult export_onnx(const std::string& model, const std::string& out) {
  std::error_code ec;
  if (!fs::exists(model, ec)) throw FileError(model, "no such model file or run folder");
  if (fs::is_directory(model, ec)) {
    // A feed-forward run's exported network, else a GAN run's generator.
    if (fs::exists(fs::path(model) / "model.ckpt", ec)) return export_style_network((fs::path(model) / "model.ckpt").string(), out);
    return export_gan(model, out);
  }
  std::string arch;
  load_weights(model, &arch);
  if (arch == "gan") return export_gan(model, out);
  return export_style_network(model, out);
}

}  // namespace impasto
