#include "impasto/metrics/fid.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "impasto/core/error.h"

namespace impasto {

// ---- feature networks -----------------------------------------------------------------------------

FeatureNetwork::FeatureNetwork(const FeatureNetworkOptions& options)
    : name_(options.name), batch_size_(options.batch_size) {
  if (batch_size_ < 1) throw OptionError("batch_size", "must be at least 1 (got " + std::to_string(batch_size_) + ")");
  BackboneOptions b;
  b.name = options.name;
  b.weights = options.weights;
  b.seed = options.seed;
  backbone_ = make_backbone(b);
  // Inception: FID's pool3 features. Other backbones: every layer, each averaged over space, which
  // summarises colour and texture statistics at every depth and scale the network has.
  if (backbone_->name() == "inception")
    layers_ = {"pool3"};
  else
    layers_ = backbone_->layers();
}

at::Tensor FeatureNetwork::features(const at::Tensor& images) {
  if (images.dim() != 4 || images.size(1) != 3)
    throw OptionError("images", "expected canonical RGB images [N,3,H,W], got " + std::to_string(images.dim()) +
                                    " dimensions");
  torch::NoGradGuard no_grad;
  auto params = backbone_->parameters();
  const auto device = params.empty() ? torch::Device(torch::kCPU) : params.front().device();
  const std::set<std::string> taps(layers_.begin(), layers_.end());
  std::vector<at::Tensor> rows;
  for (int64_t start = 0; start < images.size(0); start += batch_size_) {
    const int64_t end = std::min(images.size(0), start + batch_size_);
    auto batch = images.slice(0, start, end).to(device, torch::kFloat32);
    auto maps = backbone_->extract(batch, taps);
    std::vector<at::Tensor> parts;
    for (const auto& layer : layers_) {
      at::Tensor t = maps.at(layer);
      if (t.dim() > 2) t = t.flatten(2).mean(2);  // spatial mean: [n, C, H, W] -> [n, C]
      parts.push_back(t);
    }
    rows.push_back(torch::cat(parts, 1).cpu());
  }
  if (rows.empty()) return torch::zeros({0, 0});
  return torch::cat(rows, 0);
}

// ---- FID ------------------------------------------------------------------------------------------

namespace {

at::Tensor as_matrix(const at::Tensor& features, const char* what) {
  if (features.dim() != 2)
    throw OptionError("features", std::string(what) + " must be a matrix [images, dimensions], got " +
                                      std::to_string(features.dim()) + " dimensions");
  return features.detach().to(torch::kCPU, torch::kFloat64);
}

// The symmetric part: removes round-off asymmetry before a symmetric eigen-solver.
at::Tensor symmetric(const at::Tensor& m) { return (m + m.t()) * 0.5; }

}  // namespace

GaussianStats feature_statistics(const at::Tensor& features, const FidOptions& options) {
  at::Tensor f = as_matrix(features, "features");
  const int64_t n = f.size(0), d = f.size(1);
  if (n < 2)
    throw OptionError("images", "FID needs at least 2 images per set to estimate a covariance (got " +
                                    std::to_string(n) + ")");
  if (n < d + 1 && !options.allow_rank_deficient)
    throw OptionError("images", "too few images for the feature dimension: " + std::to_string(n) + " images give a " +
                                    "covariance of rank at most " + std::to_string(n - 1) + ", but the features have " +
                                    std::to_string(d) + " dimensions; a full-rank estimate needs at least " +
                                    std::to_string(d + 1) + " images per set (FID is usually reported on 50000). " +
                                    "Use more images, a feature network with fewer dimensions, or allow a "
                                    "rank-deficient (biased, noisy) estimate with allow_rank_deficient");
  GaussianStats s;
  s.count = n;
  s.mean = f.mean(0);
  auto centred = f - s.mean;
  s.cov = centred.t().matmul(centred) / static_cast<double>(n - 1);  // unbiased, as numpy.cov
  return s;
}

// tr sqrtm(C1 C2) without a general (non-symmetric) matrix square root.
//
// For square A, B the products AB and BA have the same eigenvalues. Take A = sqrt(C1) (the
// symmetric PSD root) and B = sqrt(C1) C2: then AB = C1 C2 and BA = sqrt(C1) C2 sqrt(C1), which is
// symmetric PSD. So C1 C2 has real eigenvalues lambda_i >= 0, the principal square root sqrtm(C1 C2)
// (what scipy.linalg.sqrtm returns in pytorch-fid) has eigenvalues sqrt(lambda_i), and
//     tr sqrtm(C1 C2) = sum_i sqrt(lambda_i) = sum_i sqrt(eig_i(sqrt(C1) C2 sqrt(C1))).
// Both eigen-decompositions are of symmetric matrices (float64, LAPACK syevd), which is stable.
// A singular (rank-deficient) covariance has eigenvalues that are 0 up to round-off, of either sign;
// the square root would turn a round-off of 1e-16 |C| into 1e-8 |C|^(1/2) per null direction, so
// eigenvalues below the numerical-rank tolerance D * eps * max|lambda| (as numpy.linalg.matrix_rank)
// are set to 0. pytorch-fid instead adds eps to the diagonals and discards an imaginary part.
namespace {
at::Tensor clamp_round_off(const at::Tensor& eigenvalues) {
  const double tol = static_cast<double>(eigenvalues.numel()) * std::numeric_limits<double>::epsilon() *
                     eigenvalues.abs().max().item<double>();
  return torch::where(eigenvalues > tol, eigenvalues, torch::zeros_like(eigenvalues));
}
}  // namespace

double trace_sqrt_product(const at::Tensor& c1_in, const at::Tensor& c2_in) {
  TORCH_CHECK(c1_in.dim() == 2 && c1_in.size(0) == c1_in.size(1) && c1_in.sizes() == c2_in.sizes(),
              "trace_sqrt_product: expects two square matrices of one size");
  if (c1_in.numel() == 0) return 0.0;
  const auto c1 = symmetric(c1_in.detach().to(torch::kCPU, torch::kFloat64));
  const auto c2 = symmetric(c2_in.detach().to(torch::kCPU, torch::kFloat64));
  auto [l1, v1] = torch::linalg_eigh(c1);
  const auto sqrt_c1 = (v1 * clamp_round_off(l1).sqrt()).matmul(v1.t());  // V diag(sqrt l) V^T
  const auto inner = symmetric(sqrt_c1.matmul(c2).matmul(sqrt_c1));
  return clamp_round_off(torch::linalg_eigvalsh(inner)).sqrt().sum().item<double>();
}

double frechet_distance(const GaussianStats& a, const GaussianStats& b) {
  if (a.mean.numel() != b.mean.numel())
    throw OptionError("features", "the two feature sets have different dimensions (" +
                                      std::to_string(a.mean.numel()) + " and " + std::to_string(b.mean.numel()) +
                                      "); use one feature network for both");
  const auto diff = a.mean.to(torch::kFloat64) - b.mean.to(torch::kFloat64);
  return diff.dot(diff).item<double>() + a.cov.trace().item<double>() + b.cov.trace().item<double>() -
         2.0 * trace_sqrt_product(a.cov, b.cov);
}

double fid(const at::Tensor& features_a, const at::Tensor& features_b, const FidOptions& options) {
  const auto a = as_matrix(features_a, "features");
  const auto b = as_matrix(features_b, "features");
  if (a.size(1) != b.size(1))
    throw OptionError("features", "the two feature sets have different dimensions (" + std::to_string(a.size(1)) +
                                      " and " + std::to_string(b.size(1)) + "); use one feature network for both");
  return frechet_distance(feature_statistics(a, options), feature_statistics(b, options));
}

// ---- KID ------------------------------------------------------------------------------------------

// Binkowski et al. 2018, eq. (2) with m = n: with k the kernel,
//   MMD^2_u = 1/(m(m-1)) sum_{i != j} [k(x_i,x_j) + k(y_i,y_j)] - 2/m^2 sum_{i,j} k(x_i,y_j).
double polynomial_mmd2_unbiased(const at::Tensor& x_in, const at::Tensor& y_in) {
  const auto x = as_matrix(x_in, "features");
  const auto y = as_matrix(y_in, "features");
  TORCH_CHECK(x.sizes() == y.sizes() && x.size(0) >= 2, "polynomial_mmd2_unbiased: expects two [m, d] sets, m >= 2");
  const double m = static_cast<double>(x.size(0));
  const double d = static_cast<double>(x.size(1));
  auto kernel = [d](const at::Tensor& p, const at::Tensor& q) { return (p.matmul(q.t()) / d + 1.0).pow(3); };
  const auto kxx = kernel(x, x), kyy = kernel(y, y), kxy = kernel(x, y);
  const double off_xx = (kxx.sum() - kxx.diagonal().sum()).item<double>();
  const double off_yy = (kyy.sum() - kyy.diagonal().sum()).item<double>();
  return (off_xx + off_yy) / (m * (m - 1.0)) - 2.0 * kxy.sum().item<double>() / (m * m);
}

KidResult kid(const at::Tensor& features_a, const at::Tensor& features_b, const KidOptions& options) {
  const auto a = as_matrix(features_a, "features");
  const auto b = as_matrix(features_b, "features");
  if (a.size(1) != b.size(1))
    throw OptionError("features", "the two feature sets have different dimensions (" + std::to_string(a.size(1)) +
                                      " and " + std::to_string(b.size(1)) + "); use one feature network for both");
  if (a.size(0) < 2 || b.size(0) < 2)
    throw OptionError("images", "KID needs at least 2 images per set (got " + std::to_string(a.size(0)) + " and " +
                                    std::to_string(b.size(0)) + ")");
  if (options.subsets < 1)
    throw OptionError("subsets", "must be at least 1 (got " + std::to_string(options.subsets) + ")");
  if (options.subset_size < 2)
    throw OptionError("subset_size", "must be at least 2 (got " + std::to_string(options.subset_size) + ")");

  KidResult r;
  r.subsets = options.subsets;
  r.subset_size = std::min({options.subset_size, a.size(0), b.size(0)});
  auto gen = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  std::vector<double> values;
  for (int64_t i = 0; i < options.subsets; ++i) {
    const auto ia = at::randperm(a.size(0), gen, torch::kLong).slice(0, 0, r.subset_size);
    const auto ib = at::randperm(b.size(0), gen, torch::kLong).slice(0, 0, r.subset_size);
    values.push_back(polynomial_mmd2_unbiased(a.index_select(0, ia), b.index_select(0, ib)));
  }
  for (double v : values) r.mean += v;
  r.mean /= static_cast<double>(values.size());
  double var = 0;
  for (double v : values) var += (v - r.mean) * (v - r.mean);
  r.std = std::sqrt(var / static_cast<double>(values.size()));
  return r;
}

}  // namespace impasto
