#include "impasto/explain/attribution.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "impasto/core/error.h"

namespace impasto::explain {

std::vector<std::pair<std::string, at::Tensor>> term_gradients(
    const at::Tensor& image, const std::vector<std::pair<std::string, at::Tensor>>& terms) {
  if (!image.requires_grad()) throw OptionError("image", "attribution needs an image that requires grad");
  std::vector<std::pair<std::string, at::Tensor>> grads;
  for (size_t i = 0; i < terms.size(); ++i) {
    const auto& [name, term] = terms[i];
    at::Tensor g;
    if (term.requires_grad()) {
      const bool last = i + 1 == terms.size();
      auto out = torch::autograd::grad({term}, {image}, {}, /*retain_graph=*/!last, /*create_graph=*/false,
                                       /*allow_unused=*/true);
      if (out[0].defined()) g = out[0].detach().to(torch::kCPU, torch::kFloat32);
    }
    if (!g.defined()) g = torch::zeros(image.sizes(), torch::kFloat32);
    grads.emplace_back(name, g.contiguous());
  }
  return grads;
}

at::Tensor gradient_magnitude(const at::Tensor& gradient) {
  return gradient.detach()[0].pow(2).sum(0).sqrt().to(torch::kCPU, torch::kFloat32).contiguous();
}

at::Tensor removal_effect(const at::Tensor& gradient, const at::Tensor& image, const at::Tensor& removed) {
  const at::Tensor delta = (removed.detach() - image.detach()).to(torch::kCPU, torch::kFloat32);
  return (gradient.detach().to(torch::kCPU, torch::kFloat32) * delta)[0].sum(0).contiguous();
}

at::Tensor oriented_effect(const at::Tensor& effect) {
  return effect.sum().item<double>() < 0 ? -effect : effect;
}

std::vector<std::pair<std::string, at::Tensor>> gradient_maps(
    const at::Tensor& image, const std::vector<std::pair<std::string, at::Tensor>>& terms) {
  auto grads = term_gradients(image, terms);
  for (auto& [name, g] : grads) g = gradient_magnitude(g);
  return grads;
}

at::Tensor normalise_map(const at::Tensor& map, double quantile) {
  const at::Tensor m = map.detach().to(torch::kCPU, torch::kFloat32);
  const double top = m.numel() > 0 ? torch::quantile(m.flatten(), quantile).item<double>() : 0.0;
  const double scale = top > 0 ? top : m.max().item<double>();
  if (!(scale > 0)) return torch::zeros_like(m);
  return (m / scale).clamp(0, 1);
}

at::Tensor pooled_map(const at::Tensor& map, int64_t cells) {
  const at::Tensor m = map.detach().to(torch::kCPU, torch::kFloat32);
  const int64_t h = std::min<int64_t>(cells, m.size(0)), w = std::min<int64_t>(cells, m.size(1));
  return torch::adaptive_avg_pool2d(m.unsqueeze(0).unsqueeze(0), {h, w})[0][0];
}

namespace {

void check_fraction(double fraction) {
  if (!(fraction > 0 && fraction < 1)) throw OptionError("deletion_fraction", "must be in (0, 1)");
}

// Regions of the grid, and how many make `fraction` of the pixels.
struct RegionGrid {
  int64_t rows, cols, count;
};

RegionGrid region_grid(int64_t height, int64_t width, double fraction, int64_t region) {
  if (region < 1) throw OptionError("deletion_region", "must be >= 1");
  RegionGrid g;
  g.rows = (height + region - 1) / region;
  g.cols = (width + region - 1) / region;
  g.count = std::clamp<int64_t>(std::llround(fraction * height * width / static_cast<double>(region * region)), 1, g.rows * g.cols);
  return g;
}

// The pixel mask [1,1,H,W] of the chosen regions (indices into the rows x cols grid).
at::Tensor regions_to_mask(const at::Tensor& chosen, const RegionGrid& g, int64_t height, int64_t width, int64_t region) {
  at::Tensor cells = torch::zeros({g.rows * g.cols});
  cells.index_put_({chosen}, 1.0);
  at::Tensor mask = cells.view({g.rows, g.cols}).repeat_interleave(region, 0).repeat_interleave(region, 1);
  return mask.narrow(0, 0, height).narrow(1, 0, width).contiguous().view({1, 1, height, width});
}

}  // namespace

at::Tensor top_fraction_mask(const at::Tensor& map, double fraction, int64_t region) {
  check_fraction(fraction);
  const at::Tensor m = map.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  const int64_t h = m.size(0), w = m.size(1);
  const RegionGrid g = region_grid(h, w, fraction, region);
  // Sum of the map over each region (zero padding at the bottom and right).
  at::Tensor padded = torch::zeros({g.rows * region, g.cols * region});
  padded.narrow(0, 0, h).narrow(1, 0, w).copy_(m);
  const at::Tensor sums = padded.view({g.rows, region, g.cols, region}).sum({1, 3}).flatten();
  // Stable ordering: ties (e.g. zero gradients) go to the earlier region.
  const at::Tensor order = std::get<1>(torch::sort(sums, /*stable=*/true, /*dim=*/0, /*descending=*/true));
  return regions_to_mask(order.narrow(0, 0, g.count), g, h, w, region);
}

at::Tensor random_fraction_mask(int64_t height, int64_t width, double fraction, uint64_t seed, int64_t region) {
  check_fraction(fraction);
  const RegionGrid g = region_grid(height, width, fraction, region);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const at::Tensor order = at::randperm(g.rows * g.cols, gen, torch::kLong);
  return regions_to_mask(order.narrow(0, 0, g.count), g, height, width, region);
}

namespace {

at::Tensor gaussian_blur(const at::Tensor& image, double sigma) {
  const int64_t radius = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(3 * sigma)));
  at::Tensor x = torch::arange(-radius, radius + 1, image.options()).to(torch::kFloat32);
  at::Tensor k = torch::exp(-x.pow(2) / (2 * sigma * sigma));
  k = (k / k.sum()).to(image.device());
  const int64_t c = image.size(1);
  namespace F = torch::nn::functional;
  // Reflection needs the padding to be smaller than the side; replicate otherwise.
  const bool reflect = radius < image.size(2) && radius < image.size(3);
  auto pad = F::PadFuncOptions({radius, radius, radius, radius});
  if (reflect) pad.mode(torch::kReflect); else pad.mode(torch::kReplicate);
  at::Tensor y = F::pad(image, pad);
  y = F::conv2d(y, k.view({1, 1, 1, -1}).expand({c, 1, 1, k.size(0)}).contiguous(), F::Conv2dFuncOptions().groups(c));
  y = F::conv2d(y, k.view({1, 1, -1, 1}).expand({c, 1, k.size(0), 1}).contiguous(), F::Conv2dFuncOptions().groups(c));
  return y;
}

}  // namespace

at::Tensor remove_pixels(const at::Tensor& image, const at::Tensor& mask, const std::string& mode) {
  torch::NoGradGuard no_grad;
  const at::Tensor m = mask.to(image.device(), image.scalar_type());
  at::Tensor fill;
  if (mode == "blur") {
    const double sigma = std::max(2.0, 0.04 * std::max(image.size(2), image.size(3)));
    fill = gaussian_blur(image, sigma);
  } else if (mode == "grey") {
    fill = torch::full_like(image, 0.5);
  } else {
    throw OptionError("deletion_mode", "unknown value '" + mode + "'; valid: blur, grey");
  }
  return image * (1 - m) + fill * m;
}

std::vector<DeletionResult> deletion_tests(const std::function<std::vector<double>(const at::Tensor&)>& terms,
                                           const at::Tensor& image,
                                           const std::vector<std::pair<std::string, at::Tensor>>& maps,
                                           const DeletionOptions& o) {
  if (o.trials < 1) throw OptionError("deletion_trials", "must be >= 1");
  torch::NoGradGuard no_grad;
  const at::Tensor x = image.detach();
  const size_t n = maps.size();
  auto evaluate = [&](const at::Tensor& img) {
    std::vector<double> v = terms(img);
    if (v.size() != n) throw OptionError("terms", "the term function gave " + std::to_string(v.size()) + " values for " +
                                                      std::to_string(n) + " maps");
    return v;
  };
  const std::vector<double> base = evaluate(x);
  std::vector<DeletionResult> results(n);
  for (size_t i = 0; i < n; ++i) {
    results[i].term = maps[i].first;
    results[i].value = base[i];
  }
  for (int t = 0; t < o.trials; ++t) {
    const at::Tensor mask = random_fraction_mask(x.size(2), x.size(3), o.fraction, o.seed + t, o.region);
    const std::vector<double> v = evaluate(remove_pixels(x, mask, o.mode));
    for (size_t i = 0; i < n; ++i) results[i].random_changes.push_back(std::fabs(v[i] - base[i]));
  }
  for (size_t i = 0; i < n; ++i) {
    DeletionResult& r = results[i];
    r.top_value = evaluate(remove_pixels(x, top_fraction_mask(maps[i].second, o.fraction, o.region), o.mode))[i];
    r.top_change = std::fabs(r.top_value - r.value);
    double sum = 0;
    for (double c : r.random_changes) sum += c;
    r.random_change = sum / o.trials;
  }
  return results;
}

DeletionResult deletion_test(const std::string& name, const std::function<double(const at::Tensor&)>& term,
                             const at::Tensor& image, const at::Tensor& map, const DeletionOptions& options) {
  return deletion_tests([&term](const at::Tensor& img) { return std::vector<double>{term(img)}; }, image, {{name, map}},
                        options)[0];
}

}  // namespace impasto::explain
