#pragma once
// The networks as ONNX graphs (io/onnx.h), for other runtimes (ONNX Runtime, OpenCV's dnn module,
// phones and browsers). A network's forward is written node by node: standard layers map onto ONNX
// operators, and the modules whose forward is more than a sequence (residual blocks, skip
// connections, a TransformerNet) write themselves (OnnxExportable). Everything is exported as in
// eval mode: batch norm with its running statistics, dropout as the identity.
//
// Whole networks are exported with the canonical image range at their boundary (the conversions of
// their forward are part of the graph):
//   transformer_net_onnx     "image" [N,3,H,W] in [0,1] -> "stylized" [N,3,H,W] in [0,1]
//   cyclegan_generator_onnx  "image" [N,C,H,W] in [0,1] -> "translated" [N,C',H,W] in [0,1]
//   generator_onnx (DCGAN)   "z" [N,z_dim] ~ N(0,I)      -> "image" [N,C,S,S] in [0,1]
// N, H and W are dynamic. The graphs do not pad: H and W must be multiples of the network's stride
// (4 for TransformerNet and the ResNet generators, 2^levels for a U-Net), which the library pads to
// by itself; the model's doc string says so.
#include <torch/nn/module.h>

#include <string>

#include "impasto/io/onnx.h"

namespace impasto {

class TransformerNetImpl;
class CycleGanGeneratorImpl;
class GeneratorImpl;
struct GanNetOptions;

class OnnxExportable {
 public:
  virtual ~OnnxExportable() = default;
  // Appends the nodes of forward() applied to the value `x`; returns the output value. `path` names
  // the module in messages and node names.
  virtual std::string to_onnx(OnnxGraph& graph, const std::string& x, const std::string& path) const = 0;
};

// The nodes of `module`'s forward on the value `x`: an OnnxExportable writes itself, a Sequential
// exports its modules in order, and Conv2d, ConvTranspose2d, Linear, ReflectionPad2d, ReLU,
// LeakyReLU, Tanh, BatchNorm2d, InstanceNorm2d and nn/instance_norm.h's InstanceNorm, nearest
// Upsample, Dropout and Identity map onto operators. OptionError("model") naming the layer (its
// path and type) for anything else, or for a layer option ONNX cannot express.
std::string onnx_forward(const torch::nn::Module& module, OnnxGraph& graph, const std::string& x, const std::string& path);

// Building blocks for OnnxExportable modules: reflection padding (left, right, top, bottom) and
// nearest-neighbour upsampling as PyTorch computes them.
std::string onnx_reflection_pad(OnnxGraph& graph, const std::string& x, const std::string& path, int64_t left, int64_t right,
                                int64_t top, int64_t bottom);
std::string onnx_upsample_nearest(OnnxGraph& graph, const std::string& x, const std::string& path, double scale_h, double scale_w);

OnnxGraph transformer_net_onnx(const TransformerNetImpl& net);
OnnxGraph cyclegan_generator_onnx(const CycleGanGeneratorImpl& generator);
OnnxGraph generator_onnx(const GeneratorImpl& generator, const GanNetOptions& nets);

}  // namespace impasto
