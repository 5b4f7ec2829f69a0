#pragma once
// Writing ONNX models (onnx.ai): a graph built node by node and written as a ModelProto in
// protobuf's wire format, directly (no protobuf library: the few messages and field numbers are
// onnx.proto's, as Debian's libonnx-dev ships it). IR version 7, operator set 13 of the default
// domain: what ONNX Runtime, OpenCV's dnn module and the browser runtimes read.
//
//   OnnxGraph g("transformer_net");
//   g.input("image", {OnnxDim::named("batch"), 3, OnnxDim::named("height"), OnnxDim::named("width")});
//   std::string y = g.node("Conv", {"image", g.constant(weight, "conv1.weight")}, {OnnxAttribute::ints("strides", {1, 1})});
//   g.output(y, "stylized", {...});
//   g.write("net.onnx", "impasto", "what the model does");
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace impasto {

// A dimension of an input or output: a fixed size, or a name for a size given at run time.
struct OnnxDim {
  int64_t value = -1;
  std::string name;
  OnnxDim(int64_t v) : value(v) {}  // NOLINT: sizes read as numbers in shape lists
  static OnnxDim named(std::string n) {
    OnnxDim d(-1);
    d.name = std::move(n);
    return d;
  }
};

struct OnnxAttribute {
  enum class Kind { integer, real, text, integers, reals };
  std::string name;
  Kind kind = Kind::integer;
  int64_t i = 0;
  float f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;

  static OnnxAttribute integer(std::string name, int64_t value);
  static OnnxAttribute real(std::string name, float value);
  static OnnxAttribute text(std::string name, std::string value);
  static OnnxAttribute integers(std::string name, std::vector<int64_t> values);
  static OnnxAttribute reals(std::string name, std::vector<float> values);
};

class OnnxGraph {
 public:
  explicit OnnxGraph(std::string name);

  // Graph inputs and outputs (float32 tensors).
  void input(const std::string& name, const std::vector<OnnxDim>& dims);
  // Names the value `value` as the output `name` (an Identity node when they differ).
  void output(const std::string& value, const std::string& name, const std::vector<OnnxDim>& dims);

  // A constant (initializer) holding `tensor` (float32, int64 or int32, copied to the CPU); returns
  // its value name, made unique from `hint`.
  std::string constant(const at::Tensor& tensor, const std::string& hint);
  std::string constant_ints(const std::vector<int64_t>& values, const std::string& hint);
  std::string constant_scalar(float value, const std::string& hint);

  // Appends a node with one output; returns the output's name (unique, from `hint` or the op).
  std::string node(const std::string& op, const std::vector<std::string>& inputs,
                   const std::vector<OnnxAttribute>& attributes = {}, const std::string& hint = "");

  size_t node_count() const { return nodes_.size(); }
  // The ModelProto's bytes, and the same written to a file (atomically; FileError naming it when that fails).
  std::string serialize(const std::string& producer, const std::string& doc) const;
  void write(const std::string& path, const std::string& producer, const std::string& doc) const;

 private:
  std::string unique(const std::string& hint);

  std::string name_;
  std::vector<std::string> nodes_, initializers_, inputs_, outputs_;  // serialized messages
  std::vector<std::string> used_names_;
  int64_t counter_ = 0;
};

}  // namespace impasto
