// Weight files: the pickle reader, torch.save .pth files (zip and legacy) and impasto checkpoints.
// Fixtures come from tools/make_weight_fixtures.py (see its docstring for what each file holds).
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <caffe2/serialize/inline_container.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "impasto/core/error.h"
#include "impasto/io/pickle.h"
#include "impasto/io/weights.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using impasto::FileError;
using impasto::FormatError;
using impasto::StateDict;
namespace pk = impasto::pickle;

std::string fixture(const std::string& name) { return std::string(IMPASTO_FIXTURES_DIR) + "/weights/" + name; }

// A scratch directory, removed at the end of each test.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("impasto_weights_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}


// A string literal with embedded NULs.
template <size_t N>
std::string B(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

std::vector<std::string> names_of(const StateDict& d) {
  std::vector<std::string> out;
  for (const auto& e : d) out.push_back(e.first);
  return out;
}

const at::Tensor& get(const StateDict& d, const std::string& name) {
  const at::Tensor* t = impasto::find_tensor(d, name);
  if (!t) throw std::runtime_error("missing tensor " + name);
  return *t;
}

void expect_same(const StateDict& a, const StateDict& b) {
  ASSERT_EQ(names_of(a), names_of(b));
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].second.scalar_type(), b[i].second.scalar_type()) << a[i].first;
    EXPECT_EQ(a[i].second.sizes(), b[i].second.sizes()) << a[i].first;
    EXPECT_TRUE(a[i].second.equal(b[i].second)) << a[i].first;
  }
}

// torchvision conv indices of `features` for a cfg (ints = conv widths, 0 = max pool).
std::vector<int> conv_indices(const std::vector<int>& cfg) {
  std::vector<int> out;
  int index = 0;
  for (int v : cfg) {
    if (v == 0) {
      index += 1;
    } else {
      out.push_back(index);
      index += 2;
    }
  }
  return out;
}

const std::vector<int> kVgg19Cfg = {8, 8, 0, 16, 16, 0, 32, 32, 32, 32, 0, 64, 64, 64, 64, 0, 64, 64, 64, 64, 0};
const std::vector<int> kVgg16Cfg = {8, 8, 0, 16, 16, 0, 32, 32, 32, 0, 64, 64, 64, 0, 64, 64, 64, 0};

std::vector<std::string> torchvision_names(const std::vector<int>& cfg) {
  std::vector<std::string> out;
  for (int i : conv_indices(cfg)) {
    out.push_back("features." + std::to_string(i) + ".weight");
    out.push_back("features." + std::to_string(i) + ".bias");
  }
  for (int i : {0, 3, 6}) {
    out.push_back("classifier." + std::to_string(i) + ".weight");
    out.push_back("classifier." + std::to_string(i) + ".bias");
  }
  return out;
}

// Checks names, shapes, dtype, contiguity and the initialisation statistics of a torchvision VGG
// fixture: a misread byte layout would fail the statistics.
void check_torchvision_vgg(const StateDict& sd, const std::vector<int>& cfg) {
  ASSERT_EQ(names_of(sd), torchvision_names(cfg));
  int64_t in = 3;
  auto indices = conv_indices(cfg);
  size_t k = 0;
  for (int v : cfg) {
    if (v == 0) continue;
    const std::string prefix = "features." + std::to_string(indices[k++]);
    const at::Tensor& w = get(sd, prefix + ".weight");
    const at::Tensor& b = get(sd, prefix + ".bias");
    EXPECT_EQ(w.sizes(), (std::vector<int64_t>{v, in, 3, 3})) << prefix;
    EXPECT_EQ(b.sizes(), (std::vector<int64_t>{v})) << prefix;
    EXPECT_EQ(w.scalar_type(), at::kFloat);
    EXPECT_TRUE(w.is_contiguous());
    // kaiming_normal_(fan_in, relu): std = sqrt(2 / fan_in); biases U(-0.05, 0.05).
    double expected_std = std::sqrt(2.0 / static_cast<double>(in * 9));
    double stdv = w.std().item<double>();
    EXPECT_GT(stdv, 0.6 * expected_std) << prefix;
    EXPECT_LT(stdv, 1.4 * expected_std) << prefix;
    EXPECT_NEAR(w.mean().item<double>(), 0.0, 0.5 * expected_std) << prefix;
    EXPECT_LE(b.abs().max().item<double>(), 0.05) << prefix;
    EXPECT_GT(b.abs().max().item<double>(), 0.0) << prefix;
    in = v;
  }
  EXPECT_EQ(get(sd, "classifier.0.weight").sizes(), (std::vector<int64_t>{16, in * 7 * 7}));
  EXPECT_EQ(get(sd, "classifier.3.weight").sizes(), (std::vector<int64_t>{16, 16}));
  EXPECT_EQ(get(sd, "classifier.6.weight").sizes(), (std::vector<int64_t>{10, 16}));
  EXPECT_EQ(get(sd, "classifier.6.bias").sizes(), (std::vector<int64_t>{10}));
}

// ---- a tiny pickle writer for handcrafted data.pkl records --------------------------------------------

struct Pickle {
  std::string b = "\x80\x02";
  Pickle& op(const std::string& s) {
    b += s;
    return *this;
  }
  Pickle& str(const std::string& s) {
    b += 'X';
    uint32_t n = static_cast<uint32_t>(s.size());
    for (int i = 0; i < 4; ++i) b += static_cast<char>((n >> (8 * i)) & 0xFF);
    b += s;
    return *this;
  }
  Pickle& global(const std::string& module, const std::string& name) {
    b += "c" + module + "\n" + name + "\n";
    return *this;
  }
  Pickle& i1(int v) {
    b += 'K';
    b += static_cast<char>(v);
    return *this;
  }
  // _rebuild_tensor_v2(storage pid, offset, size, stride, False, OrderedDict())
  Pickle& tensor(const std::string& key, int numel, int offset, std::vector<int> size, std::vector<int> stride,
                 const std::string& rebuild = "_rebuild_tensor_v2") {
    global("torch._utils", rebuild).op("((").str("storage").global("torch", "FloatStorage").str(key).str("cpu").i1(numel);
    op("tQ").i1(offset).op("(");
    for (int s : size) i1(s);
    op("t(");
    for (int s : stride) i1(s);
    op("t\x89").global("collections", "OrderedDict").op(")Rt").op("R");
    return *this;
  }
};

// Writes a zip-format torch.save file with a handcrafted data.pkl and float32 storages.
void write_zip(const std::string& path, const std::string& data_pkl,
               const std::vector<std::pair<std::string, std::vector<float>>>& storages) {
  caffe2::serialize::PyTorchStreamWriter writer(path);
  writer.writeRecord("data.pkl", data_pkl.data(), data_pkl.size());
  for (const auto& [key, values] : storages)
    writer.writeRecord("data/" + key, values.data(), values.size() * sizeof(float));
  writer.writeEndOfFile();
}

// The legacy preamble: magic number, protocol version 1001, sys_info {}.
std::string legacy_preamble() {
  return from_hex("80028a0a6cfc9c46f9206aa85019") + "." + from_hex("80024de903") + "." + from_hex("80027d") + ".";
}

// ---- the pickle reader --------------------------------------------------------------------------------

pk::ValuePtr read_pickle(const std::string& bytes, size_t max_values = size_t(1) << 21) {
  pk::ReadOptions options;
  options.source = "test";
  options.max_values = max_values;
  auto r = pk::read(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), options);
  EXPECT_EQ(r.consumed, bytes.size());
  return r.value;
}

// {'a': 1, 'b': [1.5, None, True, 'xé', -5, 2**70, -300], 'c': (1, 2), 'd': b'hi', 'e': {1},
//  'f': OrderedDict(k=3)} as Python 3 pickles it with protocols 0, 2 and 4.
const char* kProtocol0 =
    "286470300a56610a70310a49310a7356620a70320a286c70330a46312e350a614e614930310a615678e90a70340a61492d350a61"
    "4c313138303539313632303731373431313330333432344c0a61492d3330300a617356630a70350a2849310a49320a7470360a73"
    "56640a70370a635f636f646563730a656e636f64650a70380a285668690a70390a566c6174696e310a7031300a747031310a5270"
    "31320a7356650a7031330a635f5f6275696c74696e5f5f0a7365740a7031340a28286c7031350a49310a61747031360a52703137"
    "0a7356660a7031380a63636f6c6c656374696f6e730a4f726465726564446963740a7031390a2874527032300a566b0a7032310a"
    "49330a73732e";
const char* kProtocol2 =
    "80027d71002858010000006171014b0158010000006271025d710328473ff80000000000004e88580300000078c3a971044afbff"
    "ffff8a090000000000000000404ad4feffff6558010000006371054b014b028671065801000000647107635f636f646563730a65"
    "6e636f64650a710858020000006869710958060000006c6174696e31710a86710b52710c580100000065710d635f5f6275696c74"
    "696e5f5f0a7365740a710e5d710f4b0161857110527111580100000066711263636f6c6c656374696f6e730a4f72646572656444"
    "6963740a71132952711458010000006b71154b0373752e";
const char* kProtocol4 =
    "80049582000000000000007d94288c0161944b018c0162945d9428473ff80000000000004e888c0378c3a9944afbffffff8a0900"
    "00000000000000404ad4feffff658c0163944b014b0286948c01649443026869948c0165948f94284b01908c0166948c0b636f6c"
    "6c656374696f6e73948c0b4f726465726564446963749493942952948c016b944b0373752e";

void check_python_object(const pk::ValuePtr& v) {
  ASSERT_TRUE(v->is(pk::Kind::dict));
  ASSERT_EQ(v->entries.size(), 6u);
  std::vector<std::string> keys;
  for (const auto& e : v->entries) keys.push_back(e.first->str);
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b", "c", "d", "e", "f"}));
  EXPECT_EQ(pk::dict_get(*v, "a")->integer, 1);
  auto b = pk::dict_get(*v, "b");
  ASSERT_TRUE(b->is(pk::Kind::list));
  ASSERT_EQ(b->items.size(), 7u);
  EXPECT_DOUBLE_EQ(b->items[0]->floating, 1.5);
  EXPECT_TRUE(b->items[1]->is(pk::Kind::none));
  EXPECT_TRUE(b->items[2]->is(pk::Kind::boolean) && b->items[2]->boolean);
  EXPECT_EQ(b->items[3]->str, "x\xc3\xa9");
  EXPECT_EQ(b->items[4]->integer, -5);
  ASSERT_TRUE(b->items[5]->is(pk::Kind::big_integer));
  EXPECT_EQ(b->items[5]->str, from_hex("000000000000000040"));
  EXPECT_EQ(b->items[6]->integer, -300);
  auto c = pk::dict_get(*v, "c");
  ASSERT_TRUE(c->is(pk::Kind::tuple));
  ASSERT_EQ(c->items.size(), 2u);
  EXPECT_EQ(c->items[1]->integer, 2);
  auto d = pk::dict_get(*v, "d");
  EXPECT_TRUE(d->is(pk::Kind::bytes));
  EXPECT_EQ(d->str, "hi");
  auto e = pk::dict_get(*v, "e");
  ASSERT_TRUE(e->is(pk::Kind::set));
  ASSERT_EQ(e->items.size(), 1u);
  EXPECT_EQ(e->items[0]->integer, 1);
  auto f = pk::dict_get(*v, "f");
  ASSERT_TRUE(f->is(pk::Kind::dict));
  ASSERT_NE(pk::dict_get(*f, "k"), nullptr);
  EXPECT_EQ(pk::dict_get(*f, "k")->integer, 3);
}

TEST(Pickle, ReadsProtocols0To4) {
  check_python_object(read_pickle(from_hex(kProtocol0)));
  check_python_object(read_pickle(from_hex(kProtocol2)));
  check_python_object(read_pickle(from_hex(kProtocol4)));
}

TEST(Pickle, WideIntegersAndTextIntegers) {
  auto v = read_pickle("L-1180591620717411303424L\n.");
  ASSERT_TRUE(v->is(pk::Kind::big_integer));
  EXPECT_EQ(v->str, from_hex("0000000000000000c0"));
  EXPECT_EQ(read_pickle("I-42\n.")->integer, -42);
  EXPECT_EQ(read_pickle("L9223372036854775807L\n.")->integer, INT64_MAX);
  // LONG1 with redundant sign bytes still fits int64.
  EXPECT_EQ(read_pickle(from_hex("80028a04ffffffff") + ".")->integer, -1);
  EXPECT_EQ(read_pickle(from_hex("80028a0400010000") + ".")->integer, 256);
}

TEST(Pickle, MemoAliasesMutableObjects) {
  // l = []; t = (l, l); l.append(7): both tuple entries are the same list and see the append.
  auto v = read_pickle(std::string("\x80\x02]q\x00h\x00\x86q\x01h\x00K\x07" "a0.", 17));
  ASSERT_TRUE(v->is(pk::Kind::tuple));
  ASSERT_EQ(v->items.size(), 2u);
  EXPECT_EQ(v->items[0], v->items[1]);
  ASSERT_EQ(v->items[0]->items.size(), 1u);
  EXPECT_EQ(v->items[0]->items[0]->integer, 7);
}

TEST(Pickle, MalformedInputThrowsWithOffset) {
  struct Case {
    std::string bytes;
    std::string message;
  };
  const std::vector<Case> cases = {
      {std::string("\x80\x02\xff."), "byte 2: unknown pickle opcode 0xff"},
      {std::string("\x80\x02R."), "byte 2: stack underflow in REDUCE"},
      {std::string("\x80\x02K\x01t."), "no MARK before TUPLE"},
      {std::string("\x80\x02h\x05."), "memo entry 5 is missing"},
      {std::string("\x80\x02X\xff\xff\xff\x7f" "abc."), "truncated"},
      {std::string("\x80\x02}"), "without STOP"},
      {std::string(""), "empty pickle"},
      {std::string("\x80\x02" "cos\nsystem\n."), "unknown global 'os.system'"},
      {std::string("\x80\x02" "ctorch\nQInt8Storage\n."), "unsupported storage type"},
      {std::string("\x80\x02K\x01K\x02" "b."), "BUILD on int"},
      {std::string("\x80\x02]K\x01K\x02s."), "SETITEM on list"},
      {std::string("\x80\x02}K\x01" "a."), "APPEND on dict"},
      {std::string("\x80\x02" "ccollections\nOrderedDict\nK\x01R."), "arguments should be a tuple"},
      {std::string("\x80\x07N."), "unsupported pickle protocol 7"},
      {B("\x80\x02\x95\xff\x00\x00\x00\x00\x00\x00\x00N."), "truncated: FRAME"},
      {B("\x80\x02\x8b\x00\x00\x00\x80."), "negative length"},
      {std::string("\x80\x02\x82\x01."), "unsupported pickle opcode EXT1"},
      {std::string("\x80\x02K\x01Q."), "without a persistent-load handler"},
      {std::string("I12x\n."), "malformed INT"},
  };
  for (const auto& c : cases) {
    std::string message = impasto::test::expect_error<FormatError>([&] { read_pickle(c.bytes); });
    EXPECT_TRUE(contains(message, "test: ")) << message;
    EXPECT_TRUE(contains(message, c.message)) << "expected '" << c.message << "' in: " << message;
  }
}

TEST(Pickle, ResourceLimits) {
  // DUP bomb: capped by max_values.
  std::string bomb = "\x80\x02N" + std::string(5000, '2') + ".";
  EXPECT_TRUE(contains(impasto::test::expect_error<FormatError>([&] { read_pickle(bomb, 1000); }), "more than 1000 values"));
  // 200000 nested lists: read and freed without recursion trouble.
  const int depth = 200000;
  std::string nested = "\x80\x02" + std::string(depth, '(') + std::string(depth, 'l') + ".";
  auto v = read_pickle(nested);
  ASSERT_TRUE(v->is(pk::Kind::list));
  EXPECT_FALSE(pk::describe(v).empty());
  v.reset();
}

TEST(Pickle, EveryTruncationOfARealPickleThrows) {
  const std::string full = from_hex(kProtocol2);
  for (size_t n = 0; n < full.size(); ++n) {
    std::string cut = full.substr(0, n);
    pk::ReadOptions options;
    options.source = "cut";
    EXPECT_THROW(pk::read(reinterpret_cast<const uint8_t*>(cut.data()), cut.size(), options), FormatError) << n;
  }
}

TEST(Pickle, RandomBytesNeverCrash) {
  std::mt19937 rng(1234);
  const std::string base = from_hex(kProtocol2);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bytes = base;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng() & 0xFF);
    pk::ReadOptions options;
    options.source = "fuzz";
    try {
      pk::read(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), options);
    } catch (const FormatError&) {
    }
  }
}

// ---- torch.save files -----------------------------------------------------------------------------------

TEST(LoadPth, Vgg19ZipAndLegacyAreIdentical) {
  StateDict zip = impasto::load_pth(fixture("vgg19_w8.pth"));
  StateDict legacy = impasto::load_pth(fixture("vgg19_w8_legacy.pth"));
  check_torchvision_vgg(zip, kVgg19Cfg);
  expect_same(zip, legacy);
}

TEST(LoadPth, Vgg16) { check_torchvision_vgg(impasto::load_pth(fixture("vgg16_w8.pth")), kVgg16Cfg); }

TEST(LoadPth, Vgg19NormalisedLayout) {
  StateDict sd = impasto::load_pth(fixture("vgg19_normalised_w8.pth"));
  const std::vector<int> convs = {0, 2, 5, 9, 12, 16, 19, 22, 25, 29, 32, 35, 38, 42, 45, 48, 51};
  const std::vector<int64_t> widths = {3, 8, 8, 16, 16, 32, 32, 32, 32, 64, 64, 64, 64, 64, 64, 64, 64};
  std::vector<std::string> expected;
  for (int i : convs) {
    expected.push_back(std::to_string(i) + ".weight");
    expected.push_back(std::to_string(i) + ".bias");
  }
  ASSERT_EQ(names_of(sd), expected);
  EXPECT_EQ(get(sd, "0.weight").sizes(), (std::vector<int64_t>{3, 3, 1, 1}));
  for (size_t k = 1; k < convs.size(); ++k)
    EXPECT_EQ(get(sd, std::to_string(convs[k]) + ".weight").sizes(), (std::vector<int64_t>{widths[k], widths[k - 1], 3, 3}));
}

std::vector<std::string> small_vgg19_names(const StateDict& full) {
  std::vector<std::string> out;
  for (const auto& [name, t] : full)
    if (t.numel() <= 10000) out.push_back(name);
  return out;
}

TEST(LoadPth, PlainDictOfParameters) {
  StateDict full = impasto::load_pth(fixture("vgg19_w8.pth"));
  StateDict params = impasto::load_pth(fixture("vgg19_w8_params_plain.pth"));
  auto expected = small_vgg19_names(full);
  ASSERT_GT(expected.size(), 20u);
  ASSERT_EQ(names_of(params), expected);
  for (const auto& [name, t] : params) EXPECT_TRUE(t.equal(get(full, name))) << name;
}

TEST(LoadPth, NestedCheckpointIsFlattened) {
  StateDict full = impasto::load_pth(fixture("vgg19_w8.pth"));
  StateDict nested = impasto::load_pth(fixture("vgg19_w8_nested.pth"));
  std::vector<std::string> expected;
  for (const auto& name : small_vgg19_names(full)) expected.push_back("state_dict." + name);
  ASSERT_EQ(names_of(nested), expected);  // 'epoch' and 'name' are not tensors: skipped
  for (const auto& [name, t] : nested) EXPECT_TRUE(t.equal(get(full, name.substr(11)))) << name;
}

TEST(LoadPth, OldestSetstateEncoding) {
  StateDict sd = impasto::load_pth(fixture("setstate_old.pth"));
  ASSERT_EQ(names_of(sd), (std::vector<std::string>{"a", "b", "meta.strided"}));
  EXPECT_TRUE(get(sd, "a").equal(torch::tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}).reshape({2, 3})));
  EXPECT_TRUE(get(sd, "b").equal(torch::tensor({0.5f, -1.5f, 2.25f, 1e-3f})));
  // root r = arange(12)*0.5-1, storage view r[2:10], offset 1, size (3,2), stride (1,3): r[3+i+3j].
  auto r = [](int k) { return k * 0.5f - 1.f; };
  at::Tensor expected = torch::tensor({r(3), r(6), r(4), r(7), r(5), r(8)}).reshape({3, 2});
  const at::Tensor& strided = get(sd, "meta.strided");
  EXPECT_TRUE(strided.equal(expected)) << strided;
  EXPECT_TRUE(strided.is_contiguous());
}

void check_views(const StateDict& sd) {
  at::Tensor base = torch::arange(24, torch::kFloat32).reshape({4, 6});
  at::Tensor ar = torch::arange(6, torch::kLong);
  EXPECT_TRUE(get(sd, "base").equal(base));
  EXPECT_TRUE(get(sd, "transposed").equal(base.t()));
  EXPECT_TRUE(get(sd, "sliced").equal(base.slice(0, 1).slice(1, 2, 5)));
  EXPECT_TRUE(get(sd, "expanded").equal(torch::tensor({1.f, 2.f, 3.f}).expand({4, 3})));
  EXPECT_TRUE(get(sd, "channels_last").equal(torch::arange(24, torch::kFloat32).reshape({2, 3, 2, 2})));
  EXPECT_EQ(get(sd, "scalar").dim(), 0);
  EXPECT_EQ(get(sd, "scalar").item<float>(), 3.5f);
  EXPECT_EQ(get(sd, "empty").sizes(), (std::vector<int64_t>{0, 3}));
  EXPECT_TRUE(get(sd, "f64").equal(ar.to(torch::kFloat64) * 1.5 - 2));
  EXPECT_TRUE(get(sd, "f16").equal((ar.to(torch::kFloat32) * 0.25 - 0.5).to(torch::kFloat16)));
  EXPECT_TRUE(get(sd, "bf16").equal((ar.to(torch::kFloat32) * 0.5 - 1).to(torch::kBFloat16)));
  EXPECT_TRUE(get(sd, "i64").equal(ar * 1000000007 - 3));
  EXPECT_TRUE(get(sd, "i32").equal((ar * -7 + 1).to(torch::kInt32)));
  EXPECT_TRUE(get(sd, "i16").equal((ar * 300 - 900).to(torch::kInt16)));
  EXPECT_TRUE(get(sd, "i8").equal((ar * -20 + 50).to(torch::kInt8)));
  EXPECT_TRUE(get(sd, "u8").equal((ar * 40 + 10).to(torch::kUInt8)));
  EXPECT_TRUE(get(sd, "bool").equal(ar.remainder(2) == 1));
  for (const auto& [name, t] : sd) {
    EXPECT_TRUE(t.is_contiguous()) << name;
    EXPECT_TRUE(t.device().is_cpu()) << name;
  }
  // Owns its memory: shared storages in the file are separate tensors here.
  EXPECT_NE(get(sd, "base").data_ptr(), get(sd, "transposed").data_ptr());
}

TEST(LoadPth, ViewsDtypesAndStrides) {
  StateDict zip = impasto::load_pth(fixture("views.pth"));
  StateDict legacy = impasto::load_pth(fixture("views_legacy.pth"));
  StateDict proto4 = impasto::load_pth(fixture("views_proto4.pth"));
  check_views(zip);
  check_views(legacy);
  check_views(proto4);
  expect_same(zip, legacy);
  expect_same(zip, proto4);
}

// The reference features were computed by torchvision; recompute the first layers with LibTorch from
// the loaded weights: proves the weights (and the reference file) were read correctly.
TEST(LoadPth, ReferenceFeaturesMatchLoadedWeights) {
  StateDict w = impasto::load_pth(fixture("vgg19_w8.pth"));
  StateDict ref = impasto::load_pth(fixture("vgg19_w8_ref.pth"));
  const at::Tensor& x = get(ref, "input");
  ASSERT_EQ(x.sizes(), (std::vector<int64_t>{1, 3, 32, 32}));
  EXPECT_GE(x.min().item<float>(), 0.f);
  EXPECT_LE(x.max().item<float>(), 1.f);
  at::Tensor mean = torch::tensor({0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1});
  at::Tensor stdev = torch::tensor({0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1});
  auto conv = [&](const at::Tensor& h, int i) {
    return torch::conv2d(h, get(w, "features." + std::to_string(i) + ".weight"),
                         get(w, "features." + std::to_string(i) + ".bias"), 1, 1);
  };
  at::Tensor r11 = torch::relu(conv((x - mean) / stdev, 0));
  at::Tensor r12 = torch::relu(conv(r11, 2));
  at::Tensor r21 = torch::relu(conv(torch::max_pool2d(r12, 2, 2), 5));
  at::Tensor a21 = torch::relu(conv(torch::avg_pool2d(r12, 2, 2), 5));
  EXPECT_TRUE(torch::allclose(r11, get(ref, "relu1_1"), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(r12, get(ref, "relu1_2"), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(r21, get(ref, "relu2_1"), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(a21, get(ref, "avg/relu2_1"), 1e-4, 1e-5));
  EXPECT_FALSE(torch::allclose(r21, a21, 1e-4, 1e-5));

  // Names and shapes of the whole reference set.
  std::vector<std::string> relus;
  const int per_block[] = {2, 2, 4, 4, 4};
  const int64_t channels[] = {8, 16, 32, 64, 64};
  for (int b = 0; b < 5; ++b)
    for (int l = 1; l <= per_block[b]; ++l) {
      std::string name = "relu" + std::to_string(b + 1) + "_" + std::to_string(l);
      int64_t hw = 32 >> b;
      EXPECT_EQ(get(ref, name).sizes(), (std::vector<int64_t>{1, channels[b], hw, hw})) << name;
      EXPECT_EQ(get(ref, "avg/" + name).sizes(), (std::vector<int64_t>{1, channels[b], hw, hw})) << name;
    }
  EXPECT_EQ(get(ref, "conv4_2").sizes(), (std::vector<int64_t>{1, 64, 4, 4}));
  EXPECT_LT(get(ref, "conv4_2").min().item<float>(), 0.f);  // before the ReLU
  EXPECT_EQ(ref.size(), 1u + 2u * 17u);
  // Features are not degenerate (well-conditioned initialisation).
  EXPECT_GT(get(ref, "relu5_4").abs().max().item<float>(), 1e-3f);

  StateDict ref16 = impasto::load_pth(fixture("vgg16_w8_ref.pth"));
  EXPECT_EQ(ref16.size(), 1u + 2u * 14u);
  EXPECT_EQ(get(ref16, "relu5_3").sizes(), (std::vector<int64_t>{1, 64, 2, 2}));
  EXPECT_EQ(impasto::find_tensor(ref16, "relu5_4"), nullptr);
}

TEST(LoadPth, NormalisedReferenceMatchesLoadedWeights) {
  StateDict w = impasto::load_pth(fixture("vgg19_normalised_w8.pth"));
  StateDict ref = impasto::load_pth(fixture("vgg19_normalised_w8_ref.pth"));
  EXPECT_EQ(names_of(ref), (std::vector<std::string>{"input", "relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"}));
  auto conv = [&](const at::Tensor& h, int i) {
    return torch::conv2d(h, get(w, std::to_string(i) + ".weight"), get(w, std::to_string(i) + ".bias"));
  };
  at::Tensor h = conv(get(ref, "input"), 0);
  h = torch::relu(conv(torch::reflection_pad2d(h, {1, 1, 1, 1}), 2));
  EXPECT_TRUE(torch::allclose(h, get(ref, "relu1_1"), 1e-4, 1e-5));
  h = torch::relu(conv(torch::reflection_pad2d(h, {1, 1, 1, 1}), 5));
  h = torch::max_pool2d(h, 2, 2, 0, 1, /*ceil_mode=*/true);
  h = torch::relu(conv(torch::reflection_pad2d(h, {1, 1, 1, 1}), 9));
  EXPECT_TRUE(torch::allclose(h, get(ref, "relu2_1"), 1e-4, 1e-5));
  EXPECT_EQ(get(ref, "relu5_1").sizes(), (std::vector<int64_t>{1, 64, 2, 2}));
}

// ---- errors -------------------------------------------------------------------------------------------

TEST(LoadPthErrors, MissingFile) {
  const std::string path = fixture("does_not_exist.pth");
  std::string message = impasto::test::expect_error<FileError>([&] { impasto::load_pth(path); });
  EXPECT_TRUE(contains(message, path)) << message;
  impasto::test::expect_error<FileError>([&] { impasto::load_weights(path); });
  impasto::test::expect_error<FileError>([&] { impasto::load_checkpoint(path); });
  impasto::test::expect_error<FileError>([&] { impasto::is_impasto_checkpoint(path); });
  impasto::test::expect_error<FileError>([&] { impasto::load_pth(IMPASTO_FIXTURES_DIR); });  // a directory
}

TEST(LoadPthErrors, TruncatedFiles) {
  TempDir dir;
  for (const char* name : {"vgg19_w8.pth", "vgg19_w8_legacy.pth", "views_legacy.pth", "setstate_old.pth"}) {
    const std::string full = read_bytes(fixture(name));
    ASSERT_GT(full.size(), 200u);
    for (size_t n : {size_t(0), size_t(3), size_t(40), size_t(200), full.size() / 2, full.size() - 30, full.size() - 1}) {
      const std::string path = dir.file(std::string("cut_") + std::to_string(n) + "_" + name);
      write_bytes(path, full.substr(0, n));
      std::string message = impasto::test::expect_error<FormatError>([&] { impasto::load_pth(path); });
      EXPECT_TRUE(contains(message, path)) << name << " cut at " << n << ": " << message;
    }
  }
}

TEST(LoadPthErrors, RandomBytes) {
  TempDir dir;
  std::mt19937 rng(42);
  for (char first : {'\x13', '\x80', 'P'}) {
    std::string bytes(4096, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng() & 0xFF);
    bytes[0] = first;
    const std::string path = dir.file(std::string("random_") + std::to_string(static_cast<int>(first & 0xFF)) + ".pth");
    write_bytes(path, bytes);
    std::string message = impasto::test::expect_error<FormatError>([&] { impasto::load_pth(path); });
    EXPECT_TRUE(contains(message, path)) << message;
    impasto::test::expect_error<FormatError>([&] { impasto::load_weights(path); });
    EXPECT_FALSE(impasto::is_impasto_checkpoint(path));
  }
}

TEST(LoadPthErrors, CorruptedLegacyBytesNeverCrash) {
  TempDir dir;
  const std::string original = read_bytes(fixture("views_legacy.pth"));
  std::mt19937 rng(7);
  const std::string path = dir.file("fuzz.pth");
  int loaded = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string bytes = original;
    bytes[rng() % bytes.size()] = static_cast<char>(rng() & 0xFF);
    write_bytes(path, bytes);
    try {
      impasto::load_pth(path);
      ++loaded;  // a flipped data byte is still a valid file
    } catch (const FormatError& e) {
      EXPECT_TRUE(contains(e.what(), path));
    }
  }
  EXPECT_GT(loaded, 0);
}

TEST(LoadPthErrors, UnknownOpcodeInLegacyFile) {
  TempDir dir;
  const std::string preamble = legacy_preamble();
  const std::string path = dir.file("unknown_opcode.pth");
  write_bytes(path, preamble + "\x80\x02}\xff.");
  std::string message = impasto::test::expect_error<FormatError>([&] { impasto::load_pth(path); });
  EXPECT_TRUE(contains(message, path)) << message;
  EXPECT_TRUE(contains(message, "unknown pickle opcode 0xff")) << message;
  EXPECT_TRUE(contains(message, "byte " + std::to_string(preamble.size() + 3))) << message;
}

TEST(LoadPthErrors, LegacyStructure) {
  TempDir dir;
  const std::string path = dir.file("legacy.pth");
  auto object = Pickle()
                    .op("}(")
                    .str("w")
                    .global("torch._utils", "_rebuild_tensor_v2")
                    .op("((")
                    .str("storage")
                    .global("torch", "FloatStorage")
                    .str("k")
                    .str("cpu")
                    .i1(4)
                    .op("NtQ")
                    .i1(0)
                    .op("(")
                    .i1(4)
                    .op("t(")
                    .i1(1)
                    .op("t\x89")
                    .global("collections", "OrderedDict")
                    .op(")RtRu.")
                    .b;
  auto storage = [](int64_t count, const std::vector<float>& values) {
    std::string s(reinterpret_cast<const char*>(&count), 8);
    s.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
    return s;
  };
  const std::string keys = Pickle().op("]").str("k").op("a.").b;
  // Valid.
  write_bytes(path, legacy_preamble() + object + keys + storage(4, {1, 2, 3, 4}));
  StateDict sd = impasto::load_pth(path);
  ASSERT_EQ(names_of(sd), std::vector<std::string>{"w"});
  EXPECT_TRUE(sd[0].second.equal(torch::tensor({1.f, 2.f, 3.f, 4.f})));
  // Storage shorter than the tensor.
  write_bytes(path, legacy_preamble() + object + keys + storage(3, {1, 2, 3}));
  EXPECT_TRUE(contains(impasto::test::expect_error<FormatError>([&] { impasto::load_pth(path); }), "indexes element 3"));
  // Declared count beyond the end of the file.
  write_bytes(path, legacy_preamble() + object + keys + storage(1000, {1, 2, 3, 4}));
  EXPECT_TRUE(contains(impasto::test::expect_error<FormatError>([&] { impasto::load_pth(path); }), "truncated"));
  // Key list naming an unknown storage.
  write_bytes(path, legacy_preamble() + object + Pickle().op("]").str("zz").op("a.").b + storage(4, {1, 2, 3, 4}));
  EXPECT_TRUE(contains(impasto::test::expect_error<FormatError>([&] { impasto::load_pth(path); }), "'zz'"));
  // Storage never listed.
  write_bytes(path, legacy_preamble() + object + Pickle().op("].").b);
  EXPECT_TRUE(contains(impasto::test::expect_error<FormatError>([&] { impasto::load_pth(path); }), "has no data"));
  // Wrong magic number / protocol.
  write_bytes(path, from_hex("80028a0a6cfc9c46f9206aa85018") + "." + object);
  EXPECT_TRUE(contains(impasto::test::expect_error<FormatError>([&] { impasto::load_pth(path); }), "not a torch.save file"));
  write_bytes(path, from_hex("80028a0a6cfc9c46f9206aa85019") + "." + from_hex("80024dea03") + "." + object);
  EXPECT_TRUE(contains(impasto::test::expect_error<FormatError>([&] { impasto::load_pth(path); }), "protocol version"));
}

TEST(LoadPthErrors, HandcraftedZipFiles) {
  TempDir dir;
  const std::string path = dir.file("crafted.pth");
  const std::vector<std::pair<std::string, std::vector<float>>> storage = {{"0", {1, 2, 3, 4}}};
  auto one_tensor = [](int offset, std::vector<int> size, std::vector<int> stride, const std::string& key = "0",
                       const std::string& rebuild = "_rebuild_tensor_v2") {
    return Pickle().op("}(").str("w").tensor(key, 4, offset, size, stride, rebuild).op("u.").b;
  };

  // Valid: a transposed view comes back contiguous with the right values.
  write_zip(path, one_tensor(0, {2, 2}, {1, 2}), storage);
  StateDict sd = impasto::load_pth(path);
  ASSERT_EQ(sd.size(), 1u);
  EXPECT_TRUE(sd[0].second.equal(torch::tensor({1.f, 3.f, 2.f, 4.f}).reshape({2, 2})));
  EXPECT_TRUE(sd[0].second.is_contiguous());
  // _rebuild_tensor (v1) with an offset.
  write_zip(path, Pickle().op("}(").str("w").global("torch._utils", "_rebuild_tensor").op("((").str("storage")
                      .global("torch", "FloatStorage").str("0").str("cpu").i1(4).op("tQ").i1(1).op("(").i1(3)
                      .op("t(").i1(1).op("ttRu.").b,
            storage);
  EXPECT_TRUE(impasto::load_pth(path)[0].second.equal(torch::tensor({2.f, 3.f, 4.f})));

  auto expect_format = [&](const std::string& data_pkl, const std::string& needle,
                           const std::vector<std::pair<std::string, std::vector<float>>>& storages) {
    write_zip(path, data_pkl, storages);
    std::string message = impasto::test::expect_error<FormatError>([&] { impasto::load_pth(path); });
    EXPECT_TRUE(contains(message, path)) << message;
    EXPECT_TRUE(contains(message, needle)) << "expected '" << needle << "' in: " << message;
  };
  expect_format(one_tensor(1, {2, 2}, {2, 1}), "indexes element 4", storage);  // out of bounds
  expect_format(one_tensor(0, {2, 2}, {2, 1}, "7"), "data/7", storage);        // missing record
  expect_format(std::string("\x80\x02\xff."), "data.pkl, byte 2: unknown pickle opcode 0xff", storage);
  expect_format(std::string("\x80\x02R."), "stack underflow", storage);
  expect_format(std::string("\x80\x02}"), "truncated", storage);
  expect_format(Pickle().op("}(").str("w").global("os", "system").op("u.").b, "unknown global 'os.system'", storage);
  expect_format(Pickle().op("(").str("module").op("NNtQ.").b, "nn.Module", storage);
  // Deep nesting and cycles stop at the nesting limit.
  std::string deep = "\x80\x02";
  for (int i = 0; i < 100; ++i) deep += Pickle().op("(").str("a").b.substr(2);
  deep += "(d" + std::string(100, 'd') + ".";
  expect_format(deep, "nested deeper than", storage);
  expect_format(B("\x80\x02]q\x00h\x00" "a."), "nested deeper than", storage);  // l.append(l)
  // An exponential DAG of aliases stops at the entry limit.
  std::string dag = "\x80\x02N";
  for (int i = 0; i < 40; ++i) dag += "2\x86";
  expect_format(dag + ".", "entries", storage);
  // Duplicate flattened names.
  expect_format(Pickle().op("}(").str("a.b").tensor("0", 4, 0, {4}, {1}).str("a").op("}(").str("b")
                    .tensor("0", 4, 0, {4}, {1}).op("uu.").b,
                "same name 'a.b'", storage);
}

// ---- impasto checkpoints ---------------------------------------------------------------------------

TEST(Checkpoint, RoundTrip) {
  TempDir dir;
  const std::string path = dir.file("model.ckpt");
  impasto::Checkpoint out;
  out.arch = "vgg19";
  out.meta = {{"step", 12}, {"options", {{"lr", 0.1}, {"name", "x"}}}};
  at::Tensor base = torch::randn({3, 4});
  out.tensors = {
      {"features.0.weight", torch::randn({8, 3, 3, 3})},
      {"transposed", base.t()},  // non-contiguous input
      {"f64", torch::arange(5, torch::kFloat64) * 0.5},
      {"f16", torch::arange(5, torch::kFloat32).to(torch::kFloat16)},
      {"bf16", torch::arange(5, torch::kFloat32).to(torch::kBFloat16)},
      {"i64", torch::arange(5, torch::kLong) * 1000000007},
      {"u8", torch::arange(5, torch::kLong).to(torch::kUInt8)},
      {"mask", torch::arange(5, torch::kLong).remainder(2) == 0},
      {"scalar", torch::tensor(2.5)},
      {"empty", torch::zeros({0, 7})},
  };
  impasto::save_checkpoint(path, out);
  EXPECT_FALSE(fs::exists(path + ".partial"));
  ASSERT_TRUE(impasto::is_impasto_checkpoint(path));

  impasto::Checkpoint in = impasto::load_checkpoint(path);
  EXPECT_EQ(in.arch, "vgg19");
  EXPECT_EQ(in.meta, out.meta);
  ASSERT_EQ(names_of(in.tensors), names_of(out.tensors));
  for (size_t i = 0; i < in.tensors.size(); ++i) {
    const auto& [name, t] = in.tensors[i];
    EXPECT_EQ(t.scalar_type(), out.tensors[i].second.scalar_type()) << name;
    EXPECT_EQ(t.sizes(), out.tensors[i].second.sizes()) << name;
    EXPECT_TRUE(t.equal(out.tensors[i].second)) << name;
    EXPECT_TRUE(t.is_contiguous()) << name;
  }

  // load_weights picks the format by content.
  std::string arch = "unset";
  StateDict via_weights = impasto::load_weights(path, &arch);
  EXPECT_EQ(arch, "vgg19");
  expect_same(via_weights, in.tensors);
  StateDict pth = impasto::load_weights(fixture("vgg19_w8_legacy.pth"), &arch);
  EXPECT_EQ(arch, "");
  expect_same(pth, impasto::load_pth(fixture("vgg19_w8.pth")));
  EXPECT_EQ(impasto::load_weights(fixture("vgg19_w8.pth")).size(), 38u);

  // Overwriting keeps a valid file.
  out.arch = "vgg16";
  out.tensors.resize(2);
  impasto::save_checkpoint(path, out);
  EXPECT_EQ(impasto::load_checkpoint(path).arch, "vgg16");
  EXPECT_EQ(impasto::load_checkpoint(path).tensors.size(), 2u);
}

TEST(Checkpoint, FormatDetectionAndErrors) {
  TempDir dir;
  EXPECT_FALSE(impasto::is_impasto_checkpoint(fixture("vgg19_w8.pth")));
  EXPECT_FALSE(impasto::is_impasto_checkpoint(fixture("vgg19_w8_legacy.pth")));
  std::string message = impasto::test::expect_error<FormatError>([&] { impasto::load_checkpoint(fixture("vgg19_w8.pth")); });
  EXPECT_TRUE(contains(message, "vgg19_w8.pth")) << message;
  impasto::test::expect_error<FormatError>([&] { impasto::load_checkpoint(fixture("vgg19_w8_legacy.pth")); });

  const std::string path = dir.file("c.ckpt");
  impasto::Checkpoint c;
  c.arch = "tiny";
  c.tensors = {{"w", torch::ones({2, 2})}};
  impasto::save_checkpoint(path, c);
  message = impasto::test::expect_error<FormatError>([&] { impasto::load_pth(path); });
  EXPECT_TRUE(contains(message, "impasto checkpoint")) << message;

  // Truncated checkpoint.
  const std::string bytes = read_bytes(path);
  const std::string cut = dir.file("cut.ckpt");
  write_bytes(cut, bytes.substr(0, bytes.size() / 2));
  message = impasto::test::expect_error<FormatError>([&] { impasto::load_checkpoint(cut); });
  EXPECT_TRUE(contains(message, cut)) << message;

  // Newer version, wrong record size.
  auto write_index = [&](const std::string& json, const std::vector<float>& record) {
    caffe2::serialize::PyTorchStreamWriter writer(path);
    writer.writeRecord("impasto.json", json.data(), json.size());
    writer.writeRecord("tensors/0", record.data(), record.size() * sizeof(float));
    writer.writeEndOfFile();
  };
  write_index(R"({"format":"impasto-checkpoint","version":2,"arch":"a","meta":null,"tensors":[]})", {});
  EXPECT_TRUE(contains(impasto::test::expect_error<FormatError>([&] { impasto::load_checkpoint(path); }), "newer"));
  write_index(R"({"format":"impasto-checkpoint","version":1,"arch":"a","meta":{},"tensors":[{"name":"w","dtype":"float32","shape":[2,2],"record":"tensors/0"}]})",
              {1, 2, 3});
  EXPECT_TRUE(contains(impasto::test::expect_error<FormatError>([&] { impasto::load_checkpoint(path); }), "expected 16"));
  write_index(R"({"format":"impasto-checkpoint","version":1,"arch":"a","meta":{},"tensors":[{"name":"w","dtype":"float32","shape":[2,2],"record":"tensors/0"}]})",
              {1, 2, 3, 4});
  EXPECT_TRUE(impasto::load_checkpoint(path).tensors[0].second.equal(torch::tensor({1.f, 2.f, 3.f, 4.f}).reshape({2, 2})));
  write_index("{not json", {});
  EXPECT_TRUE(contains(impasto::test::expect_error<FormatError>([&] { impasto::load_checkpoint(path); }), "not valid JSON"));
}

TEST(FindTensor, LooksUpByName) {
  StateDict d = {{"a", torch::ones({1})}, {"b", torch::zeros({2})}};
  ASSERT_NE(impasto::find_tensor(d, "b"), nullptr);
  EXPECT_EQ(impasto::find_tensor(d, "b")->numel(), 2);
  EXPECT_EQ(impasto::find_tensor(d, "c"), nullptr);
}

}  // namespace
