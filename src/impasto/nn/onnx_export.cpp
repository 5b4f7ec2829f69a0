#include "impasto/nn/onnx_export.h"

#include <torch/torch.h>

#include "impasto/core/error.h"
#include "impasto/nn/cyclegan_nets.h"
#include "impasto/nn/gan_nets.h"
#include "impasto/nn/instance_norm.h"
#include "impasto/nn/transformer_net.h"

namespace impasto {

namespace {

namespace nn = torch::nn;

[[noreturn]] void not_exportable(const std::string& path, const std::string& what) {
  throw OptionError("model", "layer '" + path + "' (" + what + ") cannot be exported to ONNX");
}

std::vector<int64_t> pair_of(const torch::ExpandingArray<2>& a) { return {a->at(0), a->at(1)}; }

std::string conv(OnnxGraph& g, const std::string& x, const std::string& path, const at::Tensor& weight,
                 const at::Tensor& bias, std::vector<int64_t> stride, std::vector<int64_t> padding,
                 std::vector<int64_t> dilation, int64_t groups) {
  std::vector<std::string> inputs = {x, g.constant(weight, path + ".weight")};
  if (bias.defined()) inputs.push_back(g.constant(bias, path + ".bias"));
  return g.node("Conv", inputs,
                {OnnxAttribute::integers("kernel_shape", {weight.size(2), weight.size(3)}),
                 OnnxAttribute::integers("strides", stride),
                 OnnxAttribute::integers("pads", {padding[0], padding[1], padding[0], padding[1]}),
                 OnnxAttribute::integers("dilations", dilation), OnnxAttribute::integer("group", groups)},
                path);
}

// Normalisation per channel with fixed statistics (batch norm in eval mode, or an instance norm
// given the statistics of a whole image): (x - mean) / sqrt(var + eps) * weight + bias.
std::string batch_norm(OnnxGraph& g, const std::string& x, const std::string& path, at::Tensor weight, at::Tensor bias,
                       const at::Tensor& mean, const at::Tensor& var, double eps) {
  if (!weight.defined()) weight = torch::ones_like(mean);
  if (!bias.defined()) bias = torch::zeros_like(mean);
  return g.node("BatchNormalization",
                {x, g.constant(weight, path + ".weight"), g.constant(bias, path + ".bias"),
                 g.constant(mean, path + ".running_mean"), g.constant(var, path + ".running_var")},
                {OnnxAttribute::real("epsilon", static_cast<float>(eps))}, path);
}

std::string instance_norm(OnnxGraph& g, const std::string& x, const std::string& path, int64_t channels, at::Tensor weight,
                          at::Tensor bias, double eps) {
  if (!weight.defined()) weight = torch::ones({channels});
  if (!bias.defined()) bias = torch::zeros({channels});
  return g.node("InstanceNormalization", {x, g.constant(weight, path + ".weight"), g.constant(bias, path + ".bias")},
                {OnnxAttribute::real("epsilon", static_cast<float>(eps))}, path);
}

}  // namespace

// Nearest-neighbour upsampling as PyTorch does it: output pixel i reads input pixel floor(i / s).
std::string onnx_upsample_nearest(OnnxGraph& g, const std::string& x, const std::string& path, double scale_h, double scale_w) {
  const std::string scales = g.constant(torch::tensor({1.0f, 1.0f, static_cast<float>(scale_h), static_cast<float>(scale_w)}),
                                        path + ".scales");
  const std::string roi = g.constant(torch::zeros({0}), path + ".roi");  // unused by nearest resizing
  return g.node("Resize", {x, roi, scales},
                {OnnxAttribute::text("mode", "nearest"), OnnxAttribute::text("coordinate_transformation_mode", "asymmetric"),
                 OnnxAttribute::text("nearest_mode", "floor")},
                path);
}

namespace {

// x * a + b with scalar a and b (range conversions at a network's boundary).
std::string affine(OnnxGraph& g, const std::string& x, float a, float b, const std::string& hint) {
  const std::string scaled = g.node("Mul", {x, g.constant_scalar(a, hint + ".scale")}, {}, hint + "_scaled");
  return b == 0 ? scaled : g.node("Add", {scaled, g.constant_scalar(b, hint + ".shift")}, {}, hint);
}

// min(max(x, 0), 1) as 1 - relu(1 - relu(x)): Clip with its bounds as inputs (opset 11 on) is not
// read by every runtime (OpenCV 4.6 takes only the attribute form of opset 6).
std::string clip01(OnnxGraph& g, const std::string& x, const std::string& hint) {
  const std::string low = g.node("Relu", {x}, {}, hint + "_low");
  const std::string high = g.node("Relu", {affine(g, low, -1.0f, 1.0f, hint + "_flip")}, {}, hint + "_high");
  return affine(g, high, -1.0f, 1.0f, hint);
}

std::vector<OnnxDim> image_dims(int64_t channels) {
  return {OnnxDim::named("batch"), channels, OnnxDim::named("height"), OnnxDim::named("width")};
}

}  // namespace

std::string onnx_reflection_pad(OnnxGraph& g, const std::string& x, const std::string& path, int64_t left, int64_t right, int64_t top,
                           int64_t bottom) {
  // ONNX pads are [x1_begin, x2_begin, ..., x1_end, x2_end, ...] over N, C, H, W.
  return g.node("Pad", {x, g.constant_ints({0, 0, top, left, 0, 0, bottom, right}, path + ".pads")},
                {OnnxAttribute::text("mode", "reflect")}, path);
}

std::string onnx_forward(const torch::nn::Module& module, OnnxGraph& g, const std::string& x, const std::string& path) {
  if (const auto* own = dynamic_cast<const OnnxExportable*>(&module)) return own->to_onnx(g, x, path);
  if (const auto* seq = dynamic_cast<const nn::SequentialImpl*>(&module)) {
    std::string y = x;
    size_t i = 0;
    for (const auto& child : seq->children()) y = onnx_forward(*child, g, y, path + "." + std::to_string(i++));
    return y;
  }
  if (const auto* c = dynamic_cast<const nn::Conv2dImpl*>(&module)) {
    const auto& o = c->options;
    if (!c10::holds_alternative<torch::ExpandingArray<2>>(o.padding())) not_exportable(path, "Conv2d with 'same' or 'valid' padding");
    if (!c10::holds_alternative<torch::enumtype::kZeros>(o.padding_mode())) not_exportable(path, "Conv2d with a padding mode other than zeros");
    return conv(g, x, path, c->weight, c->bias, pair_of(o.stride()), pair_of(c10::get<torch::ExpandingArray<2>>(o.padding())),
                pair_of(o.dilation()), o.groups());
  }
  if (const auto* c = dynamic_cast<const nn::ConvTranspose2dImpl*>(&module)) {
    const auto& o = c->options;
    if (!c10::holds_alternative<torch::ExpandingArray<2>>(o.padding())) not_exportable(path, "ConvTranspose2d with 'same' or 'valid' padding");
    const auto pad = pair_of(c10::get<torch::ExpandingArray<2>>(o.padding()));
    std::vector<std::string> inputs = {x, g.constant(c->weight, path + ".weight")};
    if (c->bias.defined()) inputs.push_back(g.constant(c->bias, path + ".bias"));
    return g.node("ConvTranspose", inputs,
                  {OnnxAttribute::integers("kernel_shape", {c->weight.size(2), c->weight.size(3)}),
                   OnnxAttribute::integers("strides", pair_of(o.stride())),
                   OnnxAttribute::integers("pads", {pad[0], pad[1], pad[0], pad[1]}),
                   OnnxAttribute::integers("output_padding", pair_of(o.output_padding())),
                   OnnxAttribute::integers("dilations", pair_of(o.dilation())), OnnxAttribute::integer("group", o.groups())},
                  path);
  }
  if (const auto* l = dynamic_cast<const nn::LinearImpl*>(&module)) {
    std::vector<std::string> inputs = {x, g.constant(l->weight, path + ".weight")};
    if (l->bias.defined()) inputs.push_back(g.constant(l->bias, path + ".bias"));
    return g.node("Gemm", inputs, {OnnxAttribute::integer("transB", 1)}, path);  // x W^T + b
  }
  if (const auto* p = dynamic_cast<const nn::ReflectionPad2dImpl*>(&module)) {
    const auto& pad = p->options.padding();  // left, right, top, bottom
    return onnx_reflection_pad(g, x, path, pad->at(0), pad->at(1), pad->at(2), pad->at(3));
  }
  if (dynamic_cast<const nn::ReLUImpl*>(&module)) return g.node("Relu", {x}, {}, path);
  if (dynamic_cast<const nn::TanhImpl*>(&module)) return g.node("Tanh", {x}, {}, path);
  if (const auto* r = dynamic_cast<const nn::LeakyReLUImpl*>(&module))
    return g.node("LeakyRelu", {x}, {OnnxAttribute::real("alpha", static_cast<float>(r->options.negative_slope()))}, path);
  if (dynamic_cast<const nn::DropoutImpl*>(&module) || dynamic_cast<const nn::IdentityImpl*>(&module)) return x;
  if (const auto* b = dynamic_cast<const nn::BatchNorm2dImpl*>(&module)) {
    if (!b->running_mean.defined()) not_exportable(path, "BatchNorm2d without running statistics");
    return batch_norm(g, x, path, b->weight, b->bias, b->running_mean, b->running_var, b->options.eps());
  }
  if (const auto* n = dynamic_cast<const InstanceNormImpl*>(&module)) {
    if (n->has_statistics())  // the statistics of a whole image, fixed: a batch norm
      return batch_norm(g, x, path, n->weight, n->bias, n->fixed_mean(), n->fixed_var(), n->eps());
    return instance_norm(g, x, path, n->channels(), n->weight, n->bias, n->eps());
  }
  if (const auto* n = dynamic_cast<const nn::InstanceNorm2dImpl*>(&module)) {
    if (n->options.track_running_stats()) not_exportable(path, "InstanceNorm2d with running statistics");
    return instance_norm(g, x, path, n->options.num_features(), n->weight, n->bias, n->options.eps());
  }
  if (const auto* u = dynamic_cast<const nn::UpsampleImpl*>(&module)) {
    const auto& o = u->options;
    if (!c10::holds_alternative<torch::enumtype::kNearest>(o.mode()) || !o.scale_factor() || o.scale_factor()->size() != 2)
      not_exportable(path, "Upsample other than nearest with two scale factors");
    return onnx_upsample_nearest(g, x, path, o.scale_factor()->at(0), o.scale_factor()->at(1));
  }
  not_exportable(path, module.name());
}

OnnxGraph transformer_net_onnx(const TransformerNetImpl& net) {
  OnnxGraph g("transformer_net");
  g.input("image", image_dims(3));
  // The reference network works on [0,255] images (fast_neural_style); impasto's boundary is [0,1].
  const std::string x = affine(g, "image", 255.0f, 0.0f, "to_255");
  const std::string y = onnx_forward(net, g, x, "net");
  g.output(clip01(g, affine(g, y, 1.0f / 255.0f, 0.0f, "from_255"), "clip"), "stylized", image_dims(3));
  return g;
}

OnnxGraph cyclegan_generator_onnx(const CycleGanGeneratorImpl& generator) {
  OnnxGraph g("cyclegan_generator");
  g.input("image", image_dims(generator.options().input_nc));
  const std::string x = affine(g, "image", 2.0f, -1.0f, "to_gan_range");  // [0,1] -> [-1,1]
  const std::string y = onnx_forward(generator, g, x, "G");
  g.output(clip01(g, affine(g, y, 0.5f, 0.5f, "from_gan_range"), "clip"), "translated", image_dims(generator.options().output_nc));
  return g;
}

OnnxGraph generator_onnx(const GeneratorImpl& generator, const GanNetOptions& nets) {
  if (nets.arch != "dcgan") throw OptionError("model", "only DCGAN image generators are exported to ONNX, not '" + nets.arch + "'");
  OnnxGraph g("dcgan_generator");
  g.input("z", {OnnxDim::named("batch"), nets.z_dim});
  // [N, z] -> [N, z, 1, 1], as the generator's forward reshapes it.
  const std::string z4 = g.node("Reshape", {"z", g.constant_ints({-1, nets.z_dim, 1, 1}, "z_shape")}, {}, "z_4d");
  const std::string y = onnx_forward(generator, g, z4, "G");
  g.output(clip01(g, affine(g, y, 0.5f, 0.5f, "from_gan_range"), "clip"), "image",
           {OnnxDim::named("batch"), nets.channels, nets.size, nets.size});
  return g;
}

}  // namespace impasto
