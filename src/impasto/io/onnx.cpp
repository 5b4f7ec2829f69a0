#include "impasto/io/onnx.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstring>

#include "impasto/io/text_file.h"

namespace impasto {

namespace {

// ---- protobuf's wire format ------------------------------------------------------------------------
// Every field is a key (field number << 3 | wire type) and a value: a varint (type 0), 4 little-endian
// bytes (type 5, float) or a length-prefixed byte string (type 2: strings, bytes, sub-messages).
// Repeated scalars are written one key per element, which every reader accepts.

void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void key(std::string& out, int field, int wire_type) { varint(out, (static_cast<uint64_t>(field) << 3) | wire_type); }

void int_field(std::string& out, int field, int64_t v) {
  key(out, field, 0);
  varint(out, static_cast<uint64_t>(v));  // negative numbers: ten bytes of two's complement
}

void float_field(std::string& out, int field, float v) {
  key(out, field, 5);
  char bytes[4];
  std::memcpy(bytes, &v, 4);  // x86 and ARM are little-endian, as the wire format is
  out.append(bytes, 4);
}

void bytes_field(std::string& out, int field, const std::string& bytes) {
  key(out, field, 2);
  varint(out, bytes.size());
  out += bytes;
}

// onnx.proto's numbers.
namespace tensor_type {
constexpr int kFloat = 1, kInt32 = 6, kInt64 = 7;
}
namespace attribute_type {
constexpr int kFloat = 1, kInt = 2, kString = 3, kFloats = 6, kInts = 7;
}

std::string value_info(const std::string& name, const std::vector<OnnxDim>& dims) {
  std::string shape;
  for (const auto& d : dims) {
    std::string dim;
    if (d.name.empty()) int_field(dim, 1, d.value);  // dim_value
    else bytes_field(dim, 2, d.name);                  // dim_param
    bytes_field(shape, 1, dim);
  }
  std::string tensor;
  int_field(tensor, 1, tensor_type::kFloat);  // elem_type
  bytes_field(tensor, 2, shape);
  std::string type;
  bytes_field(type, 1, tensor);  // tensor_type
  std::string info;
  bytes_field(info, 1, name);
  bytes_field(info, 2, type);
  return info;
}

std::string attribute(const OnnxAttribute& a) {
  std::string out;
  bytes_field(out, 1, a.name);
  switch (a.kind) {
    case OnnxAttribute::Kind::integer:
      int_field(out, 20, attribute_type::kInt);
      int_field(out, 3, a.i);
      break;
    case OnnxAttribute::Kind::real:
      int_field(out, 20, attribute_type::kFloat);
      float_field(out, 2, a.f);
      break;
    case OnnxAttribute::Kind::text:
      int_field(out, 20, attribute_type::kString);
      bytes_field(out, 4, a.s);
      break;
    case OnnxAttribute::Kind::integers:
      int_field(out, 20, attribute_type::kInts);
      for (int64_t v : a.ints) int_field(out, 8, v);
      break;
    case OnnxAttribute::Kind::reals:
      int_field(out, 20, attribute_type::kFloats);
      for (float v : a.floats) float_field(out, 7, v);
      break;
  }
  return out;
}

}  // namespace

namespace {

OnnxAttribute attribute_of(std::string name, OnnxAttribute::Kind kind) {
  OnnxAttribute a;
  a.name = std::move(name);
  a.kind = kind;
  return a;
}

}  // namespace

OnnxAttribute OnnxAttribute::integer(std::string name, int64_t value) {
  OnnxAttribute a = attribute_of(std::move(name), Kind::integer);
  a.i = value;
  return a;
}

OnnxAttribute OnnxAttribute::real(std::string name, float value) {
  OnnxAttribute a = attribute_of(std::move(name), Kind::real);
  a.f = value;
  return a;
}

OnnxAttribute OnnxAttribute::text(std::string name, std::string value) {
  OnnxAttribute a = attribute_of(std::move(name), Kind::text);
  a.s = std::move(value);
  return a;
}

OnnxAttribute OnnxAttribute::integers(std::string name, std::vector<int64_t> values) {
  OnnxAttribute a = attribute_of(std::move(name), Kind::integers);
  a.ints = std::move(values);
  return a;
}

OnnxAttribute OnnxAttribute::reals(std::string name, std::vector<float> values) {
  OnnxAttribute a = attribute_of(std::move(name), Kind::reals);
  a.floats = std::move(values);
  return a;
}

OnnxGraph::OnnxGraph(std::string name) : name_(std::move(name)) {}

std::string OnnxGraph::unique(const std::string& hint) {
  std::string base = hint.empty() ? "v" : hint;
  std::string name = base;
  while (std::find(used_names_.begin(), used_names_.end(), name) != used_names_.end())
    name = base + "_" + std::to_string(++counter_);
  used_names_.push_back(name);
  return name;
}

void OnnxGraph::input(const std::string& name, const std::vector<OnnxDim>& dims) {
  used_names_.push_back(name);
  inputs_.push_back(value_info(name, dims));
}

void OnnxGraph::output(const std::string& value, const std::string& name, const std::vector<OnnxDim>& dims) {
  std::string out = value;
  if (value != name) {
    std::string n;
    bytes_field(n, 1, value);
    bytes_field(n, 2, name);
    bytes_field(n, 4, "Identity");
    nodes_.push_back(n);
    used_names_.push_back(name);
    out = name;
  }
  outputs_.push_back(value_info(out, dims));
}

std::string OnnxGraph::constant(const at::Tensor& tensor, const std::string& hint) {
  const std::string name = unique(hint);
  at::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
  int type = 0;
  if (t.scalar_type() == torch::kFloat32) type = tensor_type::kFloat;
  else if (t.scalar_type() == torch::kInt64) type = tensor_type::kInt64;
  else if (t.scalar_type() == torch::kInt32) type = tensor_type::kInt32;
  else {
    t = t.to(torch::kFloat32);
    type = tensor_type::kFloat;
  }
  std::string proto;
  for (int64_t d : t.sizes()) int_field(proto, 1, d);  // dims
  int_field(proto, 2, type);                           // data_type
  bytes_field(proto, 8, name);                         // name
  bytes_field(proto, 9, std::string(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size()));  // raw_data
  initializers_.push_back(proto);
  return name;
}

std::string OnnxGraph::constant_ints(const std::vector<int64_t>& values, const std::string& hint) {
  return constant(torch::tensor(values, torch::kInt64), hint);
}

std::string OnnxGraph::constant_scalar(float value, const std::string& hint) {
  return constant(torch::tensor({value}, torch::kFloat32).reshape({}), hint);
}

std::string OnnxGraph::node(const std::string& op, const std::vector<std::string>& inputs,
                            const std::vector<OnnxAttribute>& attributes, const std::string& hint) {
  const std::string out = unique(hint.empty() ? op : hint);
  std::string n;
  for (const auto& i : inputs) bytes_field(n, 1, i);
  bytes_field(n, 2, out);
  bytes_field(n, 3, out);  // the node's name: its output's
  bytes_field(n, 4, op);
  for (const auto& a : attributes) bytes_field(n, 5, attribute(a));
  nodes_.push_back(n);
  return out;
}

std::string OnnxGraph::serialize(const std::string& producer, const std::string& doc) const {
  std::string graph;
  for (const auto& n : nodes_) bytes_field(graph, 1, n);
  bytes_field(graph, 2, name_);
  for (const auto& t : initializers_) bytes_field(graph, 5, t);
  for (const auto& i : inputs_) bytes_field(graph, 11, i);
  for (const auto& o : outputs_) bytes_field(graph, 12, o);
  std::string opset;
  bytes_field(opset, 1, "");  // the default domain
  int_field(opset, 2, 13);
  std::string model;
  int_field(model, 1, 7);  // ir_version
  bytes_field(model, 2, producer);
  bytes_field(model, 3, "0.1.0");
  bytes_field(model, 6, doc);
  bytes_field(model, 7, graph);
  bytes_field(model, 8, opset);
  return model;
}

void OnnxGraph::write(const std::string& path, const std::string& producer, const std::string& doc) const {
  write_file_atomically(path, serialize(producer, doc));
}

}  // namespace impasto
