#pragma once
// `impasto export`: a network impasto runs or trains in one pass, as an ONNX file for other runtimes
// (nn/onnx_export.h has the graphs and their inputs and outputs):
//   a fast_neural_style TransformerNet (.pth, or the model.ckpt of `train feedforward`, or that run
//   folder), a CycleGAN/pix2pix generator (latest_net_G.pth, or G_A.ckpt / G_B.ckpt of `train
//   cyclegan`), the DCGAN generator of a `train gan` run (its folder or a checkpoint; EMA weights
//   when the checkpoint has them).
// The file's doc string and the returned description say what goes in and out.
#include <cstdint>
#include <string>

namespace impasto {

struct OnnxExportResult {
  std::string kind;         // transformer_net | cyclegan_generator | dcgan_generator
  std::string description;  // inputs, outputs, ranges and size constraints
  int64_t nodes = 0;
  int64_t bytes = 0;
};

// FileError / FormatError naming `model` when it is none of the above; OptionError("model") naming
// the layer when a network has one ONNX cannot express.
OnnxExportResult export_onnx(const std::string& model, const std::string& out);

}  // namespace impasto
