#pragma once
// Data-parallel training through PyTorch's own distributed engine (c10d): one process per device,
// each holding a full replica of the model and training on its own share of every batch. After
// backward() the processes average their gradients, so every replica takes the same optimizer
// step and the replicas stay identical (what torch.nn.parallel.DistributedDataParallel does,
// without its autograd hooks: call average_gradients() between backward() and step()).
//
//   auto env = distributed_env_from_environment();     // RANK, WORLD_SIZE ... as set by torchrun
//   DataParallel dp(env, device);                      // no-op when env.world_size == 1
//   dp.broadcast(*generator);                          // start from rank 0's weights
//   for (...) { loss.backward(); dp.average_gradients(*generator); optimizer.step(); }
//
// Processes rendezvous through a c10d TCPStore at MASTER_ADDR:MASTER_PORT (rank 0 hosts it) and
// talk through a Gloo process group (NCCL for CUDA devices when LibTorch is built with it).
// c10d and Gloo stay behind the pimpl: this header pulls in none of their headers.
//
// Rules for callers: every rank calls the same methods in the same order with tensors of the same
// shapes and dtypes (the same model). Each call first checks this with a tiny collective and
// throws impasto::Error on every rank when the ranks disagree, instead of hanging or mixing up
// data. Methods are not thread-safe; use one DataParallel from one thread.
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/nn/module.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace impasto {

// Where this process sits in a multi-process run, in the variables torchrun (and
// torch.distributed.launch) sets: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT.
struct DistributedEnv {
  int rank = 0;        // 0 .. world_size-1; rank 0 hosts the rendezvous store
  int world_size = 1;  // number of processes in the run
  int local_rank = 0;  // index among the processes of this machine (which GPU to use)
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool enabled() const { return world_size > 1; }
};

// Reads the variables above. All absent (or WORLD_SIZE=1) -> a single process. Throws OptionError
// naming the variable for: a value that is not a whole number, WORLD_SIZE < 1, RANK or LOCAL_RANK
// outside [0, WORLD_SIZE), a port outside 1..65535, an empty MASTER_ADDR, and, when WORLD_SIZE > 1,
// a missing RANK or MASTER_PORT. MASTER_ADDR defaults to 127.0.0.1 (all processes on this
// machine); LOCAL_RANK defaults to 0.
DistributedEnv distributed_env_from_environment();

class DataParallel {
 public:
  static constexpr int64_t kDefaultBucketBytes = 25 << 20;  // like DistributedDataParallel

  // Joins the run described by `env`: rank 0 starts the TCPStore at master_addr:master_port,
  // the others connect to it; then every rank waits until all world_size ranks have joined and
  // builds the process group. Throws impasto::Error naming address:port when rank 0 cannot be
  // reached, or not every rank shows up, within `join_timeout`, or when two processes claim the
  // same rank. `collective_timeout` bounds how long one collective may wait for slower ranks
  // (a rank busy evaluating while the others wait must finish within it); Gloo also applies it to
  // connecting the ranks to each other once all have joined. Other ranks may start before rank 0:
  // they keep trying to reach it until `join_timeout`.
  // With env.world_size == 1 nothing is started and every method below is an identity.
  // Gloo binds to the loopback interface when master_addr is a loopback address, to the
  // interface(s) named in GLOO_SOCKET_IFNAME (comma-separated) when set, else to this host's
  // name, like PyTorch.
  DataParallel(const DistributedEnv& env, c10::Device device,
               std::chrono::milliseconds join_timeout = std::chrono::minutes(5),
               std::chrono::milliseconds collective_timeout = std::chrono::minutes(30));
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const;
  int world_size() const;
  bool enabled() const { return world_size() > 1; }
  // "gloo", "nccl", or "none" for a single process.
  std::string backend() const;

  // Overwrites every tensor in place with rank 0's values, bit for bit. Any dtype; tensors are
  // packed as bytes into buckets of at most `bucket_bytes` (one tensor larger than that gets a
  // bucket of its own). Undefined tensors are an error.
  void broadcast(const std::vector<at::Tensor>& tensors, int64_t bucket_bytes = kDefaultBucketBytes);
  // All parameters and buffers of `module` (so BatchNorm running statistics match too).
  void broadcast(const torch::nn::Module& module, int64_t bucket_bytes = kDefaultBucketBytes);

  // Replaces each parameter's .grad() with the mean over ranks: sum / world_size, reduced in
  // flattened buckets of at most `bucket_bytes` per dtype and device (bfloat16 is reduced as
  // float32). A parameter whose grad is undefined on some ranks counts as a zero grad there and
  // receives the mean (so every replica takes the same step); one whose grad is undefined on every
  // rank keeps an undefined grad (so optimizers still skip it). Parameters with
  // requires_grad() == false (frozen, e.g. the discriminator during a generator step) are left
  // alone; they must be frozen on every rank alike. Sparse grads are an error.
  void average_gradients(const std::vector<at::Tensor>& parameters, int64_t bucket_bytes = kDefaultBucketBytes);
  // All parameters of `module`.
  void average_gradients(const torch::nn::Module& module, int64_t bucket_bytes = kDefaultBucketBytes);

  // Element-wise mean / sum over ranks of a few numbers (losses and counts for logging),
  // reduced in float64. Every rank must pass the same number of values.
  std::vector<double> average_scalars(const std::vector<double>& values);
  std::vector<double> sum_scalars(const std::vector<double>& values);

  // Returns when every rank has called it.
  void barrier();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace impasto
