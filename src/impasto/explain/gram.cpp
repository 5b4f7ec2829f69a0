#include "impasto/explain/gram.h"

#include <torch/torch.h>

#include <algorithm>

#include "impasto/core/error.h"

namespace impasto::explain {
namespace {

at::Tensor as_square(const at::Tensor& gram) {
  at::Tensor g = gram.detach().to(torch::kCPU, torch::kDouble);
  if (g.dim() == 3 && g.size(0) == 1) g = g[0];
  if (g.dim() != 2 || g.size(0) != g.size(1)) throw OptionError("gram", "expected a square Gram matrix [C,C] or [1,C,C]");
  return g.contiguous();
}

}  // namespace

std::vector<GramDifference> largest_gram_differences(const at::Tensor& target, const at::Tensor& achieved, int64_t count) {
  const at::Tensor t = as_square(target), a = as_square(achieved);
  if (t.sizes() != a.sizes()) throw OptionError("gram", "target and achieved Grams differ in size");
  const int64_t c = t.size(0);
  const at::Tensor upper = torch::ones({c, c}, torch::kBool).triu();
  const at::Tensor diff = (a - t).abs().masked_fill(~upper, -1.0).flatten();
  const at::Tensor order = std::get<1>(torch::sort(diff, /*stable=*/true, /*dim=*/0, /*descending=*/true));
  const int64_t n = std::min<int64_t>(count, c * (c + 1) / 2);
  const auto* tp = t.data_ptr<double>();
  const auto* ap = a.data_ptr<double>();
  const auto* op = order.data_ptr<int64_t>();
  std::vector<GramDifference> out;
  for (int64_t k = 0; k < n; ++k) {
    const int64_t idx = op[k];
    GramDifference d;
    d.i = idx / c;
    d.j = idx % c;
    d.target = tp[idx];
    d.achieved = ap[idx];
    d.difference = d.achieved - d.target;
    out.push_back(d);
  }
  return out;
}

std::vector<int64_t> gram_channels_to_show(const at::Tensor& target, const at::Tensor& achieved, int64_t limit) {
  const at::Tensor t = as_square(target), a = as_square(achieved);
  const int64_t c = t.size(0);
  std::vector<int64_t> channels;
  if (c <= limit) {
    for (int64_t i = 0; i < c; ++i) channels.push_back(i);
    return channels;
  }
  const at::Tensor rows = (a - t).abs().sum(1);
  const at::Tensor order = std::get<1>(torch::sort(rows, /*stable=*/true, /*dim=*/0, /*descending=*/true));
  const auto* op = order.data_ptr<int64_t>();
  for (int64_t k = 0; k < limit; ++k) channels.push_back(op[k]);
  std::sort(channels.begin(), channels.end());
  return channels;
}

}  // namespace impasto::explain
