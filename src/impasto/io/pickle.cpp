#include "impasto/io/pickle.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "impasto/core/error.h"

namespace impasto::pickle {

// ---- values ---------------------------------------------------------------------------------------

Value::~Value() {
  // Children are released from an explicit work list, so a pickle that nests a million lists
  // cannot overflow the stack when its tree is freed.
  std::vector<ValuePtr> pending;
  auto take_children = [&pending](Value& v) {
    for (auto& item : v.items)
      if (item) pending.push_back(std::move(item));
    v.items.clear();
    for (auto& entry : v.entries) {
      if (entry.first) pending.push_back(std::move(entry.first));
      if (entry.second) pending.push_back(std::move(entry.second));
    }
    v.entries.clear();
  };
  take_children(*this);
  while (!pending.empty()) {
    ValuePtr last = std::move(pending.back());
    pending.pop_back();
    if (last.use_count() == 1) take_children(*last);
  }
}

bool Value::is_global(const char* module, const char* global_name) const {
  return kind == Kind::global && str == module && name == global_name;
}

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::none: return "None";
    case Kind::boolean: return "bool";
    case Kind::integer: return "int";
    case Kind::big_integer: return "int (wide)";
    case Kind::floating: return "float";
    case Kind::string: return "str";
    case Kind::bytes: return "bytes";
    case Kind::tuple: return "tuple";
    case Kind::list: return "list";
    case Kind::dict: return "dict";
    case Kind::set: return "set";
    case Kind::global: return "global";
    case Kind::object: return "object";
    case Kind::tensor: return "tensor";
    case Kind::storage: return "storage";
  }
  return "?";
}

ValuePtr make_none() { return std::make_shared<Value>(Kind::none); }

ValuePtr make_bool(bool value) {
  auto v = std::make_shared<Value>(Kind::boolean);
  v->boolean = value;
  return v;
}

ValuePtr make_int(int64_t value) {
  auto v = std::make_shared<Value>(Kind::integer);
  v->integer = value;
  return v;
}

ValuePtr make_float(double value) {
  auto v = std::make_shared<Value>(Kind::floating);
  v->floating = value;
  return v;
}

ValuePtr make_string(std::string value, Kind kind) {
  auto v = std::make_shared<Value>(kind);
  v->str = std::move(value);
  return v;
}

ValuePtr make_container(Kind kind, std::vector<ValuePtr> items) {
  auto v = std::make_shared<Value>(kind);
  v->items = std::move(items);
  return v;
}

ValuePtr make_dict() { return std::make_shared<Value>(Kind::dict); }

ValuePtr make_storage(StorageRef ref) {
  auto v = std::make_shared<Value>(Kind::storage);
  v->storage = std::make_shared<const StorageRef>(std::move(ref));
  return v;
}

namespace {

std::string kind_of(const ValuePtr& value) { return value ? kind_name(value->kind) : "nothing"; }

}  // namespace

int64_t as_int(const ValuePtr& value, const char* what) {
  if (value && value->is(Kind::integer)) return value->integer;
  if (value && value->is(Kind::boolean)) return value->boolean ? 1 : 0;
  if (value && value->is(Kind::big_integer)) throw Invalid(std::string(what) + " is an integer wider than 64 bits");
  throw Invalid(std::string(what) + " should be an int, found " + kind_of(value));
}

const std::string& as_string(const ValuePtr& value, const char* what) {
  if (value && (value->is(Kind::string) || value->is(Kind::bytes))) return value->str;
  throw Invalid(std::string(what) + " should be a str, found " + kind_of(value));
}

const std::vector<ValuePtr>& as_tuple(const ValuePtr& value, const char* what) {
  if (value && (value->is(Kind::tuple) || value->is(Kind::list))) return value->items;
  throw Invalid(std::string(what) + " should be a tuple, found " + kind_of(value));
}

bool as_bool(const ValuePtr& value, const char* what) {
  if (value && value->is(Kind::boolean)) return value->boolean;
  if (value && value->is(Kind::integer)) return value->integer != 0;
  throw Invalid(std::string(what) + " should be a bool, found " + kind_of(value));
}

namespace {

constexpr size_t kMaxHashedKeyBytes = 4096;

// A string identifying a hashable key, for dict de-duplication; nullopt for keys not worth hashing
// (unhashable, or too large to hash cheaply; those are appended without de-duplication).
std::optional<std::string> hash_key(const ValuePtr& key, int depth = 0) {
  if (!key) return std::nullopt;
  switch (key->kind) {
    case Kind::none: return std::string("N");
    case Kind::boolean: return std::string(key->boolean ? "i1" : "i0");  // True == 1 in Python
    case Kind::integer: return "i" + std::to_string(key->integer);
    case Kind::big_integer: return "I" + key->str;
    case Kind::floating: {
      double f = key->floating;
      if (f == std::floor(f) && std::fabs(f) < 9e15) return "i" + std::to_string(static_cast<int64_t>(f));
      uint64_t bits;
      std::memcpy(&bits, &f, sizeof bits);
      return "f" + std::to_string(bits);
    }
    case Kind::string:
      if (key->str.size() > kMaxHashedKeyBytes) return std::nullopt;
      return "s" + key->str;
    case Kind::bytes:
      if (key->str.size() > kMaxHashedKeyBytes) return std::nullopt;
      return "y" + key->str;
    case Kind::global: return "g" + key->str + "\n" + key->name;
    case Kind::tuple: {
      if (depth > 2 || key->items.size() > 16) return std::nullopt;
      std::string out = "t" + std::to_string(key->items.size());
      for (const auto& item : key->items) {
        auto h = hash_key(item, depth + 1);
        if (!h) return std::nullopt;
        out += "\x1f" + std::to_string(h->size()) + ":" + *h;
      }
      return out;
    }
    default: return std::nullopt;
  }
}

}  // namespace

void dict_set(Value& dict, ValuePtr key, ValuePtr value) {
  auto h = hash_key(key);
  if (h) {
    auto found = dict.index.find(*h);
    if (found != dict.index.end()) {
      dict.entries[found->second].second = std::move(value);
      return;
    }
    dict.index.emplace(std::move(*h), dict.entries.size());
  }
  dict.entries.emplace_back(std::move(key), std::move(value));
}

ValuePtr dict_get(const Value& dict, const std::string& string_key) {
  if (string_key.size() <= kMaxHashedKeyBytes) {
    auto found = dict.index.find("s" + string_key);
    return found == dict.index.end() ? nullptr : dict.entries[found->second].second;
  }
  for (const auto& entry : dict.entries)
    if (entry.first && entry.first->is(Kind::string) && entry.first->str == string_key) return entry.second;
  return nullptr;
}

namespace {

void describe_into(const ValuePtr& v, std::string& out, int depth) {
  constexpr size_t kMaxLength = 200;
  if (out.size() > kMaxLength) return;
  if (!v) {
    out += "?";
    return;
  }
  auto items = [&](const char* open, const char* close, const std::vector<ValuePtr>& list) {
    out += open;
    if (depth >= 3 && !list.empty()) {
      out += "...";
    } else {
      for (size_t i = 0; i < list.size() && out.size() <= kMaxLength; ++i) {
        if (i) out += ", ";
        describe_into(list[i], out, depth + 1);
      }
    }
    out += close;
  };
  switch (v->kind) {
    case Kind::none: out += "None"; break;
    case Kind::boolean: out += v->boolean ? "True" : "False"; break;
    case Kind::integer: out += std::to_string(v->integer); break;
    case Kind::big_integer: out += "<" + std::to_string(v->str.size() * 8) + "-bit int>"; break;
    case Kind::floating: out += std::to_string(v->floating); break;
    case Kind::string: out += "'" + v->str.substr(0, 60) + (v->str.size() > 60 ? "...'" : "'"); break;
    case Kind::bytes: out += "b<" + std::to_string(v->str.size()) + " bytes>"; break;
    case Kind::tuple: items("(", ")", v->items); break;
    case Kind::list: items("[", "]", v->items); break;
    case Kind::set: items("{", "}", v->items); break;
    case Kind::dict: out += "{dict of " + std::to_string(v->entries.size()) + "}"; break;
    case Kind::global: out += v->str + "." + v->name; break;
    case Kind::object:
      out += "<";
      describe_into(v->items.empty() ? nullptr : v->items[0], out, depth + 1);
      out += " object>";
      break;
    case Kind::tensor: out += "<tensor>"; break;
    case Kind::storage: out += "<storage " + (v->storage ? v->storage->key : std::string()) + ">"; break;
  }
}

}  // namespace

std::string describe(const ValuePtr& value) {
  std::string out;
  describe_into(value, out, 0);
  if (out.size() > 240) out = out.substr(0, 240) + "...";
  return out;
}

std::optional<c10::ScalarType> storage_type_dtype(const std::string& name) {
  using c10::ScalarType;
  static const std::pair<const char*, ScalarType> kTable[] = {
      {"DoubleStorage", ScalarType::Double},   {"FloatStorage", ScalarType::Float},
      {"HalfStorage", ScalarType::Half},       {"BFloat16Storage", ScalarType::BFloat16},
      {"LongStorage", ScalarType::Long},       {"IntStorage", ScalarType::Int},
      {"ShortStorage", ScalarType::Short},     {"CharStorage", ScalarType::Char},
      {"ByteStorage", ScalarType::Byte},       {"BoolStorage", ScalarType::Bool},
      {"ComplexFloatStorage", ScalarType::ComplexFloat},
      {"ComplexDoubleStorage", ScalarType::ComplexDouble},
      {"UntypedStorage", ScalarType::Byte},
  };
  for (const auto& [n, t] : kTable)
    if (name == n) return t;
  return std::nullopt;
}

std::optional<c10::ScalarType> dtype_from_name(const std::string& name) {
  using c10::ScalarType;
  static const std::pair<const char*, ScalarType> kTable[] = {
      {"float32", ScalarType::Float},   {"float", ScalarType::Float},
      {"float64", ScalarType::Double},  {"double", ScalarType::Double},
      {"float16", ScalarType::Half},    {"half", ScalarType::Half},
      {"bfloat16", ScalarType::BFloat16},
      {"int64", ScalarType::Long},      {"long", ScalarType::Long},
      {"int32", ScalarType::Int},       {"int", ScalarType::Int},
      {"int16", ScalarType::Short},     {"short", ScalarType::Short},
      {"int8", ScalarType::Char},       {"uint8", ScalarType::Byte},
      {"bool", ScalarType::Bool},
      {"complex64", ScalarType::ComplexFloat},   {"cfloat", ScalarType::ComplexFloat},
      {"complex128", ScalarType::ComplexDouble}, {"cdouble", ScalarType::ComplexDouble},
  };
  for (const auto& [n, t] : kTable)
    if (name == n) return t;
  return std::nullopt;
}

namespace {

std::optional<c10::ScalarType> legacy_tensor_dtype(const std::string& name) {
  static const char kSuffix[] = "Tensor";
  if (name.size() <= 6 || name.compare(name.size() - 6, 6, kSuffix) != 0) return std::nullopt;
  auto storage = storage_type_dtype(name.substr(0, name.size() - 6) + "Storage");
  if (!storage || name == "UntypedTensor") return std::nullopt;
  return storage;
}

bool is_storage_module(const std::string& module) {
  return module == "torch" || module == "torch.cuda" || module == "torch.storage";
}

}  // namespace

c10::ScalarType storage_global_dtype(const ValuePtr& value) {
  if (value && value->is(Kind::global)) {
    if (is_storage_module(value->str))
      if (auto t = storage_type_dtype(value->name)) return *t;
    if (value->str == "torch")
      if (auto t = dtype_from_name(value->name)) return *t;
  }
  throw Invalid("expected a storage type (torch.FloatStorage, ...) or a dtype, found " + describe(value));
}

// ---- the reader -------------------------------------------------------------------------------------

namespace {

// What a GLOBAL stands for.
enum class Fn {
  ordered_dict,
  dict,
  list,
  tuple,
  set,
  frozenset,
  codecs_encode,
  rebuild_tensor,
  rebuild_tensor_v2,
  rebuild_parameter,
  rebuild_parameter_with_state,
  rebuild_from_type_v2,
  parameter,
  tensor_class,   // torch.Tensor (a type argument of _rebuild_from_type_v2)
  legacy_tensor,  // torch.FloatTensor & co.
  torch_size,
  device,
  storage_type,   // value only (persistent ids)
  dtype,          // value only
  opaque,         // instances come back as Kind::object
};

std::optional<Fn> lookup_global(const std::string& module, const std::string& name) {
  if (module == "collections" && name == "OrderedDict") return Fn::ordered_dict;
  if (module == "builtins" || module == "__builtin__") {
    if (name == "dict") return Fn::dict;
    if (name == "list") return Fn::list;
    if (name == "tuple") return Fn::tuple;
    if (name == "set") return Fn::set;
    if (name == "frozenset") return Fn::frozenset;
    return std::nullopt;
  }
  if (module == "_codecs" && name == "encode") return Fn::codecs_encode;
  if (module == "torch._utils") {
    if (name == "_rebuild_tensor") return Fn::rebuild_tensor;
    if (name == "_rebuild_tensor_v2") return Fn::rebuild_tensor_v2;
    if (name == "_rebuild_parameter") return Fn::rebuild_parameter;
    if (name == "_rebuild_parameter_with_state") return Fn::rebuild_parameter_with_state;
    return std::nullopt;
  }
  if ((module == "torch._tensor" || module == "torch.tensor") && name == "_rebuild_from_type_v2")
    return Fn::rebuild_from_type_v2;
  if (module == "torch.nn.parameter" && name == "Parameter") return Fn::parameter;
  if ((module == "torch" || module == "torch._tensor") && name == "Tensor") return Fn::tensor_class;
  if (module == "torch" && name == "Size") return Fn::torch_size;
  if (module == "torch" && name == "device") return Fn::device;
  if ((module == "torch" || module == "torch.cuda") && legacy_tensor_dtype(name)) return Fn::legacy_tensor;
  if (is_storage_module(module) && (storage_type_dtype(name) || name == "TypedStorage")) return Fn::storage_type;
  if (module == "torch" && dtype_from_name(name)) return Fn::dtype;
  if (module == "argparse" && name == "Namespace") return Fn::opaque;
  if (module == "numpy" && (name == "dtype" || name == "ndarray")) return Fn::opaque;
  if ((module == "numpy.core.multiarray" || module == "numpy._core.multiarray") &&
      (name == "scalar" || name == "_reconstruct"))
    return Fn::opaque;
  return std::nullopt;
}

// Appends the UTF-8 encoding of a code point.
void append_utf8(std::string& out, uint32_t cp) {
  if (cp > 0x10FFFF) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes UTF-8 into code points; throws Invalid on malformed input.
std::vector<uint32_t> decode_utf8(const std::string& s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<uint8_t>(s[i]);
    int extra = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
    if (extra < 0 || i + static_cast<size_t>(extra) >= s.size()) throw Invalid("malformed UTF-8 in a string");
    uint32_t cp = extra == 0 ? c : extra == 1 ? (c & 0x1F) : extra == 2 ? (c & 0x0F) : (c & 0x07);
    for (int k = 1; k <= extra; ++k) {
      auto d = static_cast<uint8_t>(s[i + k]);
      if ((d & 0xC0) != 0x80) throw Invalid("malformed UTF-8 in a string");
      cp = (cp << 6) | (d & 0x3F);
    }
    out.push_back(cp);
    i += extra + 1;
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Reader {
 public:
  Reader(const uint8_t* data, size_t size, const ReadOptions& options)
      : data_(data), size_(size), options_(options) {}

  ReadResult run() {
    if (!data_ && size_ != 0) fail("no data");
    for (;;) {
      op_pos_ = pos_;
      if (pos_ >= size_) fail(size_ == 0 ? "empty pickle" : "truncated: pickle ends without STOP");
      uint8_t op = data_[pos_++];
      try {
        if (op == '.') {  // STOP
          ReadResult result;
          result.value = pop("STOP");
          result.consumed = pos_;
          return result;
        }
        step(op);
      } catch (const Invalid& e) {
        fail(e.what());
      } catch (const std::bad_alloc&) {
        fail("out of memory while reading the pickle");
      } catch (const std::length_error&) {
        fail("out of memory while reading the pickle");
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    std::string where = options_.part.empty() ? std::string() : options_.part + ", ";
    throw FormatError(options_.source, where + "byte " + std::to_string(options_.base_offset + op_pos_) + ": " + message);
  }

  // ---- input ----
  size_t remaining() const { return size_ - pos_; }

  const uint8_t* take(uint64_t n, const char* what) {
    if (n > remaining())
      throw Invalid(std::string("truncated: ") + what + " needs " + std::to_string(n) + " bytes, " +
                    std::to_string(remaining()) + " left");
    const uint8_t* p = data_ + pos_;
    pos_ += static_cast<size_t>(n);
    return p;
  }

  uint64_t read_le(int bytes, const char* what) {
    const uint8_t* p = take(bytes, what);
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
  }

  std::string read_line(const char* what) {
    const void* nl = std::memchr(data_ + pos_, '\n', remaining());
    if (!nl) throw Invalid(std::string("truncated: ") + what + " has no terminating newline");
    size_t len = static_cast<const uint8_t*>(nl) - (data_ + pos_);
    std::string line(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  }

  std::string read_string(uint64_t n, const char* what) {
    const uint8_t* p = take(n, what);
    return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
  }

  // ---- stack ----
  size_t base() const { return marks_.empty() ? 0 : marks_.back(); }

  void push(ValuePtr v) {
    if (++created_ > options_.max_values)
      throw Invalid("more than " + std::to_string(options_.max_values) + " values: refusing to continue");
    stack_.push_back(std::move(v));
  }

  ValuePtr pop(const char* op) {
    if (stack_.size() <= base()) throw Invalid(std::string("stack underflow in ") + op);
    ValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }

  ValuePtr& top(const char* op) {
    if (stack_.size() <= base()) throw Invalid(std::string("stack underflow in ") + op);
    return stack_.back();
  }

  std::vector<ValuePtr> pop_mark(const char* op) {
    if (marks_.empty()) throw Invalid(std::string("no MARK before ") + op);
    size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> items(std::make_move_iterator(stack_.begin() + mark),
                                std::make_move_iterator(stack_.end()));
    stack_.resize(mark);
    return items;
  }

  void memo_put(uint64_t index, const char* op) {
    if (++created_ > options_.max_values)
      throw Invalid("more than " + std::to_string(options_.max_values) + " values: refusing to continue");
    memo_[index] = top(op);
  }

  void memo_get(uint64_t index) {
    auto found = memo_.find(index);
    if (found == memo_.end()) throw Invalid("memo entry " + std::to_string(index) + " is missing");
    push(found->second);
  }

  // ---- scalars ----
  static ValuePtr int_from_le(const uint8_t* p, size_t n) {
    // Minimal two's-complement form.
    while (n > 1 && ((p[n - 1] == 0x00 && !(p[n - 2] & 0x80)) || (p[n - 1] == 0xFF && (p[n - 2] & 0x80)))) --n;
    if (n == 0) return make_int(0);
    if (n <= 8) {
      uint64_t v = 0;
      for (size_t i = n; i-- > 0;) v = (v << 8) | p[i];
      if (n < 8 && (p[n - 1] & 0x80)) v |= ~uint64_t(0) << (8 * n);  // sign-extend
      int64_t s;
      std::memcpy(&s, &v, sizeof s);
      return make_int(s);
    }
    auto v = std::make_shared<Value>(Kind::big_integer);
    v->str.assign(reinterpret_cast<const char*>(p), n);
    return v;
  }

  // Decimal text (INT, LONG, PUT, GET); integers wider than 64 bits become big_integer values.
  static ValuePtr parse_decimal(std::string text, const char* what) {
    if (!text.empty() && (text.back() == 'L')) text.pop_back();
    if (text.empty()) throw Invalid(std::string("empty ") + what);
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (end != text.c_str() + text.size()) throw Invalid(std::string("malformed ") + what + " '" + text.substr(0, 40) + "'");
    if (errno != ERANGE) return make_int(v);
    // Wider than int64: magnitude in little-endian bytes, then two's complement.
    bool negative = text[0] == '-';
    size_t first = (text[0] == '-' || text[0] == '+') ? 1 : 0;
    if (text.size() - first > 4096) throw Invalid(std::string(what) + " has more than 4096 digits");
    std::vector<uint8_t> bytes{0};
    for (size_t i = first; i < text.size(); ++i) {
      unsigned carry = static_cast<unsigned>(text[i] - '0');
      for (auto& b : bytes) {
        unsigned x = b * 10u + carry;
        b = static_cast<uint8_t>(x & 0xFF);
        carry = x >> 8;
      }
      while (carry) {
        bytes.push_back(static_cast<uint8_t>(carry & 0xFF));
        carry >>= 8;
      }
    }
    bytes.push_back(0);  // room for the sign bit
    if (negative) {
      unsigned carry = 1;
      for (auto& b : bytes) {
        unsigned x = static_cast<uint8_t>(~b) + carry;
        b = static_cast<uint8_t>(x & 0xFF);
        carry = x >> 8;
      }
    }
    return int_from_le(bytes.data(), bytes.size());
  }

  // Python repr of a byte string ('...' or "..."), as the STRING opcode carries it.
  static std::string unquote(const std::string& text) {
    if (text.size() < 2 || (text[0] != '\'' && text[0] != '"') || text.back() != text[0])
      throw Invalid("STRING argument is not a quoted string");
    std::string out;
    for (size_t i = 1; i + 1 < text.size(); ++i) {
      char c = text[i];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i + 2 >= text.size()) throw Invalid("STRING argument ends with a backslash");
      char e = text[++i];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case '\n': break;
        case 'x': {
          int h1 = i + 1 < text.size() - 1 ? hex_digit(text[i + 1]) : -1;
          int h2 = i + 2 < text.size() - 1 ? hex_digit(text[i + 2]) : -1;
          if (h1 < 0 || h2 < 0) throw Invalid("bad \\x escape in STRING argument");
          out += static_cast<char>(h1 * 16 + h2);
          i += 2;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            int v = e - '0';
            for (int k = 0; k < 2 && i + 1 < text.size() - 1 && text[i + 1] >= '0' && text[i + 1] <= '7'; ++k)
              v = v * 8 + (text[++i] - '0');
            out += static_cast<char>(v & 0xFF);
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    return out;
  }

  // raw-unicode-escape (UNICODE opcode): bytes are Latin-1 code points, plus \uXXXX / \UXXXXXXXX.
  static std::string raw_unicode_escape(const std::string& text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
      auto c = static_cast<uint8_t>(text[i]);
      if (c == '\\' && i + 1 < text.size() && (text[i + 1] == 'u' || text[i + 1] == 'U')) {
        size_t digits = text[i + 1] == 'u' ? 4 : 8;
        if (i + 2 + digits > text.size()) throw Invalid("truncated \\u escape in UNICODE argument");
        uint32_t cp = 0;
        for (size_t k = 0; k < digits; ++k) {
          int h = hex_digit(text[i + 2 + k]);
          if (h < 0) throw Invalid("bad \\u escape in UNICODE argument");
          cp = cp * 16 + static_cast<uint32_t>(h);
        }
        append_utf8(out, cp);
        i += 1 + digits;
      } else {
        append_utf8(out, c);
      }
    }
    return out;
  }

  // ---- calls ----
  static std::vector<int64_t> int_list(const ValuePtr& v, const char* what) {
    const auto& items = as_tuple(v, what);
    if (items.size() > 64) throw Invalid(std::string(what) + " has more than 64 dimensions");
    std::vector<int64_t> out;
    out.reserve(items.size());
    for (const auto& item : items) {
      int64_t x = as_int(item, what);
      if (x < 0) throw Invalid(std::string(what) + " has a negative entry " + std::to_string(x));
      out.push_back(x);
    }
    return out;
  }

  static ValuePtr tensor_value(TensorRef ref) {
    auto v = std::make_shared<Value>(Kind::tensor);
    v->tensor = std::make_shared<TensorRef>(std::move(ref));
    return v;
  }

  static const TensorRef& as_tensor(const ValuePtr& v, const char* what) {
    if (!v || !v->is(Kind::tensor) || !v->tensor)
      throw Invalid(std::string(what) + " should be a tensor, found " + kind_of(v));
    return *v->tensor;
  }

  // _rebuild_tensor(storage, offset, size, stride) and _rebuild_tensor_v2(..., requires_grad, hooks[, metadata])
  static ValuePtr rebuild_tensor(const std::vector<ValuePtr>& a, bool v2) {
    const char* fn = v2 ? "_rebuild_tensor_v2" : "_rebuild_tensor";
    if (a.size() < 4 || (!v2 && a.size() != 4) || (v2 && a.size() > 7))
      throw Invalid(std::string(fn) + " called with " + std::to_string(a.size()) + " arguments");
    if (!a[0] || !a[0]->is(Kind::storage) || !a[0]->storage)
      throw Invalid(std::string(fn) + ": first argument should be a storage, found " + describe(a[0]));
    TensorRef t;
    t.storage = a[0]->storage;
    t.dtype = t.storage->dtype;
    t.offset = as_int(a[1], "storage offset");
    if (t.offset < 0) throw Invalid("negative storage offset");
    t.size = int_list(a[2], "tensor size");
    t.stride = int_list(a[3], "tensor stride");
    if (t.size.size() != t.stride.size())
      throw Invalid(std::string(fn) + ": size has " + std::to_string(t.size.size()) + " dimensions but stride " +
                    std::to_string(t.stride.size()));
    if (v2 && a.size() > 4) t.requires_grad = as_bool(a[4], "requires_grad");
    return tensor_value(std::move(t));
  }

  static ValuePtr as_parameter(const ValuePtr& data, bool requires_grad) {
    TensorRef t = as_tensor(data, "Parameter data");
    t.parameter = true;
    t.requires_grad = requires_grad;
    return tensor_value(std::move(t));
  }

  static std::vector<ValuePtr> iterable(const ValuePtr& v, const char* what) {
    if (v && (v->is(Kind::tuple) || v->is(Kind::list) || v->is(Kind::set))) return v->items;
    if (v && v->is(Kind::dict)) {
      std::vector<ValuePtr> keys;
      for (const auto& e : v->entries) keys.push_back(e.first);
      return keys;
    }
    throw Invalid(std::string(what) + " should be iterable, found " + kind_of(v));
  }

  ValuePtr call(const ValuePtr& callable, const ValuePtr& args_value, const char* op, int depth = 0) {
    if (depth > 8) throw Invalid("_rebuild_from_type_v2 nested too deeply");
    if (!callable || !callable->is(Kind::global))
      throw Invalid(std::string(op) + " on " + kind_of(callable) + " " + describe(callable) + ", expected a class or function");
    if (!args_value || !args_value->is(Kind::tuple))
      throw Invalid(std::string(op) + " arguments should be a tuple, found " + kind_of(args_value));
    const std::string qualified = callable->str + "." + callable->name;
    const auto& a = args_value->items;
    auto fn = lookup_global(callable->str, callable->name);
    if (!fn) throw Invalid("unknown global '" + qualified + "'");
    auto want = [&](size_t lo, size_t hi) {
      if (a.size() < lo || a.size() > hi)
        throw Invalid(qualified + " called with " + std::to_string(a.size()) + " arguments");
    };
    switch (*fn) {
      case Fn::ordered_dict:
      case Fn::dict: {
        want(0, 1);
        auto d = make_dict();
        if (a.size() == 1) {
          if (a[0]->is(Kind::dict)) {
            for (const auto& e : a[0]->entries) dict_set(*d, e.first, e.second);
          } else {
            for (const auto& pair : iterable(a[0], "dict argument")) {
              const auto& kv = as_tuple(pair, "dict item");
              if (kv.size() != 2) throw Invalid("dict item should be a (key, value) pair");
              dict_set(*d, kv[0], kv[1]);
            }
          }
        }
        return d;
      }
      case Fn::list:
      case Fn::tuple:
      case Fn::set:
      case Fn::frozenset: {
        want(0, 1);
        Kind kind = *fn == Fn::list ? Kind::list : *fn == Fn::tuple ? Kind::tuple : Kind::set;
        return make_container(kind, a.empty() ? std::vector<ValuePtr>{} : iterable(a[0], qualified.c_str()));
      }
      case Fn::codecs_encode: {
        want(1, 2);
        const std::string& text = as_string(a[0], "_codecs.encode text");
        std::string encoding = a.size() > 1 ? as_string(a[1], "_codecs.encode encoding") : "utf-8";
        for (auto& ch : encoding) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (encoding == "utf-8" || encoding == "utf8") return make_string(text, Kind::bytes);
        if (encoding == "latin1" || encoding == "latin-1" || encoding == "iso-8859-1") {
          std::string out;
          for (uint32_t cp : decode_utf8(text)) {
            if (cp > 0xFF) throw Invalid("_codecs.encode: character out of latin-1 range");
            out += static_cast<char>(cp);
          }
          return make_string(std::move(out), Kind::bytes);
        }
        throw Invalid("_codecs.encode with unsupported encoding '" + encoding.substr(0, 40) + "'");
      }
      case Fn::rebuild_tensor: return rebuild_tensor(a, false);
      case Fn::rebuild_tensor_v2: return rebuild_tensor(a, true);
      case Fn::rebuild_parameter:
        want(2, 3);
        return as_parameter(a[0], as_bool(a[1], "requires_grad"));
      case Fn::rebuild_parameter_with_state:
        want(4, 4);
        return as_parameter(a[0], as_bool(a[1], "requires_grad"));
      case Fn::rebuild_from_type_v2: {
        want(4, 4);
        ValuePtr result = call(a[0], a[2], "_rebuild_from_type_v2", depth + 1);
        if (a[1] && a[1]->is(Kind::global) && lookup_global(a[1]->str, a[1]->name) == Fn::parameter &&
            result->is(Kind::tensor))
          return as_parameter(result, result->tensor->requires_grad);
        return result;
      }
      case Fn::parameter:
        want(0, 2);
        if (a.empty()) {
          TensorRef t;
          t.size = {0};
          t.stride = {1};
          t.parameter = true;
          return tensor_value(std::move(t));
        }
        return as_parameter(a[0], a.size() > 1 ? as_bool(a[1], "requires_grad") : true);
      case Fn::legacy_tensor: {
        if (!a.empty()) throw Invalid(qualified + " called with arguments; only the empty constructor is supported");
        TensorRef t;
        t.dtype = *legacy_tensor_dtype(callable->name);
        t.size = {0};
        t.stride = {1};
        t.placeholder = true;
        return tensor_value(std::move(t));
      }
      case Fn::torch_size:
        want(0, 1);
        return make_container(Kind::tuple, a.empty() ? std::vector<ValuePtr>{} : iterable(a[0], "torch.Size argument"));
      case Fn::device: {
        want(1, 2);
        std::string text = as_string(a[0], "device type");
        if (a.size() == 2 && a[1] && !a[1]->is(Kind::none)) text += ":" + std::to_string(as_int(a[1], "device index"));
        return make_string(std::move(text));
      }
      case Fn::opaque: {
        auto obj = std::make_shared<Value>(Kind::object);
        obj->items = {callable, args_value, make_none()};
        return obj;
      }
      case Fn::tensor_class:
      case Fn::storage_type:
      case Fn::dtype: break;
    }
    throw Invalid("calling '" + qualified + "' is not supported");
  }

  void build(const ValuePtr& obj, const ValuePtr& state) {
    switch (obj->kind) {
      case Kind::dict: return;  // OrderedDict's {'_metadata': ...}: attributes are not kept
      case Kind::object: obj->items[2] = state; return;
      case Kind::tensor: {
        TensorRef& t = *obj->tensor;
        if (!t.placeholder) return;  // Parameter/subclass state: not needed
        const auto& s = as_tuple(state, "tensor state");
        if (s.size() == 4) {  // (storage, offset, size, stride): Tensor.set_
          ValuePtr rebuilt = rebuild_tensor(s, false);
          if (rebuilt->tensor->dtype != t.dtype)
            throw Invalid(std::string("tensor state holds a ") + c10::toString(rebuilt->tensor->dtype) +
                          " storage for a " + c10::toString(t.dtype) + " tensor");
          t = *rebuilt->tensor;
        } else if (s.size() == 5) {  // legacy Variable: (data, _, _, requires_grad, hooks)
          bool parameter = t.parameter;
          t = as_tensor(s[0], "Variable state data");
          t.parameter = parameter;
          t.requires_grad = as_bool(s[3], "requires_grad");
        } else if (s.size() == 3) {  // (requires_grad, _, hooks)
          t.requires_grad = as_bool(s[0], "requires_grad");
        } else {
          throw Invalid("tensor state should have 3, 4 or 5 entries, found " + std::to_string(s.size()));
        }
        t.placeholder = false;
        return;
      }
      default:
        throw Invalid(std::string("BUILD on ") + kind_of(obj) + " " + describe(obj));
    }
  }

  void push_global(std::string module, std::string name) {
    if (!lookup_global(module, name)) {
      bool storage = name.size() > 7 && name.compare(name.size() - 7, 7, "Storage") == 0;
      if (storage) throw Invalid("unsupported storage type '" + module.substr(0, 100) + "." + name.substr(0, 100) + "'");
    throw Invalid("unknown global '" + module.substr(0, 100) + "." + name.substr(0, 100) +
                  "' (only tensors in dicts and lists can be read: save a state_dict, not a model or other objects)");
    }
    auto v = std::make_shared<Value>(Kind::global);
    v->str = std::move(module);
    v->name = std::move(name);
    push(std::move(v));
  }

  void persistent(ValuePtr pid) {
    if (!options_.persistent_load) throw Invalid("persistent id " + describe(pid) + " without a persistent-load handler");
    ValuePtr v = options_.persistent_load(pid);
    if (!v) throw Invalid("persistent id " + describe(pid) + " could not be resolved");
    push(std::move(v));
  }

  void setitems(const std::vector<ValuePtr>& items, const char* op) {
    if (items.size() % 2) throw Invalid(std::string(op) + " with an odd number of items");
    ValuePtr& target = top(op);
    if (!target->is(Kind::dict)) throw Invalid(std::string(op) + " on " + kind_of(target) + ", expected a dict");
    for (size_t i = 0; i < items.size(); i += 2) dict_set(*target, items[i], items[i + 1]);
  }

  void append(std::vector<ValuePtr> items, const char* op, Kind kind) {
    ValuePtr& target = top(op);
    if (!target->is(kind)) throw Invalid(std::string(op) + " on " + kind_of(target) + ", expected a " + kind_name(kind));
    for (auto& item : items) target->items.push_back(std::move(item));
  }

  void step(uint8_t op) {
    switch (op) {
      case 0x80: {  // PROTO
        int proto = *take(1, "PROTO");
        if (proto > 5) throw Invalid("unsupported pickle protocol " + std::to_string(proto));
        return;
      }
      case 0x95: {  // FRAME: only a length hint
        uint64_t n = read_le(8, "FRAME");
        if (n > remaining()) throw Invalid("truncated: FRAME of " + std::to_string(n) + " bytes, " + std::to_string(remaining()) + " left");
        return;
      }
      case '(': marks_.push_back(stack_.size()); return;  // MARK
      case '0':  // POP
        if (stack_.size() > base()) stack_.pop_back();
        else pop_mark("POP");
        return;
      case '1': pop_mark("POP_MARK"); return;
      case '2': push(top("DUP")); return;
      case '}': push(make_dict()); return;
      case ']': push(make_container(Kind::list)); return;
      case ')': push(make_container(Kind::tuple)); return;
      case 0x8f: push(make_container(Kind::set)); return;  // EMPTY_SET
      case 't': push(make_container(Kind::tuple, pop_mark("TUPLE"))); return;
      case 0x85: {  // TUPLE1
        ValuePtr a = pop("TUPLE1");
        push(make_container(Kind::tuple, {a}));
        return;
      }
      case 0x86: {  // TUPLE2
        ValuePtr b = pop("TUPLE2"), a = pop("TUPLE2");
        push(make_container(Kind::tuple, {a, b}));
        return;
      }
      case 0x87: {  // TUPLE3
        ValuePtr c = pop("TUPLE3"), b = pop("TUPLE3"), a = pop("TUPLE3");
        push(make_container(Kind::tuple, {a, b, c}));
        return;
      }
      case 'l': push(make_container(Kind::list, pop_mark("LIST"))); return;
      case 0x91: push(make_container(Kind::set, pop_mark("FROZENSET"))); return;
      case 'd': {  // DICT
        auto items = pop_mark("DICT");
        if (items.size() % 2) throw Invalid("DICT with an odd number of items");
        auto d = make_dict();
        for (size_t i = 0; i < items.size(); i += 2) dict_set(*d, items[i], items[i + 1]);
        push(std::move(d));
        return;
      }
      case 'N': push(make_none()); return;
      case 0x88: push(make_bool(true)); return;   // NEWTRUE
      case 0x89: push(make_bool(false)); return;  // NEWFALSE
      case 'J': {  // BININT
        auto v = static_cast<uint32_t>(read_le(4, "BININT"));
        int32_t s;
        std::memcpy(&s, &v, sizeof s);
        push(make_int(s));
        return;
      }
      case 'K': push(make_int(*take(1, "BININT1"))); return;
      case 'M': push(make_int(static_cast<int64_t>(read_le(2, "BININT2")))); return;
      case 'I': {  // INT (text)
        std::string line = read_line("INT");
        if (line == "00") push(make_bool(false));
        else if (line == "01") push(make_bool(true));
        else push(parse_decimal(line, "INT"));
        return;
      }
      case 'L': push(parse_decimal(read_line("LONG"), "LONG")); return;
      case 0x8a: {  // LONG1
        size_t n = *take(1, "LONG1");
        push(int_from_le(take(n, "LONG1"), n));
        return;
      }
      case 0x8b: {  // LONG4
        auto n = static_cast<uint32_t>(read_le(4, "LONG4"));
        if (n & 0x80000000u) throw Invalid("LONG4 with a negative length");
        push(int_from_le(take(n, "LONG4"), n));
        return;
      }
      case 'G': {  // BINFLOAT: big-endian IEEE double
        const uint8_t* p = take(8, "BINFLOAT");
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];
        double d;
        std::memcpy(&d, &bits, sizeof d);
        push(make_float(d));
        return;
      }
      case 'F': {  // FLOAT (text)
        std::string line = read_line("FLOAT");
        char* end = nullptr;
        double d = std::strtod(line.c_str(), &end);
        if (line.empty() || end != line.c_str() + line.size()) throw Invalid("malformed FLOAT '" + line.substr(0, 40) + "'");
        push(make_float(d));
        return;
      }
      case 'X': push(make_string(read_string(read_le(4, "BINUNICODE"), "BINUNICODE"))); return;
      case 0x8c: push(make_string(read_string(*take(1, "SHORT_BINUNICODE"), "SHORT_BINUNICODE"))); return;
      case 0x8d: push(make_string(read_string(read_le(8, "BINUNICODE8"), "BINUNICODE8"))); return;
      case 'V': push(make_string(raw_unicode_escape(read_line("UNICODE")))); return;
      case 'T': {  // BINSTRING: 4-byte signed length
        auto n = static_cast<uint32_t>(read_le(4, "BINSTRING"));
        if (n & 0x80000000u) throw Invalid("BINSTRING with a negative length");
        push(make_string(read_string(n, "BINSTRING")));
        return;
      }
      case 'U': push(make_string(read_string(*take(1, "SHORT_BINSTRING"), "SHORT_BINSTRING"))); return;
      case 'S': push(make_string(unquote(read_line("STRING")))); return;
      case 'B': push(make_string(read_string(read_le(4, "BINBYTES"), "BINBYTES"), Kind::bytes)); return;
      case 'C': push(make_string(read_string(*take(1, "SHORT_BINBYTES"), "SHORT_BINBYTES"), Kind::bytes)); return;
      case 0x8e: push(make_string(read_string(read_le(8, "BINBYTES8"), "BINBYTES8"), Kind::bytes)); return;
      case 0x96: push(make_string(read_string(read_le(8, "BYTEARRAY8"), "BYTEARRAY8"), Kind::bytes)); return;
      case 'c': {  // GLOBAL
        std::string module = read_line("GLOBAL module");
        std::string name = read_line("GLOBAL name");
        push_global(std::move(module), std::move(name));
        return;
      }
      case 0x93: {  // STACK_GLOBAL
        ValuePtr name = pop("STACK_GLOBAL"), module = pop("STACK_GLOBAL");
        if (!module->is(Kind::string) || !name->is(Kind::string)) throw Invalid("STACK_GLOBAL needs two strings");
        push_global(module->str, name->str);
        return;
      }
      case 'R': {  // REDUCE
        ValuePtr args = pop("REDUCE"), callable = pop("REDUCE");
        push(call(callable, args, "REDUCE"));
        return;
      }
      case 0x81: {  // NEWOBJ
        ValuePtr args = pop("NEWOBJ"), cls = pop("NEWOBJ");
        push(call(cls, args, "NEWOBJ"));
        return;
      }
      case 0x92: {  // NEWOBJ_EX
        ValuePtr kwargs = pop("NEWOBJ_EX"), args = pop("NEWOBJ_EX"), cls = pop("NEWOBJ_EX");
        if (!kwargs->is(Kind::dict) || (!kwargs->entries.empty() && !(cls->is(Kind::global) &&
                                        lookup_global(cls->str, cls->name) == Fn::opaque)))
          throw Invalid("NEWOBJ_EX with keyword arguments is not supported for " + describe(cls));
        push(call(cls, args, "NEWOBJ_EX"));
        return;
      }
      case 'b': {  // BUILD
        ValuePtr state = pop("BUILD");
        build(top("BUILD"), state);
        return;
      }
      case 'Q': persistent(pop("BINPERSID")); return;
      case 'P': persistent(make_string(read_line("PERSID"))); return;
      case 'q': memo_put(*take(1, "BINPUT"), "BINPUT"); return;
      case 'r': memo_put(read_le(4, "LONG_BINPUT"), "LONG_BINPUT"); return;
      case 0x94: memo_put(memo_.size(), "MEMOIZE"); return;
      case 'p': memo_put(static_cast<uint64_t>(as_int(parse_decimal(read_line("PUT"), "PUT index"), "PUT index")), "PUT"); return;
      case 'h': memo_get(*take(1, "BINGET")); return;
      case 'j': memo_get(read_le(4, "LONG_BINGET")); return;
      case 'g': memo_get(static_cast<uint64_t>(as_int(parse_decimal(read_line("GET"), "GET index"), "GET index"))); return;
      case 'a': {  // APPEND
        ValuePtr v = pop("APPEND");
        append({std::move(v)}, "APPEND", Kind::list);
        return;
      }
      case 'e': append(pop_mark("APPENDS"), "APPENDS", Kind::list); return;
      case 0x90: append(pop_mark("ADDITEMS"), "ADDITEMS", Kind::set); return;
      case 's': {  // SETITEM
        ValuePtr v = pop("SETITEM"), k = pop("SETITEM");
        setitems({k, v}, "SETITEM");
        return;
      }
      case 'u': setitems(pop_mark("SETITEMS"), "SETITEMS"); return;
      case 'i': case 'o': case 0x82: case 0x83: case 0x84: case 0x97: case 0x98: {
        static const char* names[] = {"INST", "OBJ", "EXT1", "EXT2", "EXT4", "NEXT_BUFFER", "READONLY_BUFFER"};
        int k = op == 'i' ? 0 : op == 'o' ? 1 : op == 0x82 ? 2 : op == 0x83 ? 3 : op == 0x84 ? 4 : op == 0x97 ? 5 : 6;
        throw Invalid(std::string("unsupported pickle opcode ") + names[k]);
      }
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        throw Invalid(std::string("unknown pickle opcode ") + hex);
      }
    }
  }

  const uint8_t* data_;
  size_t size_;
  const ReadOptions& options_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  size_t created_ = 0;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, ValuePtr> memo_;
};

}  // namespace

ReadResult read(const uint8_t* data, size_t size, const ReadOptions& options) {
  Reader reader(data, size, options);
  return reader.run();
}

}  // namespace impasto::pickle
