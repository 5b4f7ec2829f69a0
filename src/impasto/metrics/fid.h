#pragma once
// Distances between two sets of images through their features:
//
//  - FID, the Fréchet Inception Distance (Heusel et al. 2017, "GANs Trained by a Two Time-Scale
//    Update Rule Converge to a Local Nash Equilibrium"): the Fréchet (2-Wasserstein) distance between
//    Gaussians fitted to the two feature sets,
//        FID = |mu1 - mu2|^2 + tr(C1) + tr(C2) - 2 tr sqrtm(C1 C2),
//    with unbiased (N-1) covariances, as pytorch-fid (numpy.cov).
//  - KID, the Kernel Inception Distance (Binkowski et al. 2018, "Demystifying MMD GANs"): the
//    unbiased estimate of the squared maximum mean discrepancy with the cubic polynomial kernel
//    k(x, y) = (x.y / d + 1)^3, averaged over random subsets; unbiased, so it can be slightly
//    negative when the sets come from one distribution, and meaningful with few images. (A set
//    against itself is biased slightly negative: the two subsets share images.)
//
// Features come from a FeatureNetwork chosen by name: `inception` (pytorch-fid's FID Inception,
// pool3 features, 2048-d: the standard, needs its weight file) or any other backbone (e.g.
// `random-multiscale`, no download: the spatial means of all its layers, concatenated). Numbers are
// only comparable between runs with the same feature network (and, for published FIDs, only with
// `inception` on 50k images).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "impasto/nn/backbone.h"

namespace impasto {

struct FeatureNetworkOptions {
  std::string name = "random-multiscale";  // `inception` or any backbone name
  std::string weights;                      // inception: pt_inception-2015-12-05-6726825d.pth
  uint64_t seed = 0;                        // random-multiscale: the seed of its weights
  int64_t batch_size = 32;                  // images per forward pass
};

// A backbone used as a feature extractor: for `inception` its `pool3` output, for every other
// backbone the spatial mean of each of its layers, concatenated in layer order.
class FeatureNetwork {
 public:
  // Throws what make_backbone throws (unknown name, missing weight file).
  explicit FeatureNetwork(const FeatureNetworkOptions& options);

  // Features [N, D] (float32, CPU) of canonical images [N,3,H,W] in [0,1], computed batch by batch
  // without gradients on the backbone's device.
  at::Tensor features(const at::Tensor& images);

  const std::string& name() const { return name_; }
  const std::vector<std::string>& layers() const { return layers_; }  // averaged and concatenated
  Backbone backbone() const { return backbone_; }

 private:
  Backbone backbone_;
  std::string name_;
  std::vector<std::string> layers_;
  int64_t batch_size_;
};

// ---- FID ------------------------------------------------------------------------------------------

struct FidOptions {
  // A sample covariance of N feature vectors has rank at most N-1, so a full-rank estimate of a D-d
  // covariance needs N >= D+1 images per set (2049 for Inception's pool3; FID is conventionally
  // reported on 50k). With fewer, the estimate is rank-deficient and FID is biased upwards and
  // noisy: that is an error unless allowed here.
  bool allow_rank_deficient = false;
};

// Mean [D] and unbiased covariance [D,D] of a feature set (float64).
struct GaussianStats {
  at::Tensor mean;
  at::Tensor cov;
  int64_t count = 0;
};

// Throws OptionError("images") when features has fewer than 2 rows, or fewer than D+1 rows and
// rank-deficient estimates are not allowed (the message says how many images are needed).
GaussianStats feature_statistics(const at::Tensor& features, const FidOptions& options = {});

// tr sqrtm(C1 C2) of two symmetric positive semi-definite matrices, in float64 and stably (see
// fid.cpp); finite and >= 0 also for singular (rank-deficient) matrices.
double trace_sqrt_product(const at::Tensor& c1, const at::Tensor& c2);

// The Fréchet distance between two fitted Gaussians; OptionError("features") when the dimensions
// differ.
double frechet_distance(const GaussianStats& a, const GaussianStats& b);

// FID of two feature sets [N1, D] and [N2, D].
double fid(const at::Tensor& features_a, const at::Tensor& features_b, const FidOptions& options = {});

// ---- KID ------------------------------------------------------------------------------------------

struct KidOptions {
  // Binkowski et al. / torch-fidelity defaults: 100 subsets of 1000. The subset size is capped by the
  // smaller set (so small sets use all their images in every subset, in a different order).
  int64_t subsets = 100;
  int64_t subset_size = 1000;
  uint64_t seed = 0;  // subsets are drawn from a CPU generator with this seed
};

struct KidResult {
  double mean = 0;  // mean of the per-subset MMD^2 estimates
  double std = 0;   // their standard deviation (population, as torch-fidelity's numpy.std)
  int64_t subsets = 0;
  int64_t subset_size = 0;
};

// Unbiased MMD^2 of two equal-sized sets [m, d] (m >= 2) with k(x,y) = (x.y/d + 1)^3, in float64.
double polynomial_mmd2_unbiased(const at::Tensor& x, const at::Tensor& y);

// KID of two feature sets [N1, D] and [N2, D]. Subset i draws, in order,
// randperm(N1, gen)[:m] rows of a and randperm(N2, gen)[:m] rows of b, gen seeded with options.seed
// (so PyTorch's torch.randperm with the same seeded generator reproduces the subsets).
// OptionError("images") when a set has fewer than 2 rows; OptionError("subsets"/"subset_size") for
// values < 1 / < 2.
KidResult kid(const at::Tensor& features_a, const at::Tensor& features_b, const KidOptions& options = {});

}  // namespace impasto
