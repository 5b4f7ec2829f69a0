#pragma once
// Helpers shared by the golden tests: reference tensors from fixture files and their comparison.
#include <ATen/core/Tensor.h>

#include <map>
#include <set>
#include <string>

#include "impasto/io/weights.h"

namespace impasto::test {

// The tensors of tests/fixtures/<relative> (a torch.save file) by name.
std::map<std::string, at::Tensor> load_fixture_map(const std::string& relative);

// The entries under `prefix` with the prefix removed, as a state dict (in name order).
StateDict sub_dict(const std::map<std::string, at::Tensor>& tensors, const std::string& prefix);

// max |got - expected| in float64; a test failure (and a huge value) when the shapes differ.
double max_error(const at::Tensor& got, const at::Tensor& expected);

std::set<std::string> keys_of(const StateDict& dict);

}  // namespace impasto::test
