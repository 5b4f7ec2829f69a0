#pragma once
// Gram matrices, target vs achieved: the statistics the style loss of Gatys et al. 2015 compares
// (per-location Grams G^ = F F^T / M, losses/losses.h), and where they still differ.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace impasto::explain {

struct GramDifference {
  int64_t i = 0, j = 0;  // channel pair, i <= j (Grams are symmetric)
  double target = 0, achieved = 0;
  double difference = 0;  // achieved - target
};

// The `count` entries with the largest |achieved - target| on or above the diagonal, largest first
// (ties by position). `target` and `achieved` are [C,C] or [1,C,C].
std::vector<GramDifference> largest_gram_differences(const at::Tensor& target, const at::Tensor& achieved, int64_t count);

// The channels to show when a Gram has more than `limit` channels: the `limit` channels whose rows of
// |achieved - target| have the largest sums (where the mismatch is), in ascending index order. All
// channels when C <= limit.
std::vector<int64_t> gram_channels_to_show(const at::Tensor& target, const at::Tensor& achieved, int64_t limit);

}  // namespace impasto::explain
