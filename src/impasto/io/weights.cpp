#include "impasto/io/weights.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>
#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "impasto/core/error.h"
#include "impasto/io/pickle.h"

namespace impasto {
namespace {

using pickle::Kind;
using pickle::StorageRef;
using pickle::TensorRef;
using pickle::Value;
using pickle::ValuePtr;

constexpr int kMaxNesting = 64;              // dict/list levels flattened before giving up
constexpr size_t kMaxVisits = size_t(1) << 20;  // values visited while flattening
constexpr int64_t kLegacyProtocolVersion = 1001;
// 0x1950a86a20f9469cfc6c as pickle's minimal little-endian two's complement.
constexpr unsigned char kLegacyMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

constexpr const char* kCheckpointFormat = "impasto-checkpoint";
constexpr int kCheckpointVersion = 1;
constexpr const char* kCheckpointIndex = "impasto.json";

std::string c10_message(const c10::Error& e) {
  std::string message = e.what_without_backtrace();
  auto nl = message.find('\n');
  if (nl != std::string::npos) message.resize(nl);
  return message;
}

// FileError unless `path` is an existing regular file we can open.
void require_readable(const std::string& path) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) throw FileError(path, "no such file");
  if (std::filesystem::is_directory(status)) throw FileError(path, "is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path, "cannot open for reading");
}

std::string read_prefix(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path, "cannot open for reading");
  std::string out(n, '\0');
  in.read(out.data(), static_cast<std::streamsize>(n));
  out.resize(static_cast<size_t>(in.gcount()));
  return out;
}

std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw FileError(path, "cannot open for reading");
  std::streamoff size = in.tellg();
  if (size < 0) throw FileError(path, "cannot determine the file size");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size)) throw FileError(path, "read failed");
  return bytes;
}

uint64_t file_size(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<uint64_t>(size);
}

bool is_zip(const std::string& prefix) { return prefix.size() >= 4 && prefix.compare(0, 4, "PK\x03\x04", 4) == 0; }

bool mul_ok(int64_t a, int64_t b, int64_t* out) { return !__builtin_mul_overflow(a, b, out); }
bool add_ok(int64_t a, int64_t b, int64_t* out) { return !__builtin_add_overflow(a, b, out); }

std::string join_name(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

// ---- storages and tensors ----------------------------------------------------------------------------

struct Bytes {
  at::DataPtr data;
  int64_t size = 0;
};

// Turns the pickle's TensorRefs into owned, contiguous tensors, checking every index against the
// storage it points into.
class Materializer {
 public:
  using Fetch = std::function<const Bytes&(const StorageRef&)>;

  Materializer(std::string source, uint64_t input_bytes, Fetch fetch)
      : source_(std::move(source)), fetch_(std::move(fetch)) {
    // Output may legitimately exceed the input (expanded stride-0 tensors, aliases); not by this much.
    budget_ = static_cast<int64_t>(std::min<uint64_t>(input_bytes, uint64_t(1) << 50)) * 8 + (int64_t(256) << 20);
  }

  at::Tensor get(const TensorRef& t, const std::string& name) {
    auto cached = cache_.find(&t);
    if (cached != cache_.end()) return cached->second;
    at::Tensor out = make(t, name);
    cache_.emplace(&t, out);
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& name, const std::string& message) const {
    throw FormatError(source_, "tensor '" + name + "': " + message);
  }

  at::Tensor make(const TensorRef& t, const std::string& name) {
    if (t.size.size() != t.stride.size()) fail(name, "size and stride have different lengths");
    int64_t numel = 1;
    for (int64_t s : t.size)
      if (s < 0 || !mul_ok(numel, s, &numel)) fail(name, "absurd size");
    const auto dtype = t.storage ? t.storage->dtype : t.dtype;
    const auto options = at::TensorOptions().dtype(dtype);
    if (numel == 0) return at::empty(t.size, options);
    if (!t.storage) fail(name, "has elements but no storage");
    const StorageRef& s = *t.storage;
    const int64_t element = static_cast<int64_t>(c10::elementSize(dtype));

    int64_t out_bytes = 0;
    if (!mul_ok(numel, element, &out_bytes) || out_bytes > budget_ - used_)
      fail(name, "would need " + std::to_string(numel) + " elements, far more than the file holds");

    const Bytes& bytes = fetch_(s);
    // The (possibly legacy-view) window of the storage this tensor indexes, in bytes.
    int64_t begin = 0, window = 0;
    if (s.view_offset < 0 || !mul_ok(s.view_offset, element, &begin) || begin > bytes.size)
      fail(name, "storage view starts outside storage '" + s.key + "'");
    if (s.view_numel < 0) {
      window = bytes.size - begin;
    } else if (!mul_ok(s.view_numel, element, &window) || window > bytes.size - begin) {
      fail(name, "storage view ends outside storage '" + s.key + "'");
    }
    const int64_t available = window / element;

    int64_t last = t.offset;
    bool ok = t.offset >= 0;
    for (size_t d = 0; ok && d < t.size.size(); ++d) {
      int64_t step = 0;
      ok = t.stride[d] >= 0 && mul_ok(t.size[d] - 1, t.stride[d], &step) && add_ok(last, step, &last);
    }
    if (!ok || last >= available)
      fail(name, "indexes element " + std::to_string(last) + " of storage '" + s.key + "', which holds " +
                     std::to_string(available) + " " + c10::toString(dtype) + " elements (truncated file?)");

    auto* base = static_cast<uint8_t*>(bytes.data.get()) + begin + t.offset * element;
    const bool is_bool = dtype == c10::ScalarType::Bool;
    at::Tensor view = at::from_blob(base, t.size, t.stride, is_bool ? at::TensorOptions().dtype(at::kByte) : options);
    at::Tensor out = view.clone(at::MemoryFormat::Contiguous);
    if (is_bool) out = out.ne(0);  // any non-zero byte is true; never hand out invalid bools
    used_ += out_bytes;
    return out;
  }

  std::string source_;
  Fetch fetch_;
  int64_t budget_ = 0;
  int64_t used_ = 0;
  std::unordered_map<const TensorRef*, at::Tensor> cache_;
};

// Walks the unpickled object: dicts (and lists/tuples) are flattened with '.', tensors kept,
// everything else skipped.
class Flattener {
 public:
  Flattener(std::string source, Materializer& materializer)
      : source_(std::move(source)), materializer_(materializer) {}

  StateDict run(const ValuePtr& root) {
    visit(root, "", 0);
    return std::move(out_);
  }

 private:
  void visit(const ValuePtr& v, const std::string& name, int depth) {
    if (!v) return;
    if (++visits_ > kMaxVisits) throw FormatError(source_, "more than " + std::to_string(kMaxVisits) + " entries");
    if (depth > kMaxNesting)
      throw FormatError(source_, "'" + name.substr(0, 200) + "...' is nested deeper than " + std::to_string(kMaxNesting) + " levels");
    switch (v->kind) {
      case Kind::tensor: {
        if (!names_.insert(name).second) throw FormatError(source_, "two tensors flatten to the same name '" + name + "'");
        out_.emplace_back(name, materializer_.get(*v->tensor, name));
        return;
      }
      case Kind::dict:
        for (const auto& [key, value] : v->entries) {
          std::string k;
          if (key->is(Kind::string)) k = key->str;
          else if (key->is(Kind::integer)) k = std::to_string(key->integer);
          else continue;  // keys that cannot be part of a name
          visit(value, join_name(name, k), depth + 1);
        }
        return;
      case Kind::list:
      case Kind::tuple:
        for (size_t i = 0; i < v->items.size(); ++i) visit(v->items[i], join_name(name, std::to_string(i)), depth + 1);
        return;
      default: return;  // ints, strings, None, opaque objects: not weights
    }
  }

  std::string source_;
  Materializer& materializer_;
  StateDict out_;
  std::unordered_set<std::string> names_;
  size_t visits_ = 0;
};

// Parses torch.save's persistent id ('storage', storage_type, key, location, numel[, view_metadata]).
StorageRef parse_storage_pid(const ValuePtr& pid, bool legacy) {
  const auto& t = pickle::as_tuple(pid, "persistent id");
  if (t.empty()) throw pickle::Invalid("empty persistent id");
  const std::string& type = pickle::as_string(t[0], "persistent id type");
  if (type == "module")
    throw pickle::Invalid("the file holds a pickled nn.Module (torch.save(model)); only state dicts can be read: "
                          "save model.state_dict() instead");
  if (type != "storage") throw pickle::Invalid("unknown persistent id type '" + type.substr(0, 40) + "'");
  if (t.size() < 5 || t.size() > 6 || (!legacy && t.size() != 5))
    throw pickle::Invalid("storage persistent id with " + std::to_string(t.size()) + " entries");
  StorageRef ref;
  ref.dtype = pickle::storage_global_dtype(t[1]);
  if (t[2]->is(Kind::integer)) ref.key = std::to_string(t[2]->integer);
  else ref.key = pickle::as_string(t[2], "storage key");
  ref.location = pickle::as_string(t[3], "storage location");
  ref.numel = pickle::as_int(t[4], "storage size");
  if (ref.numel < 0) throw pickle::Invalid("negative storage size");
  if (t.size() == 6 && !t[5]->is(Kind::none)) {
    const auto& view = pickle::as_tuple(t[5], "storage view");
    if (view.size() != 3) throw pickle::Invalid("storage view should be (key, offset, size)");
    ref.view_offset = pickle::as_int(view[1], "storage view offset");
    ref.view_numel = pickle::as_int(view[2], "storage view size");
    if (ref.view_offset < 0 || ref.view_numel < 0) throw pickle::Invalid("negative storage view offset or size");
  }
  return ref;
}

// ---- zip format --------------------------------------------------------------------------------------

std::unique_ptr<caffe2::serialize::PyTorchStreamReader> open_zip(const std::string& path, const char* what) {
  try {
    return std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    throw FormatError(path, std::string("not a readable ") + what + " (damaged or truncated zip archive?): " + c10_message(e));
  }
}

StateDict load_zip(const std::string& path) {
  auto reader = open_zip(path, "torch.save zip archive");
  try {
    if (!reader->hasRecord("data.pkl")) {
      if (reader->hasRecord("constants.pkl"))
        throw FormatError(path, "a TorchScript archive (torch.jit.save), not a torch.save file");
      if (reader->hasRecord(kCheckpointIndex))
        throw FormatError(path, "an impasto checkpoint, not a torch.save file (use load_checkpoint or load_weights)");
      throw FormatError(path, "zip archive without data.pkl: not a torch.save file");
    }
    if (reader->hasRecord("byteorder")) {
      auto [order, order_size] = reader->getRecord("byteorder");
      std::string text(static_cast<const char*>(order.get()), order_size);
      if (text != "little") throw FormatError(path, "byte order '" + text.substr(0, 20) + "' is not supported");
    }
    auto [pkl, pkl_size] = reader->getRecord("data.pkl");

    pickle::ReadOptions options;
    options.source = path;
    options.part = "data.pkl";
    options.persistent_load = [](const ValuePtr& pid) { return pickle::make_storage(parse_storage_pid(pid, false)); };
    auto result = pickle::read(static_cast<const uint8_t*>(pkl.get()), pkl_size, options);

    std::map<std::string, Bytes> storages;
    Materializer materializer(path, file_size(path), [&](const StorageRef& s) -> const Bytes& {
      auto found = storages.find(s.key);
      if (found != storages.end()) return found->second;
      std::string record = "data/" + s.key;
      if (!reader->hasRecord(record)) throw FormatError(path, "storage record '" + record + "' is missing");
      auto [data, size] = reader->getRecord(record);
      Bytes bytes;
      bytes.data = std::move(data);
      bytes.size = static_cast<int64_t>(size);
      return storages.emplace(s.key, std::move(bytes)).first->second;
    });
    return Flattener(path, materializer).run(result.value);
  } catch (const c10::Error& e) {
    throw FormatError(path, "damaged zip archive: " + c10_message(e));
  }
}

// ---- legacy format -----------------------------------------------------------------------------------

StateDict load_legacy(const std::string& path) {
  std::vector<uint8_t> file = read_all(path);
  const uint8_t* data = file.data();
  const size_t size = file.size();
  size_t pos = 0;

  auto next_pickle = [&](const char* what, std::function<ValuePtr(const ValuePtr&)> persistent_load = {}) {
    pickle::ReadOptions options;
    options.source = path;
    options.part = what;
    options.base_offset = pos;
    options.persistent_load = std::move(persistent_load);
    auto result = pickle::read(data + pos, size - pos, options);
    pos += result.consumed;
    return result.value;
  };

  ValuePtr magic;
  try {
    magic = next_pickle("magic number");
  } catch (const FormatError&) {
    throw FormatError(path, "not a torch.save file (neither a zip archive nor a legacy file's magic number)");
  }
  if (!magic->is(Kind::big_integer) || magic->str != std::string(reinterpret_cast<const char*>(kLegacyMagic), sizeof kLegacyMagic))
    throw FormatError(path, "not a torch.save file (neither a zip archive nor a legacy file's magic number)");
  ValuePtr protocol = next_pickle("protocol version");
  if (!protocol->is(Kind::integer) || protocol->integer != kLegacyProtocolVersion)
    throw FormatError(path, "unsupported legacy protocol version " + pickle::describe(protocol) + " (expected 1001)");
  ValuePtr sys_info = next_pickle("sys info");
  if (sys_info->is(Kind::dict)) {
    ValuePtr little = pickle::dict_get(*sys_info, "little_endian");
    if (little && little->is(Kind::boolean) && !little->boolean)
      throw FormatError(path, "big-endian legacy files are not supported");
  }

  std::unordered_map<std::string, c10::ScalarType> key_dtypes;
  ValuePtr object = next_pickle("object", [&key_dtypes](const ValuePtr& pid) {
    StorageRef ref = parse_storage_pid(pid, true);
    auto [it, inserted] = key_dtypes.emplace(ref.key, ref.dtype);
    if (!inserted && it->second != ref.dtype)
      throw pickle::Invalid("storage '" + ref.key + "' is used with two dtypes");
    return pickle::make_storage(std::move(ref));
  });
  ValuePtr keys_value = next_pickle("storage keys");
  if (!keys_value->is(Kind::list) && !keys_value->is(Kind::tuple))
    throw FormatError(path, "storage key list is a " + std::string(pickle::kind_name(keys_value->kind)));

  std::map<std::string, Bytes> storages;
  for (const auto& key_value : keys_value->items) {
    std::string key;
    if (key_value->is(Kind::integer)) key = std::to_string(key_value->integer);
    else if (key_value->is(Kind::string) || key_value->is(Kind::bytes)) key = key_value->str;
    else throw FormatError(path, "storage key list holds a " + std::string(pickle::kind_name(key_value->kind)));
    auto dtype = key_dtypes.find(key);
    if (dtype == key_dtypes.end()) throw FormatError(path, "storage '" + key + "' is listed but never used by the pickle");
    if (size - pos < 8)
      throw FormatError(path, "byte " + std::to_string(pos) + ": truncated: storage '" + key + "' has no size");
    int64_t count = 0;
    for (int i = 7; i >= 0; --i) count = static_cast<int64_t>((static_cast<uint64_t>(count) << 8) | data[pos + i]);
    pos += 8;
    const auto element = static_cast<int64_t>(c10::elementSize(dtype->second));
    if (count < 0 || count > static_cast<int64_t>((size - pos) / element))
      throw FormatError(path, "byte " + std::to_string(pos - 8) + ": truncated: storage '" + key + "' declares " +
                                  std::to_string(count) + " elements, " + std::to_string((size - pos) / element) + " left");
    Bytes bytes;
    bytes.size = count * element;
    bytes.data = c10::GetCPUAllocator()->allocate(static_cast<size_t>(bytes.size));
    if (bytes.size > 0) std::memcpy(bytes.data.get(), data + pos, static_cast<size_t>(bytes.size));
    pos += static_cast<size_t>(bytes.size);
    if (!storages.emplace(key, std::move(bytes)).second) throw FormatError(path, "storage '" + key + "' is listed twice");
  }
  file = {};  // storages are copied out; release the file buffer before materialising tensors

  Materializer materializer(path, size, [&](const StorageRef& s) -> const Bytes& {
    auto found = storages.find(s.key);
    if (found == storages.end()) throw FormatError(path, "storage '" + s.key + "' has no data (missing from the key list)");
    return found->second;
  });
  return Flattener(path, materializer).run(object);
}

// ---- checkpoints ---------------------------------------------------------------------------------------

const char* dtype_name(c10::ScalarType t) {
  switch (t) {
    case c10::ScalarType::Float: return "float32";
    case c10::ScalarType::Double: return "float64";
    case c10::ScalarType::Half: return "float16";
    case c10::ScalarType::BFloat16: return "bfloat16";
    case c10::ScalarType::Long: return "int64";
    case c10::ScalarType::Int: return "int32";
    case c10::ScalarType::Short: return "int16";
    case c10::ScalarType::Char: return "int8";
    case c10::ScalarType::Byte: return "uint8";
    case c10::ScalarType::Bool: return "bool";
    case c10::ScalarType::ComplexFloat: return "complex64";
    case c10::ScalarType::ComplexDouble: return "complex128";
    default: return nullptr;
  }
}

}  // namespace

// ---- public API ----------------------------------------------------------------------------------------

StateDict load_pth(const std::string& path) {
  require_readable(path);
  std::string prefix = read_prefix(path, 512);
  if (prefix.empty()) throw FormatError(path, "empty file, not a torch.save file");
  try {
    if (is_zip(prefix)) return load_zip(path);
    if (prefix.size() >= 262 && prefix.compare(257, 5, "ustar") == 0)
      throw FormatError(path, "the tar-based torch.save format of PyTorch < 0.4 is not supported; re-save the file with a newer PyTorch");
    if (static_cast<uint8_t>(prefix[0]) == 0x80) return load_legacy(path);
  } catch (const std::bad_alloc&) {
    throw FormatError(path, "out of memory while reading (damaged file?)");
  } catch (const c10::Error& e) {
    throw FormatError(path, c10_message(e));
  }
  throw FormatError(path, "not a torch.save file (neither a zip archive nor a legacy pickle)");
}

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint) {
  nlohmann::json index;
  index["format"] = kCheckpointFormat;
  index["version"] = kCheckpointVersion;
  index["arch"] = checkpoint.arch;
  index["meta"] = checkpoint.meta;
  index["tensors"] = nlohmann::json::array();

  std::vector<at::Tensor> contiguous;
  std::unordered_set<std::string> names;
  for (size_t i = 0; i < checkpoint.tensors.size(); ++i) {
    const auto& [name, tensor] = checkpoint.tensors[i];
    if (!names.insert(name).second) throw FormatError(path, "duplicate tensor name '" + name + "'");
    if (!tensor.defined()) throw FormatError(path, "tensor '" + name + "' is undefined");
    const char* dtype = dtype_name(tensor.scalar_type());
    if (!dtype) throw FormatError(path, "tensor '" + name + "' has unsupported dtype " + std::string(c10::toString(tensor.scalar_type())));
    at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
    index["tensors"].push_back({{"name", name}, {"dtype", dtype}, {"shape", t.sizes().vec()},
                                {"record", "tensors/" + std::to_string(i)}});
    contiguous.push_back(std::move(t));
  }
  std::string index_text;
  try {
    index_text = index.dump(1);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, std::string("metadata cannot be written as JSON: ") + e.what());
  }

  // Write to a temporary file and rename, so an interrupted save never leaves a broken checkpoint.
  const std::string partial = path + ".partial";
  std::ofstream out(partial, std::ios::binary | std::ios::trunc);
  if (!out) throw FileError(path, "cannot open '" + partial + "' for writing");
  try {
    caffe2::serialize::PyTorchStreamWriter writer([&out](const void* data, size_t n) -> size_t {
      out.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
      return out ? n : 0;
    });
    writer.writeRecord(kCheckpointIndex, index_text.data(), index_text.size());
    for (size_t i = 0; i < contiguous.size(); ++i) {
      const at::Tensor& t = contiguous[i];
      writer.writeRecord("tensors/" + std::to_string(i), t.data_ptr(), t.numel() * t.element_size());
    }
    writer.writeEndOfFile();
    out.close();
    if (!out) throw FileError(path, "write failed (disk full?)");
  } catch (const c10::Error& e) {
    out.close();
    std::remove(partial.c_str());
    throw FileError(path, "write failed: " + c10_message(e));
  } catch (...) {
    out.close();
    std::remove(partial.c_str());
    throw;
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    std::remove(partial.c_str());
    throw FileError(path, "cannot replace the file");
  }
}

Checkpoint load_checkpoint(const std::string& path) {
  require_readable(path);
  if (!is_zip(read_prefix(path, 4))) throw FormatError(path, "not an impasto checkpoint (not a zip archive)");
  auto reader = open_zip(path, "impasto checkpoint");
  try {
    if (!reader->hasRecord(kCheckpointIndex))
      throw FormatError(path, std::string("not an impasto checkpoint (no ") + kCheckpointIndex + "; a torch.save file? use load_pth)");
    auto [index_data, index_size] = reader->getRecord(kCheckpointIndex);
    nlohmann::json index;
    try {
      index = nlohmann::json::parse(static_cast<const char*>(index_data.get()),
                                    static_cast<const char*>(index_data.get()) + index_size);
    } catch (const nlohmann::json::exception& e) {
      throw FormatError(path, std::string(kCheckpointIndex) + " is not valid JSON: " + e.what());
    }
    auto bad = [&path](const std::string& message) { return FormatError(path, std::string(kCheckpointIndex) + ": " + message); };
    if (!index.is_object() || index.value("format", std::string()) != kCheckpointFormat)
      throw bad("format is not '" + std::string(kCheckpointFormat) + "'");
    if (!index.contains("version") || !index["version"].is_number_integer()) throw bad("no integer 'version'");
    if (index["version"].get<int64_t>() > kCheckpointVersion)
      throw bad("version " + index["version"].dump() + " was written by a newer impasto; this one reads version " +
                std::to_string(kCheckpointVersion));
    if (!index.contains("arch") || !index["arch"].is_string()) throw bad("no string 'arch'");
    if (!index.contains("tensors") || !index["tensors"].is_array()) throw bad("no 'tensors' array");

    Checkpoint checkpoint;
    checkpoint.arch = index["arch"].get<std::string>();
    checkpoint.meta = index.contains("meta") ? index["meta"] : nlohmann::json();
    std::unordered_set<std::string> names;
    for (const auto& entry : index["tensors"]) {
      if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string() || !entry.contains("dtype") ||
          !entry["dtype"].is_string() || !entry.contains("shape") || !entry["shape"].is_array() ||
          !entry.contains("record") || !entry["record"].is_string())
        throw bad("malformed tensor entry " + entry.dump().substr(0, 200));
      const std::string name = entry["name"].get<std::string>();
      if (!names.insert(name).second) throw bad("duplicate tensor name '" + name + "'");
      auto dtype = pickle::dtype_from_name(entry["dtype"].get<std::string>());
      if (!dtype) throw bad("tensor '" + name + "' has unknown dtype '" + entry["dtype"].get<std::string>() + "'");
      std::vector<int64_t> shape;
      int64_t numel = 1;
      for (const auto& d : entry["shape"]) {
        if (!d.is_number_integer() || d.get<int64_t>() < 0 || !mul_ok(numel, d.get<int64_t>(), &numel))
          throw bad("tensor '" + name + "' has a malformed shape " + entry["shape"].dump().substr(0, 200));
        shape.push_back(d.get<int64_t>());
      }
      const std::string record = entry["record"].get<std::string>();
      if (!reader->hasRecord(record)) throw bad("tensor '" + name + "': record '" + record + "' is missing");
      auto [data, size] = reader->getRecord(record);
      int64_t expected = 0;
      if (!mul_ok(numel, static_cast<int64_t>(c10::elementSize(*dtype)), &expected) ||
          static_cast<uint64_t>(expected) != size)
        throw bad("tensor '" + name + "': record '" + record + "' holds " + std::to_string(size) + " bytes, expected " +
                  std::to_string(expected));
      at::Tensor t = at::empty(shape, at::TensorOptions().dtype(*dtype));
      if (size > 0) std::memcpy(t.data_ptr(), data.get(), size);
      checkpoint.tensors.emplace_back(name, std::move(t));
    }
    return checkpoint;
  } catch (const c10::Error& e) {
    throw FormatError(path, "damaged checkpoint: " + c10_message(e));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, std::string("malformed ") + kCheckpointIndex + ": " + e.what());
  } catch (const std::bad_alloc&) {
    throw FormatError(path, "out of memory while reading (damaged file?)");
  }
}

bool is_impasto_checkpoint(const std::string& path) {
  require_readable(path);
  if (!is_zip(read_prefix(path, 4))) return false;
  try {
    caffe2::serialize::PyTorchStreamReader reader(path);
    return reader.hasRecord(kCheckpointIndex);
  } catch (const c10::Error&) {
    return false;
  }
}

StateDict load_weights(const std::string& path, std::string* arch) {
  if (is_impasto_checkpoint(path)) {
    Checkpoint checkpoint = load_checkpoint(path);
    if (arch) *arch = checkpoint.arch;
    return std::move(checkpoint.tensors);
  }
  if (arch) arch->clear();
  return load_pth(path);
}

const at::Tensor* find_tensor(const StateDict& dict, const std::string& name) {
  for (const auto& entry : dict)
    if (entry.first == name) return &entry.second;
  return nullptr;
}

}  // namespace impasto
