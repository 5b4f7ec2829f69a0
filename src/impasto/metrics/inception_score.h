#pragma once
// The Inception Score (Salimans et al. 2016, "Improved Techniques for Training GANs"):
//     IS = exp( E_x KL( p(y|x) || p(y) ) ),   p(y) = E_x p(y|x),
// high when each image is confidently classified (low-entropy p(y|x)) and the classes are spread
// (high-entropy p(y)). As in the authors' code (and torch-fidelity), the images are cut into
// `splits` contiguous parts (part i = rows [i N / splits, (i+1) N / splits)), p(y) is the mean over
// the part, and the result is the mean and the (population) standard deviation of the per-part
// scores. No shuffling: shuffle the rows first if their order is not random.
//
// Traditionally p(y|x) is the softmax over the 1008 outputs of the original TF Inception graph,
// i.e. softmax of the `logits` of the `inception` backbone (nn/inception.h), on 50k images with 10
// splits. Any classifier's probabilities or logits work (e.g. a digit classifier on generated
// digits), but scores are comparable only with the same classifier.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace impasto {

struct InceptionScoreOptions {
  int64_t splits = 10;
};

struct InceptionScoreResult {
  double mean = 0;
  double std = 0;
  int64_t splits = 0;
};

// From class probabilities [N, classes] (rows non-negative, summing to 1 within 1e-3; 0 * log 0 is
// taken as 0). OptionError("splits") unless 1 <= splits <= N; OptionError("probabilities") for
// rows that are not distributions.
InceptionScoreResult inception_score(const at::Tensor& probabilities, const InceptionScoreOptions& options = {});

// From logits [N, classes]: p(y|x) = softmax, computed through log_softmax in float64.
InceptionScoreResult inception_score_from_logits(const at::Tensor& logits, const InceptionScoreOptions& options = {});

}  // namespace impasto
