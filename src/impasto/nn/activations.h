#pragma once
// Named intermediate activations in forward order, as networks return them for explanation (C++
// modules have no forward hooks).
#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

namespace impasto {

using Activations = std::vector<std::pair<std::string, at::Tensor>>;

}  // namespace impasto
