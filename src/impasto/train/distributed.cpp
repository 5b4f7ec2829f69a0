#include "impasto/train/distributed.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/torch.h>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <map>
#include <optional>
#include <thread>

#include "impasto/core/error.h"

// find_package(Torch) defines USE_DISTRIBUTED and USE_C10D_GLOO; without them the headers above
// silently leave out ProcessGroupGloo and this file would fail with a confusing error far below.
#if !defined(USE_DISTRIBUTED) || !defined(USE_C10D_GLOO)
#error "impasto distributed training needs -DUSE_DISTRIBUTED -DUSE_C10D_GLOO (added by find_package(Torch))"
#endif

namespace impasto {

// ---- environment ---------------------------------------------------------------------------------

namespace {

std::optional<std::string> env_value(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

// A whole decimal number and nothing else (strtol alone would accept " 3" and "3abc").
int parse_env_int(const char* name, const std::string& text) {
  const std::string what = std::string("environment variable ") + name + "='" + text + "'";
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0])))
    throw OptionError(name, what + " is not a whole number");
  errno = 0;
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (end != text.c_str() + text.size()) throw OptionError(name, what + " is not a whole number");
  if (errno == ERANGE || value < INT_MIN || value > INT_MAX) throw OptionError(name, what + " is out of range");
  return static_cast<int>(value);
}

void check_env(const DistributedEnv& env) {
  const std::string ws = std::to_string(env.world_size);
  if (env.world_size < 1) throw OptionError("WORLD_SIZE", "must be >= 1, got " + ws);
  if (env.rank < 0 || env.rank >= env.world_size)
    throw OptionError("RANK", "must be in [0, WORLD_SIZE) = [0, " + ws + "), got " + std::to_string(env.rank));
  if (env.local_rank < 0 || env.local_rank >= env.world_size)
    throw OptionError("LOCAL_RANK", "must be in [0, WORLD_SIZE) = [0, " + ws + "), got " + std::to_string(env.local_rank));
  if (env.master_addr.empty()) throw OptionError("MASTER_ADDR", "is empty; expected a host name or IP address");
  if (env.master_port < 1 || env.master_port > 65535)
    throw OptionError("MASTER_PORT", "must be a TCP port in 1..65535, got " + std::to_string(env.master_port));
}

}  // namespace

DistributedEnv distributed_env_from_environment() {
  DistributedEnv env;
  const auto rank = env_value("RANK");
  const auto world_size = env_value("WORLD_SIZE");
  const auto local_rank = env_value("LOCAL_RANK");
  const auto master_addr = env_value("MASTER_ADDR");
  const auto master_port = env_value("MASTER_PORT");
  if (world_size) env.world_size = parse_env_int("WORLD_SIZE", *world_size);
  if (rank) env.rank = parse_env_int("RANK", *rank);
  if (local_rank) env.local_rank = parse_env_int("LOCAL_RANK", *local_rank);
  if (master_addr) env.master_addr = *master_addr;
  if (master_port) env.master_port = parse_env_int("MASTER_PORT", *master_port);
  if (env.world_size > 1) {
    const std::string ws = std::to_string(env.world_size);
    if (!rank) throw OptionError("RANK", "is not set but WORLD_SIZE=" + ws + "; set it to this process's index in [0, " + ws + ")");
    if (!master_port)
      throw OptionError("MASTER_PORT", "is not set but WORLD_SIZE=" + ws + "; set it to a free TCP port on MASTER_ADDR (e.g. 29500)");
  }
  check_env(env);
  return env;
}

// ---- helpers -------------------------------------------------------------------------------------

namespace {

// c10::Error::what() carries a C++ backtrace; users need only the message.
std::string message_of(const std::exception& e) {
  std::string text;
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e))
    text = c10_error->what_without_backtrace();
  else
    text = e.what();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// Which network interface(s) Gloo listens on; mirrors torch.distributed's choice.
std::vector<std::shared_ptr<::gloo::transport::Device>> gloo_devices(const std::string& master_addr) {
  std::vector<std::shared_ptr<::gloo::transport::Device>> devices;
  if (const char* names = std::getenv("GLOO_SOCKET_IFNAME"); names != nullptr && *names != '\0') {
    std::string list = names;
    size_t start = 0;
    while (start <= list.size()) {
      const size_t comma = std::min(list.find(',', start), list.size());
      const std::string name = list.substr(start, comma - start);
      if (!name.empty()) devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
      start = comma + 1;
    }
  }
  if (!devices.empty()) return devices;
  // All ranks on this machine: stay on loopback instead of whatever the host name resolves to.
  if (is_loopback(master_addr)) return {c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")};
  return {c10d::ProcessGroupGloo::createDefaultDevice()};
}

// FNV-1a over 64-bit words: a fingerprint of a call and the layout of its tensors.
struct Fingerprint {
  uint64_t h = 1469598103934665603ULL;
  void add(int64_t word) {
    for (int i = 0; i < 8; ++i) {
      h ^= static_cast<uint64_t>(word >> (8 * i)) & 0xff;
      h *= 1099511628211ULL;
    }
  }
  // Device type but not index: rank 1 on cuda:1 holds the same model as rank 0 on cuda:0.
  void add(const at::Tensor& t) {
    add(static_cast<int64_t>(t.scalar_type()));
    add(static_cast<int64_t>(t.device().type()));
    add(t.dim());
    for (int64_t size : t.sizes()) add(size);
  }
};

enum class Call : int64_t { kBroadcast = 1, kAverageGradients, kScalars, kBarrier };

constexpr int64_t kAlign = 16;  // byte offset of each tensor in a broadcast bucket (any dtype's size)

int64_t round_up(int64_t n, int64_t to) { return (n + to - 1) / to * to; }

// A run of tensors (indices into the caller's list) reduced or broadcast as one flat tensor.
struct Bucket {
  c10::Device device = c10::kCPU;
  c10::ScalarType dtype = c10::kByte;
  std::vector<size_t> members;
  int64_t bytes = 0;
};

// Packs tensors into buckets in order: one open bucket per (device, dtype); a bucket is closed when
// the next member would push it over `limit`, so a single larger tensor gets a bucket of its own.
class BucketPlanner {
 public:
  explicit BucketPlanner(int64_t limit) : limit_(limit) {}
  void add(size_t index, c10::Device device, c10::ScalarType dtype, int64_t bytes) {
    const auto key = std::make_pair(device.str(), static_cast<int>(dtype));
    auto it = open_.find(key);
    if (it != open_.end() && buckets_[it->second].bytes + bytes > limit_) {
      open_.erase(it);
      it = open_.end();
    }
    if (it == open_.end()) {
      Bucket bucket;
      bucket.device = device;
      bucket.dtype = dtype;
      buckets_.push_back(bucket);
      it = open_.emplace(key, buckets_.size() - 1).first;
    }
    buckets_[it->second].members.push_back(index);
    buckets_[it->second].bytes += bytes;
  }
  std::vector<Bucket> take() { return std::move(buckets_); }

 private:
  int64_t limit_;
  std::vector<Bucket> buckets_;
  std::map<std::pair<std::string, int>, size_t> open_;
};

void check_bucket_bytes(int64_t bucket_bytes) {
  if (bucket_bytes <= 0) throw OptionError("bucket_bytes", "must be > 0, got " + std::to_string(bucket_bytes));
}

}  // namespace

// ---- DataParallel --------------------------------------------------------------------------------

struct DataParallel::Impl {
  DistributedEnv env;
  c10::Device device = c10::kCPU;
  c10::Device comm_device = c10::kCPU;  // where collectives' tensors live (CPU for Gloo)
  std::string backend = "none";
  std::string where;                    // "host:port", for messages
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> group;  // destroyed before the store (declared after it)

  // A collective in flight; holds its tensors until it completes.
  struct Pending {
    std::vector<at::Tensor> tensors;
    c10::intrusive_ptr<c10d::Work> work;
  };

  Pending allreduce_sum(const at::Tensor& flat) {
    Pending p{{flat}, {}};
    p.work = group->allreduce(p.tensors, c10d::AllreduceOptions());
    return p;
  }

  Pending broadcast_from_0(const at::Tensor& flat) {
    Pending p{{flat}, {}};
    c10d::BroadcastOptions options;
    options.rootRank = 0;
    p.work = group->broadcast(p.tensors, options);
    return p;
  }

  void wait(Pending& p, const char* what) {
    try {
      p.work->wait();
    } catch (const std::exception& e) {
      throw Error(std::string("distributed: ") + what + " failed on rank " + std::to_string(env.rank) +
                  " (a peer process stopped, or kept the others waiting longer than the collective timeout): " +
                  message_of(e));
    }
  }

  // Every public collective starts here. All ranks sum (s, s^2, extra), where s in [1, 2^20] is a
  // fingerprint of the call and its tensors' layout; the s are all equal iff
  // world_size * sum(s^2) == sum(s)^2 (equality case of Cauchy-Schwarz). So a rank that makes a
  // different call, or passes a different model, is caught here on every rank, before a bucket of
  // mismatched size reaches Gloo. Being an allreduce, it is also a barrier. Returns sum(extra).
  int64_t agree(const char* what, const Fingerprint& fingerprint, int64_t extra) {
    const int64_t s = 1 + static_cast<int64_t>(fingerprint.h % (uint64_t{1} << 20));
    auto meta = torch::tensor(std::vector<int64_t>{s, s * s, extra}, torch::kLong).to(comm_device);
    auto pending = allreduce_sum(meta);
    wait(pending, what);
    meta = meta.cpu();
    const auto* sums = meta.data_ptr<int64_t>();
    const __int128 n = env.world_size;
    if (n * sums[1] != static_cast<__int128>(sums[0]) * sums[0])
      throw Error(std::string("distributed: the ranks disagree at ") + what +
                  ": they made different calls, or passed tensors of different counts, shapes or dtypes; "
                  "every rank must run the same model and call the same methods in the same order");
    return sums[2];
  }
};

DataParallel::DataParallel(const DistributedEnv& env, c10::Device device, std::chrono::milliseconds join_timeout,
                           std::chrono::milliseconds collective_timeout)
    : impl_(std::make_unique<Impl>()) {
  check_env(env);
  if (join_timeout.count() <= 0) throw OptionError("join_timeout", "must be > 0 ms");
  if (collective_timeout.count() <= 0) throw OptionError("collective_timeout", "must be > 0 ms");
  Impl& m = *impl_;
  m.env = env;
  m.device = device;
  if (!env.enabled()) return;
  m.where = env.master_addr + ":" + std::to_string(env.master_port);
  const std::string me = "rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size);
  const std::string ms = std::to_string(join_timeout.count()) + " ms";

  // 1. The store: rank 0 serves it, everyone (rank 0 included) is a client.
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(env.master_port);
  options.isServer = env.rank == 0;
  options.numWorkers = static_cast<size_t>(env.world_size);
  options.waitWorkers = false;  // we wait below, with a message that says who is missing
  options.timeout = join_timeout;
  const auto deadline = std::chrono::steady_clock::now() + join_timeout;
  if (env.rank == 0) {
    try {
      m.store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
    } catch (const std::exception& e) {
      throw Error("distributed: " + me + " could not start the rendezvous store on port " +
                  std::to_string(env.master_port) + " (MASTER_ADDR:MASTER_PORT = " + m.where +
                  "); is the port in use? " + message_of(e));
    }
  } else {
    // c10d retries a refused connection in steps of about a second and gives up as soon as less
    // than a step remains (at once for timeouts under ~2 s), so keep trying until our own deadline:
    // other ranks routinely start before rank 0 listens.
    while (!m.store) {
      try {
        m.store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
      } catch (const std::exception& e) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left < std::chrono::milliseconds(100))
          throw Error("distributed: " + me + " could not reach rank 0's rendezvous store at " + m.where + " within " +
                      ms + "; is rank 0 running, with the same MASTER_ADDR and MASTER_PORT? " + message_of(e));
        const auto pause = std::min(left, std::chrono::milliseconds(250));
        std::this_thread::sleep_for(pause);
        // Never zero: a zero timeout means "wait forever" to c10d.
        options.timeout = std::max(left - pause, std::chrono::milliseconds(100));
      }
    }
    m.store->setTimeout(join_timeout);
  }

  // 2. Everyone checks in under its rank, then waits (until the same deadline) for all the others.
  // Polling check() (rather than Store::wait) leaves the connection usable and tells us who is
  // missing on timeout.
  auto join_key = [](int rank) { return "impasto/join/" + std::to_string(rank); };
  try {
    if (m.store->add(join_key(env.rank), 1) != 1)
      throw Error("distributed: two processes claim RANK=" + std::to_string(env.rank) + " at " + m.where +
                  "; give every process its own rank");
    std::vector<std::string> keys;
    for (int r = 0; r < env.world_size; ++r) keys.push_back(join_key(r));
    while (!m.store->check(keys)) {
      if (std::chrono::steady_clock::now() >= deadline) {
        std::string missing;
        int count = 0;
        for (int r = 0; r < env.world_size; ++r) {
          if (m.store->check({keys[r]})) continue;
          missing += (count++ ? ", " : "") + std::to_string(r);
        }
        throw Error("distributed: " + me + " waited " + ms + " at " + m.where + " but rank(s) " + missing +
                    " did not join; start all " + std::to_string(env.world_size) +
                    " processes with the same WORLD_SIZE, MASTER_ADDR and MASTER_PORT");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error("distributed: " + me + " lost the rendezvous store at " + m.where + " while joining: " + message_of(e));
  }

  // 3. The process group, on its own key prefix. Its Gloo context timeout is the collective timeout.
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>("impasto/pg", m.store);
  try {
#ifdef USE_C10D_NCCL
    if (device.is_cuda()) {
      auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
      nccl_options->timeout = collective_timeout;
      m.group = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, env.rank, env.world_size, nccl_options);
      m.backend = "nccl";
      m.comm_device = device;
    }
#endif
    if (!m.group) {
      auto gloo_options = c10d::ProcessGroupGloo::Options::create(collective_timeout);
      gloo_options->devices = gloo_devices(env.master_addr);
      m.group = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, env.rank, env.world_size, gloo_options);
      m.backend = "gloo";
      m.comm_device = c10::Device(c10::kCPU);
    }
  } catch (const std::exception& e) {
    throw Error("distributed: " + me + " could not connect to its peers (rendezvous at " + m.where +
                "): " + message_of(e));
  }
}

DataParallel::~DataParallel() = default;

int DataParallel::rank() const { return impl_->env.rank; }
int DataParallel::world_size() const { return impl_->env.world_size; }
std::string DataParallel::backend() const { return impl_->backend; }

void DataParallel::broadcast(const std::vector<at::Tensor>& tensors, int64_t bucket_bytes) {
  check_bucket_bytes(bucket_bytes);
  Fingerprint fingerprint;
  fingerprint.add(static_cast<int64_t>(Call::kBroadcast));
  fingerprint.add(static_cast<int64_t>(tensors.size()));
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].defined()) throw Error("distributed broadcast: tensor " + std::to_string(i) + " is undefined");
    if (tensors[i].layout() != c10::kStrided)
      throw Error("distributed broadcast: tensor " + std::to_string(i) + " is not dense");
    fingerprint.add(tensors[i]);
  }
  if (!impl_->group) return;
  Impl& m = *impl_;
  m.agree("broadcast", fingerprint, 0);

  // Tensors travel as raw bytes, each at a 16-byte aligned offset so that the byte slice can be
  // viewed back as its dtype. Bit-exact for every dtype, and dtypes share buckets.
  torch::NoGradGuard no_grad;
  BucketPlanner planner(bucket_bytes);
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].numel() == 0) continue;
    planner.add(i, tensors[i].device(), c10::kByte, round_up(tensors[i].nbytes(), kAlign));
  }
  auto buckets = planner.take();
  const auto bytes = torch::TensorOptions().dtype(torch::kUInt8);
  std::vector<Impl::Pending> pending;
  for (const auto& bucket : buckets) {
    at::Tensor flat;
    if (m.env.rank == 0) {
      std::vector<at::Tensor> parts;
      for (size_t i : bucket.members) {
        const auto& t = tensors[i];
        parts.push_back(t.contiguous().view(-1).view(torch::kUInt8));
        const int64_t pad = round_up(t.nbytes(), kAlign) - static_cast<int64_t>(t.nbytes());
        if (pad > 0) parts.push_back(torch::zeros({pad}, bytes.device(t.device())));
      }
      flat = torch::cat(parts).to(m.comm_device);
    } else {
      flat = torch::empty({bucket.bytes}, bytes.device(m.comm_device));
    }
    pending.push_back(m.broadcast_from_0(flat));
  }
  for (size_t b = 0; b < buckets.size(); ++b) {
    m.wait(pending[b], "broadcast");
    if (m.env.rank == 0) continue;
    const auto& flat = pending[b].tensors[0];
    int64_t offset = 0;
    for (size_t i : buckets[b].members) {
      const auto& t = tensors[i];
      const auto n = static_cast<int64_t>(t.nbytes());
      t.copy_(flat.narrow(0, offset, n).view(t.scalar_type()).view(t.sizes()));
      offset += round_up(n, kAlign);
    }
  }
}

void DataParallel::broadcast(const torch::nn::Module& module, int64_t bucket_bytes) {
  auto tensors = module.parameters();
  for (auto& buffer : module.buffers()) tensors.push_back(buffer);
  broadcast(tensors, bucket_bytes);
}

void DataParallel::average_gradients(const std::vector<at::Tensor>& parameters, int64_t bucket_bytes) {
  check_bucket_bytes(bucket_bytes);
  Fingerprint fingerprint;
  fingerprint.add(static_cast<int64_t>(Call::kAverageGradients));
  fingerprint.add(static_cast<int64_t>(parameters.size()));
  int64_t missing_grads = 0;
  for (size_t i = 0; i < parameters.size(); ++i) {
    const auto& p = parameters[i];
    if (!p.defined()) throw Error("distributed average_gradients: parameter " + std::to_string(i) + " is undefined");
    fingerprint.add(p);
    fingerprint.add(p.requires_grad() ? 1 : 0);
    if (!p.requires_grad()) continue;  // frozen on every rank (checked by the fingerprint): left alone
    if (p.grad().defined() && p.grad().layout() != c10::kStrided)
      throw Error("distributed average_gradients: parameter " + std::to_string(i) + " has a sparse gradient");
    if (!p.grad().defined()) missing_grads = 1;
  }
  if (!impl_->group) return;
  Impl& m = *impl_;
  torch::NoGradGuard no_grad;

  // How many ranks hold a grad for each parameter. Usually all do on every rank, which the
  // fingerprint collective already tells us (extra = number of ranks missing some grad).
  std::vector<int64_t> holders(parameters.size(), m.env.world_size);
  for (size_t i = 0; i < parameters.size(); ++i)
    if (!parameters[i].requires_grad()) holders[i] = 0;
  if (m.agree("average_gradients", fingerprint, missing_grads) > 0) {
    auto flags = torch::empty({static_cast<int64_t>(parameters.size())}, torch::kInt);
    auto* f = flags.data_ptr<int32_t>();
    for (size_t i = 0; i < parameters.size(); ++i)
      f[i] = parameters[i].requires_grad() && parameters[i].grad().defined() ? 1 : 0;
    auto pending = m.allreduce_sum(flags.to(m.comm_device));
    m.wait(pending, "average_gradients");
    const auto counts = pending.tensors[0].cpu();
    for (size_t i = 0; i < parameters.size(); ++i) holders[i] = counts.data_ptr<int32_t>()[i];
  }

  BucketPlanner planner(bucket_bytes);
  for (size_t i = 0; i < parameters.size(); ++i) {
    const auto& p = parameters[i];
    if (holders[i] == 0 || p.numel() == 0) continue;  // no grad anywhere: stays undefined everywhere
    // Gloo cannot sum bfloat16; reduce it as float32.
    const auto dtype = p.scalar_type() == c10::kBFloat16 ? c10::kFloat : p.scalar_type();
    planner.add(i, p.device(), dtype, p.numel() * static_cast<int64_t>(c10::elementSize(dtype)));
  }
  auto buckets = planner.take();
  std::vector<Impl::Pending> pending;
  for (const auto& bucket : buckets) {
    std::vector<at::Tensor> parts;
    for (size_t i : bucket.members) {
      const auto& p = parameters[i];
      const auto& g = p.grad();
      parts.push_back(g.defined() ? g.reshape(-1).to(bucket.dtype)
                                  : torch::zeros({p.numel()}, p.options().dtype(bucket.dtype)));
    }
    pending.push_back(m.allreduce_sum(torch::cat(parts).to(m.comm_device)));
  }
  for (size_t b = 0; b < buckets.size(); ++b) {
    m.wait(pending[b], "average_gradients");
    auto& flat = pending[b].tensors[0];
    flat.div_(m.env.world_size);
    int64_t offset = 0;
    for (size_t i : buckets[b].members) {
      const auto& p = parameters[i];
      const auto mean = flat.narrow(0, offset, p.numel()).view(p.sizes());
      if (p.grad().defined())
        p.mutable_grad().copy_(mean);
      else
        p.mutable_grad() = mean.to(p.device(), p.scalar_type(), /*non_blocking=*/false, /*copy=*/true);
      offset += p.numel();
    }
  }
}

void DataParallel::average_gradients(const torch::nn::Module& module, int64_t bucket_bytes) {
  average_gradients(module.parameters(), bucket_bytes);
}

std::vector<double> DataParallel::sum_scalars(const std::vector<double>& values) {
  if (!impl_->group) return values;
  Impl& m = *impl_;
  Fingerprint fingerprint;
  fingerprint.add(static_cast<int64_t>(Call::kScalars));
  fingerprint.add(static_cast<int64_t>(values.size()));
  m.agree("sum_scalars/average_scalars", fingerprint, 0);
  if (values.empty()) return values;
  auto t = torch::tensor(values, torch::kDouble).to(m.comm_device);
  auto pending = m.allreduce_sum(t);
  m.wait(pending, "sum_scalars/average_scalars");
  const auto sums = pending.tensors[0].cpu();
  return std::vector<double>(sums.data_ptr<double>(), sums.data_ptr<double>() + sums.numel());
}

std::vector<double> DataParallel::average_scalars(const std::vector<double>& values) {
  auto sums = sum_scalars(values);
  for (auto& v : sums) v /= world_size();
  return sums;
}

void DataParallel::barrier() {
  if (!impl_->group) return;
  // The fingerprint allreduce completes only once every rank has entered it.
  Fingerprint fingerprint;
  fingerprint.add(static_cast<int64_t>(Call::kBarrier));
  impl_->agree("barrier", fingerprint, 0);
}

}  // namespace impasto
