// Data-parallel training through c10d: two ranks run as two threads of this process, each with its
// own DataParallel (own TCPStore client, own Gloo process group) on 127.0.0.1 and a free port.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <thread>

#include "impasto/core/error.h"
#include "impasto/train/distributed.h"
#include "test_support.h"

using namespace impasto;
using namespace std::chrono_literals;

namespace {

DistributedEnv env_for(int rank, int port, int world_size = 2) {
  DistributedEnv env;
  env.rank = rank;
  env.local_rank = rank;
  env.world_size = world_size;
  env.master_addr = "127.0.0.1";
  env.master_port = port;
  return env;
}

// Runs body(dp) for ranks 0 and 1 concurrently; rethrows the first rank's exception, if any.
void run_two_ranks(const std::function<void(DataParallel&)>& body) {
  const int port = test::free_port();
  std::exception_ptr errors[2];
  std::vector<std::thread> threads;
  for (int rank = 0; rank < 2; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        DataParallel dp(env_for(rank, port), c10::Device(c10::kCPU), 10s, 10s);
        body(dp);
      } catch (...) {
        errors[rank] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

// Saves the torchrun variables, clears them, and restores them on destruction.
class ScopedDistEnv {
 public:
  static constexpr const char* kNames[] = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"};
  ScopedDistEnv() {
    for (const char* name : kNames) {
      const char* value = std::getenv(name);
      if (value) saved_[name] = value;
      ::unsetenv(name);
    }
  }
  ~ScopedDistEnv() {
    for (const char* name : kNames) {
      auto it = saved_.find(name);
      if (it != saved_.end())
        ::setenv(name, it->second.c_str(), 1);
      else
        ::unsetenv(name);
    }
  }
  void set(const std::map<std::string, std::string>& vars) {
    for (const char* name : kNames) ::unsetenv(name);
    for (const auto& [name, value] : vars) ::setenv(name.c_str(), value.c_str(), 1);
  }

 private:
  std::map<std::string, std::string> saved_;
};

// Rank-dependent tensors of many dtypes and shapes (including 0-dim, empty and non-contiguous).
std::vector<at::Tensor> sample_tensors(int rank) {
  const double k = rank + 1;
  std::vector<at::Tensor> t;
  t.push_back(torch::arange(12, torch::kFloat).view({3, 4}) * k + 0.25);
  t.push_back(torch::linspace(-1, 1, 37, torch::kFloat) * k);
  t.push_back(torch::tensor(3.5 * k, torch::kFloat));                               // 0-dim
  t.push_back(torch::arange(6, torch::kDouble).view({2, 3}) / (3.0 * k));          // not exact in binary
  t.push_back(torch::arange(7, torch::kLong) * static_cast<int64_t>(1000000007LL * (rank + 1)));
  t.push_back(torch::arange(9, torch::kLong).remainder(2 + rank).eq(0));           // bool
  t.push_back((torch::arange(5, torch::kInt) * (rank + 3)).to(torch::kUInt8));
  t.push_back((torch::arange(4, torch::kFloat) / (7.0 * k)).to(torch::kHalf));
  t.push_back((torch::arange(3, torch::kFloat) / (5.0 * k)).to(torch::kBFloat16));
  t.push_back(torch::arange(20, torch::kFloat).view({4, 5}).mul(k).t());            // non-contiguous
  t.push_back(torch::empty({0, 3}, torch::kFloat));
  t.push_back(torch::full({300}, -2.0 * k, torch::kFloat));                        // > tiny bucket
  return t;
}

}  // namespace

// ---- environment ---------------------------------------------------------------------------------

TEST(DistributedEnv, AbsentVariablesMeanSingleProcess) {
  ScopedDistEnv scoped;
  const auto env = distributed_env_from_environment();
  EXPECT_EQ(env.rank, 0);
  EXPECT_EQ(env.world_size, 1);
  EXPECT_EQ(env.local_rank, 0);
  EXPECT_FALSE(env.enabled());
}

TEST(DistributedEnv, ParsesTorchrunVariables) {
  ScopedDistEnv scoped;
  scoped.set({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "10.1.2.3"}, {"MASTER_PORT", "29511"}});
  auto env = distributed_env_from_environment();
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.world_size, 4);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.master_addr, "10.1.2.3");
  EXPECT_EQ(env.master_port, 29511);
  EXPECT_TRUE(env.enabled());

  scoped.set({{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "1234"}});  // address defaults to loopback
  env = distributed_env_from_environment();
  EXPECT_EQ(env.master_addr, "127.0.0.1");
  EXPECT_EQ(env.local_rank, 0);

  scoped.set({{"RANK", "0"}, {"WORLD_SIZE", "1"}});  // one process needs no port
  EXPECT_FALSE(distributed_env_from_environment().enabled());
}

TEST(DistributedEnv, RejectsBadValuesNamingTheVariable) {
  ScopedDistEnv scoped;
  const std::map<std::string, std::string> good = {
      {"RANK", "1"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "29500"}};
  struct Case {
    std::string variable;
    std::optional<std::string> value;  // nullopt = unset
  };
  const std::vector<Case> cases = {
      {"WORLD_SIZE", "two"}, {"WORLD_SIZE", "0"},     {"WORLD_SIZE", "-3"},     {"WORLD_SIZE", "2x"},
      {"RANK", "abc"},       {"RANK", "2"},           {"RANK", "-1"},           {"RANK", ""},
      {"RANK", " 1"},        {"RANK", std::nullopt},  {"LOCAL_RANK", "5"},      {"LOCAL_RANK", "1.5"},
      {"MASTER_PORT", "0"},  {"MASTER_PORT", "65536"}, {"MASTER_PORT", "http"}, {"MASTER_PORT", std::nullopt},
      {"MASTER_ADDR", ""},   {"RANK", "99999999999999999999"},
  };
  for (const auto& c : cases) {
    auto vars = good;
    if (c.value)
      vars[c.variable] = *c.value;
    else
      vars.erase(c.variable);
    scoped.set(vars);
    const std::string label = c.variable + "=" + c.value.value_or("<unset>");
    try {
      distributed_env_from_environment();
      ADD_FAILURE() << label << " accepted";
    } catch (const OptionError& e) {
      EXPECT_EQ(e.option(), c.variable) << label << ": " << e.what();
    }
  }
  // RANK without WORLD_SIZE is a single process, so only rank 0 is valid.
  scoped.set({{"RANK", "1"}});
  try {
    distributed_env_from_environment();
    ADD_FAILURE() << "RANK=1 without WORLD_SIZE accepted";
  } catch (const OptionError& e) {
    EXPECT_EQ(e.option(), "RANK");
  }
}

// ---- single process ------------------------------------------------------------------------------

TEST(Distributed, SingleProcessIsIdentity) {
  DataParallel dp(DistributedEnv{}, c10::Device(c10::kCPU));
  EXPECT_FALSE(dp.enabled());
  EXPECT_EQ(dp.backend(), "none");
  auto p = torch::ones({3}).set_requires_grad(true);
  p.mutable_grad() = torch::full({3}, 4.0);
  dp.broadcast({p});
  dp.average_gradients({p});
  dp.barrier();
  EXPECT_TRUE(torch::equal(p.grad(), torch::full({3}, 4.0)));
  EXPECT_EQ(dp.average_scalars({1.5, 2.5}), (std::vector<double>{1.5, 2.5}));
}

// ---- two ranks -----------------------------------------------------------------------------------

TEST(Distributed, BroadcastCopiesRankZeroBitForBit) {
  const auto expected = sample_tensors(0);
  std::vector<at::Tensor> result[2][2];  // [bucket size][rank]
  const int64_t bucket_sizes[2] = {64, DataParallel::kDefaultBucketBytes};
  run_two_ranks([&](DataParallel& dp) {
    EXPECT_EQ(dp.backend(), "gloo");
    for (int b = 0; b < 2; ++b) {
      auto tensors = sample_tensors(dp.rank());
      dp.broadcast(tensors, bucket_sizes[b]);
      result[b][dp.rank()] = tensors;
    }
  });
  for (int b = 0; b < 2; ++b) {
    for (int rank = 0; rank < 2; ++rank) {
      ASSERT_EQ(result[b][rank].size(), expected.size());
      for (size_t i = 0; i < expected.size(); ++i) {
        const auto& got = result[b][rank][i];
        EXPECT_EQ(got.scalar_type(), expected[i].scalar_type());
        EXPECT_EQ(got.sizes(), expected[i].sizes());
        EXPECT_TRUE(torch::equal(got, expected[i]))
            << "bucket " << bucket_sizes[b] << " rank " << rank << " tensor " << i << "\n" << got << "\nvs\n" << expected[i];
      }
    }
  }
  // The non-contiguous tensor was written through its own strides, not replaced.
  EXPECT_FALSE(result[0][1][9].is_contiguous());
}

TEST(Distributed, AverageGradientsIsExactMean) {
  // Per rank: grads of p0 (float [3,4]), p1 (float [10], only rank 0 has a grad), p2 (float [2],
  // no grad anywhere), p3 (double [5]), p4 (float [4,3] whose grad is a transposed view), p5 (frozen,
  // with a stale grad on rank 0 only), p6 (bfloat16 [6]).
  auto grads = [](int rank) {
    const double k = rank == 0 ? 1.0 : -0.37;
    std::vector<at::Tensor> g;
    g.push_back(torch::arange(12, torch::kFloat).view({3, 4}).div(3.0).mul(k).add(rank));
    g.push_back(rank == 0 ? torch::linspace(-5, 5, 10, torch::kFloat).div(7.0) : at::Tensor());
    g.push_back(at::Tensor());
    g.push_back(torch::arange(5, torch::kDouble).div(11.0 * (rank + 1)));
    g.push_back(torch::arange(12, torch::kFloat).view({3, 4}).mul(0.1 * (rank + 2)).t());
    g.push_back(rank == 0 ? torch::full({3}, 7.0) : at::Tensor());  // frozen: stale grad on rank 0 only
    g.push_back(torch::arange(6, torch::kFloat).div(3.0 * (rank + 1)).to(torch::kBFloat16));
    return g;
  };
  auto make_parameters = [&](int rank) {
    const std::vector<std::vector<int64_t>> shapes = {{3, 4}, {10}, {2}, {5}, {4, 3}, {3}, {6}};
    const std::vector<c10::ScalarType> dtypes = {torch::kFloat, torch::kFloat, torch::kFloat, torch::kDouble,
                                                 torch::kFloat, torch::kFloat, torch::kBFloat16};
    std::vector<at::Tensor> params;
    const auto g = grads(rank);
    for (size_t i = 0; i < shapes.size(); ++i) {
      auto p = torch::zeros(shapes[i], dtypes[i]).set_requires_grad(true);
      if (g[i].defined()) p.mutable_grad() = g[i].clone();
      if (i == 4) p.mutable_grad() = g[i].clone().t().contiguous().t();  // keep non-contiguous
      if (i == 5) p.set_requires_grad(false);
      params.push_back(p);
    }
    return params;
  };
  const auto g0 = grads(0), g1 = grads(1);
  std::vector<at::Tensor> expected(7);
  expected[0] = (g0[0] + g1[0]) / 2;
  expected[1] = (g0[1] + torch::zeros_like(g0[1])) / 2;
  expected[3] = (g0[3] + g1[3]) / 2;
  expected[4] = (g0[4] + g1[4]) / 2;
  expected[6] = ((g0[6].to(torch::kFloat) + g1[6].to(torch::kFloat)) / 2).to(torch::kBFloat16);  // summed as float

  const int64_t bucket_sizes[2] = {24, DataParallel::kDefaultBucketBytes};
  std::vector<at::Tensor> result[2][2];
  run_two_ranks([&](DataParallel& dp) {
    for (int b = 0; b < 2; ++b) {
      auto params = make_parameters(dp.rank());
      dp.average_gradients(params, bucket_sizes[b]);
      for (auto& p : params) result[b][dp.rank()].push_back(p.grad());
    }
  });
  for (int b = 0; b < 2; ++b) {
    for (int rank = 0; rank < 2; ++rank) {
      const auto& got = result[b][rank];
      for (size_t i : {0, 1, 3, 4, 6}) {
        ASSERT_TRUE(got[i].defined()) << "param " << i << " rank " << rank;
        EXPECT_EQ(got[i].scalar_type(), expected[i].scalar_type());
        EXPECT_TRUE(torch::equal(got[i], expected[i]))
            << "bucket " << bucket_sizes[b] << " rank " << rank << " param " << i << "\n" << got[i] << "\nvs\n" << expected[i];
      }
      EXPECT_FALSE(got[2].defined()) << "a grad nobody has must stay undefined (rank " << rank << ")";
      // The frozen parameter's grad is left as it was: rank 0's stale grad, nothing on rank 1.
      EXPECT_EQ(got[5].defined(), rank == 0);
      if (rank == 0) EXPECT_TRUE(torch::equal(got[5], g0[5]));
    }
  }
}

TEST(Distributed, AverageAndSumScalars) {
  std::vector<double> averages[2], sums[2], empty[2];
  run_two_ranks([&](DataParallel& dp) {
    const double r = dp.rank();
    averages[dp.rank()] = dp.average_scalars({r + 1, 10 * r, -0.5});
    sums[dp.rank()] = dp.sum_scalars({r + 1, 10 * r});
    empty[dp.rank()] = dp.average_scalars({});
    dp.barrier();
  });
  for (int rank = 0; rank < 2; ++rank) {
    EXPECT_EQ(averages[rank], (std::vector<double>{1.5, 5.0, -0.5}));
    EXPECT_EQ(sums[rank], (std::vector<double>{3.0, 10.0}));
    EXPECT_TRUE(empty[rank].empty());
  }
}

TEST(Distributed, ModuleHelpersKeepReplicasInStep) {
  // Each rank builds its own randomly initialised model; after broadcast both hold rank 0's
  // parameters and BatchNorm statistics; after a step on different data the grads agree.
  std::vector<at::Tensor> state[2], grads[2];
  run_two_ranks([&](DataParallel& dp) {
    torch::nn::Sequential model(torch::nn::Linear(6, 5), torch::nn::BatchNorm1d(5), torch::nn::ReLU(),
                                torch::nn::Linear(5, 2));
    {
      torch::NoGradGuard no_grad;
      for (auto& p : model->parameters()) p.add_(dp.rank() + 1);
      for (auto& b : model->buffers()) b.add_(dp.rank() + 2);
    }
    dp.broadcast(*model);
    for (auto& p : model->parameters()) state[dp.rank()].push_back(p.detach().clone());
    for (auto& b : model->buffers()) state[dp.rank()].push_back(b.clone());
    auto x = torch::arange(24, torch::kFloat).view({4, 6}).div(10.0).add(dp.rank());
    model->forward(x).pow(2).sum().backward();
    dp.average_gradients(*model);
    for (auto& p : model->parameters()) grads[dp.rank()].push_back(p.grad().clone());
  });
  ASSERT_EQ(state[0].size(), state[1].size());
  for (size_t i = 0; i < state[0].size(); ++i) EXPECT_TRUE(torch::equal(state[0][i], state[1][i])) << "tensor " << i;
  ASSERT_EQ(grads[0].size(), grads[1].size());
  for (size_t i = 0; i < grads[0].size(); ++i) EXPECT_TRUE(torch::equal(grads[0][i], grads[1][i])) << "grad " << i;
}

TEST(Distributed, MismatchedCallsThrowOnEveryRank) {
  std::string messages[2];
  run_two_ranks([&](DataParallel& dp) {
    std::vector<at::Tensor> tensors = {torch::zeros({4}), torch::zeros({2, 2})};
    if (dp.rank() == 1) tensors.push_back(torch::zeros({3}));
    try {
      dp.broadcast(tensors);
    } catch (const Error& e) {
      messages[dp.rank()] = e.what();
    }
    // The group stays usable after the refused call.
    EXPECT_EQ(dp.sum_scalars({1.0}), std::vector<double>{2.0});
  });
  for (const auto& m : messages) EXPECT_NE(m.find("disagree at broadcast"), std::string::npos) << m;
}

TEST(Distributed, MissingPeerGivesClearErrorWithinTimeout) {
  const int port = test::free_port();
  const auto start = std::chrono::steady_clock::now();
  const std::string message = test::expect_error<Error>([&] {
    DataParallel dp(env_for(0, port), c10::Device(c10::kCPU), 1500ms);
  });
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, 5s);
  EXPECT_GE(elapsed, 1400ms);
  EXPECT_NE(message.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << message;
  EXPECT_NE(message.find("rank(s) 1 did not join"), std::string::npos) << message;
}

TEST(Distributed, UnreachableRankZeroGivesClearErrorWithinTimeout) {
  const int port = test::free_port();
  const auto start = std::chrono::steady_clock::now();
  const std::string message = test::expect_error<Error>([&] {
    DataParallel dp(env_for(1, port), c10::Device(c10::kCPU), 1500ms);
  });
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, 5s);
  EXPECT_GE(elapsed, 1400ms);  // it kept trying for the whole timeout
  EXPECT_NE(message.find("could not reach rank 0"), std::string::npos) << message;
  EXPECT_NE(message.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << message;
}

TEST(Distributed, RanksMayStartBeforeRankZero) {
  const int port = test::free_port();
  std::exception_ptr error;
  std::vector<double> sums;
  std::thread early([&] {
    try {
      DataParallel dp(env_for(1, port), c10::Device(c10::kCPU), 5s);
      sums = dp.sum_scalars({2.0});
    } catch (...) {
      error = std::current_exception();
    }
  });
  std::this_thread::sleep_for(1200ms);
  DataParallel dp(env_for(0, port), c10::Device(c10::kCPU), 5s);
  EXPECT_EQ(dp.sum_scalars({1.0}), std::vector<double>{3.0});
  early.join();
  if (error) std::rethrow_exception(error);
  EXPECT_EQ(sums, std::vector<double>{3.0});
}

TEST(Distributed, DuplicateRankIsRefused) {
  // World of 3 started as ranks 0, 1, 1: one rank 1 is refused, the others miss rank 2.
  const int port = test::free_port();
  std::string messages[3];
  std::vector<std::thread> threads;
  const int ranks[3] = {0, 1, 1};
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      // Let rank 0 start the store first so that both rank-1 processes reach it quickly.
      if (i > 0) std::this_thread::sleep_for(200ms);
      try {
        DataParallel dp(env_for(ranks[i], port, 3), c10::Device(c10::kCPU), 1500ms);
      } catch (const Error& e) {
        messages[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  const bool refused_1 = messages[1].find("two processes claim RANK=1") != std::string::npos;
  const bool refused_2 = messages[2].find("two processes claim RANK=1") != std::string::npos;
  EXPECT_NE(refused_1, refused_2) << messages[1] << "\n" << messages[2];
  EXPECT_NE(messages[0].find("rank(s) 2 did not join"), std::string::npos) << messages[0];
}

TEST(Distributed, PortInUseIsReported) {
  // Someone else listens on the port rank 0 should serve on.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = 0;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  const std::string message = test::expect_error<Error>([&] {
    DataParallel dp(env_for(0, port), c10::Device(c10::kCPU), 1500ms);
  });
  ::close(fd);
  EXPECT_NE(message.find("could not start the rendezvous store on port " + std::to_string(port)), std::string::npos)
      << message;
}
