#pragma once
// A small reader for the Python pickle opcodes that torch.save emits (protocols 0-5 as far as
// torch.save uses them), so that .pth files can be read without Python. See io/weights.h.
//
// The reader builds a tree of `Value`s. It understands only the globals that appear in torch.save
// files (collections.OrderedDict, a few builtins, torch's tensor-rebuild functions, storage types,
// dtypes, nn.Parameter, the oldest `torch.FloatTensor` + __setstate__ encoding) plus a few harmless
// ones seen in training checkpoints (argparse.Namespace, numpy scalars/arrays) that come back as
// opaque objects. Tensors are not materialised here: they come back as `TensorRef`s pointing at the
// `StorageRef`s that the caller's persistent-load callback produced, because in the legacy format
// the storage bytes follow the pickle.
//
// Every malformed input (unknown or unsupported opcode, stack underflow, missing MARK or memo entry,
// truncated data, unknown global, wrong argument types, absurd sizes) throws impasto::FormatError
// naming the source and the byte offset; nothing reads out of bounds, recurses without limit or
// allocates more than the input can justify.
#include <c10/core/ScalarType.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace impasto::pickle {

struct Value;
using ValuePtr = std::shared_ptr<Value>;

enum class Kind {
  none,
  boolean,
  integer,      // fits int64
  big_integer,  // wider than int64: `str` holds minimal little-endian two's-complement bytes
  floating,
  string,       // UTF-8 (Python str; also Python 2 str from BINSTRING/STRING)
  bytes,
  tuple,
  list,
  dict,         // insertion-ordered (dict, OrderedDict)
  set,          // set, frozenset
  global,       // a class or function named by GLOBAL/STACK_GLOBAL: `str` = module, `name` = name
  object,       // an instance of an opaque class: items = {class global, args tuple, state or none}
  tensor,       // `tensor` set
  storage,      // `storage` set
};

const char* kind_name(Kind kind);

// Where a storage's bytes come from, as told by torch.save's persistent ids.
struct StorageRef {
  std::string key;                               // zip: record data/<key>; legacy: root key
  c10::ScalarType dtype = c10::ScalarType::Byte;
  std::string location;                          // "cpu", "cuda:0", ... (informational)
  int64_t numel = 0;                             // elements of dtype declared for the root storage
  int64_t view_offset = 0;                       // legacy storage views: elements into the root
  int64_t view_numel = -1;                       // -1: the whole root storage
};

// A tensor described by the pickle; its data is attached by the caller after reading.
struct TensorRef {
  std::shared_ptr<const StorageRef> storage;     // null: no storage (empty tensor)
  c10::ScalarType dtype = c10::ScalarType::Float;
  int64_t offset = 0;                            // in elements
  std::vector<int64_t> size, stride;
  bool requires_grad = false;
  bool parameter = false;                        // was an nn.Parameter
  bool placeholder = false;                      // `torch.FloatTensor()` awaiting BUILD
};

struct Value {
  Kind kind = Kind::none;
  bool boolean = false;
  int64_t integer = 0;
  double floating = 0;
  std::string str;                                      // string, bytes, big_integer, global module
  std::string name;                                     // global name
  std::vector<ValuePtr> items;                          // tuple, list, set, object
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;   // dict
  std::unordered_map<std::string, size_t> index;        // dict: hashable key -> entries position
  std::shared_ptr<const StorageRef> storage;
  std::shared_ptr<TensorRef> tensor;

  Value() = default;
  explicit Value(Kind k) : kind(k) {}
  Value(const Value&) = delete;
  Value& operator=(const Value&) = delete;
  ~Value();  // releases deep trees iteratively (no recursion proportional to nesting depth)

  bool is(Kind k) const { return kind == k; }
  bool is_global(const char* module, const char* global_name) const;
};

// Thrown by accessors and by persistent-load callbacks to report a problem at the current
// position; the reader turns it into a FormatError with the source and byte offset.
class Invalid : public std::runtime_error {
 public:
  explicit Invalid(const std::string& message) : std::runtime_error(message) {}
};

// Constructors.
ValuePtr make_none();
ValuePtr make_bool(bool value);
ValuePtr make_int(int64_t value);
ValuePtr make_float(double value);
ValuePtr make_string(std::string value, Kind kind = Kind::string);  // string or bytes
ValuePtr make_container(Kind kind, std::vector<ValuePtr> items = {});  // tuple, list, set
ValuePtr make_dict();
ValuePtr make_storage(StorageRef ref);

// Accessors that throw Invalid when the value is not of the expected kind.
int64_t as_int(const ValuePtr& value, const char* what);
const std::string& as_string(const ValuePtr& value, const char* what);  // string or bytes
const std::vector<ValuePtr>& as_tuple(const ValuePtr& value, const char* what);  // tuple or list
bool as_bool(const ValuePtr& value, const char* what);  // bool or int

// Dict helpers (dict must be Kind::dict). dict_set replaces an existing hashable key in place.
void dict_set(Value& dict, ValuePtr key, ValuePtr value);
ValuePtr dict_get(const Value& dict, const std::string& string_key);  // null when absent

// Short human-readable description for error messages (bounded length and depth).
std::string describe(const ValuePtr& value);

// Storage class names ("FloatStorage", ..., "UntypedStorage" -> uint8) and dtype names
// ("float32", "float", ...) to a dtype; nullopt when unknown.
std::optional<c10::ScalarType> storage_type_dtype(const std::string& name);
std::optional<c10::ScalarType> dtype_from_name(const std::string& name);
// The dtype a storage-type global stands for: a *Storage class (in torch, torch.cuda or
// torch.storage) or a torch dtype global. Throws Invalid otherwise.
c10::ScalarType storage_global_dtype(const ValuePtr& value);

struct ReadOptions {
  std::string source;      // names the file in error messages (FormatError's source)
  std::string part;        // e.g. "data.pkl"; prefixed to offsets in messages when non-empty
  size_t base_offset = 0;  // added to offsets in messages (where these bytes start in the file)
  // Called for BINPERSID/PERSID with the persistent id; returns the object it stands for. May
  // throw Invalid. When empty, persistent ids are a format error.
  std::function<ValuePtr(const ValuePtr& pid)> persistent_load;
  size_t max_values = size_t(1) << 21;  // cap on values created (FormatError beyond)
};

struct ReadResult {
  ValuePtr value;
  size_t consumed = 0;  // bytes up to and including STOP
};

// Reads one pickle from data[0, size). Throws FormatError.
ReadResult read(const uint8_t* data, size_t size, const ReadOptions& options);

}  // namespace impasto::pickle
