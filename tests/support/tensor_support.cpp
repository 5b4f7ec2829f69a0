#include "tensor_support.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_support.h"

namespace impasto::test {

std::map<std::string, at::Tensor> load_fixture_map(const std::string& relative) {
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, t] : load_pth(fixture(relative))) out[name] = t;
  return out;
}

StateDict sub_dict(const std::map<std::string, at::Tensor>& tensors, const std::string& prefix) {
  StateDict out;
  for (const auto& [k, t] : tensors)
    if (k.rfind(prefix, 0) == 0) out.emplace_back(k.substr(prefix.size()), t);
  return out;
}

double max_error(const at::Tensor& got, const at::Tensor& expected) {
  EXPECT_EQ(got.sizes(), expected.sizes());
  if (got.sizes() != expected.sizes()) return 1e9;
  return (got.detach().to(torch::kFloat64) - expected.to(torch::kFloat64)).abs().max().item<double>();
}

std::set<std::string> keys_of(const StateDict& dict) {
  std::set<std::string> out;
  for (const auto& [k, t] : dict) out.insert(k);
  return out;
}

}  // namespace impasto::test
