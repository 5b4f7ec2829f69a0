#include "impasto/metrics/inception_score.h"

#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "impasto/core/error.h"

namespace impasto {
namespace {

at::Tensor as_matrix(const at::Tensor& t, const char* option) {
  if (t.dim() != 2 || t.size(1) < 1)
    throw OptionError(option, "expected a matrix [images, classes], got " + std::to_string(t.dim()) + " dimensions");
  return t.detach().to(torch::kCPU, torch::kFloat64);
}

// p and log p [N, C] (float64) -> scores per split.
InceptionScoreResult score(const at::Tensor& p, const at::Tensor& log_p, int64_t splits) {
  const int64_t n = p.size(0);
  if (splits < 1 || splits > n)
    throw OptionError("splits", "must be between 1 and the number of images (" + std::to_string(n) + "), got " +
                                    std::to_string(splits));
  std::vector<double> scores;
  for (int64_t i = 0; i < splits; ++i) {
    const int64_t begin = i * n / splits, end = (i + 1) * n / splits;
    const auto part = p.slice(0, begin, end);
    const auto log_part = log_p.slice(0, begin, end);
    const auto log_py = part.mean(0, /*keepdim=*/true).log();
    // KL(p(y|x) || p(y)) = sum_y p(y|x) (log p(y|x) - log p(y)); terms with p(y|x) = 0 are 0 (and
    // p(y) = 0 only where every p(y|x) of the part is 0).
    const auto terms = torch::where(part > 0, part * (log_part - log_py), torch::zeros_like(part));
    scores.push_back(std::exp(terms.sum(1).mean().item<double>()));
  }
  InceptionScoreResult r;
  r.splits = splits;
  for (double s : scores) r.mean += s;
  r.mean /= static_cast<double>(splits);
  double var = 0;
  for (double s : scores) var += (s - r.mean) * (s - r.mean);
  r.std = std::sqrt(var / static_cast<double>(splits));
  return r;
}

}  // namespace

InceptionScoreResult inception_score(const at::Tensor& probabilities, const InceptionScoreOptions& options) {
  const auto p = as_matrix(probabilities, "probabilities");
  if (p.size(0) > 0) {
    const double min = p.min().item<double>();
    const auto sums = p.sum(1);
    const double worst = (sums - 1.0).abs().max().item<double>();
    if (!(min >= 0) || !(worst <= 1e-3))
      throw OptionError("probabilities", "rows must be probability distributions (non-negative, summing to 1); "
                                         "found a minimum of " + std::to_string(min) + " and a row sum off by " +
                                         std::to_string(worst) + " (for logits use inception_score_from_logits)");
  }
  return score(p, p.log(), options.splits);
}

InceptionScoreResult inception_score_from_logits(const at::Tensor& logits, const InceptionScoreOptions& options) {
  const auto log_p = torch::log_softmax(as_matrix(logits, "logits"), 1);
  return score(log_p.exp(), log_p, options.splits);
}

}  // namespace impasto
